"""Reading a previous system's export for ``cxpulse import`` (pure: text in, events out).

Two formats, both the v1 JSON event shape:

- ``jsonl``: one JSON event a line. Its feed is the line's ``kind`` field when present
  (``feedback``/``flow``/``incident``), else ``incident`` when it has an ``incident`` field,
  ``feedback`` when it has ``type``, ``flow`` otherwise.
- ``csv``: a header of v1 field names plus ``kind``; empty cells are absent fields; numbers,
  booleans (``true``/``false``/``1``/``0``) and epoch-ms ``ts`` are typed back before the row
  is validated, so an archive export (``/api/export``) imports again as it is.

Every line goes through ``stream.events.validate_event`` exactly as live input does, so
the reasons are the dead-letter reasons; ``Line`` carries the number of the line a person
would see in an editor (the CSV header is line 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from stream.events import InputEvent, Limits, Rejection, validate_event
from stream.ids import is_id

Format = Literal["jsonl", "csv"]
KINDS = ("feedback", "flow", "incident")
_NUMBERS = frozenset({"value", "scale", "wait_s", "handle_s", "hold_s"})
_BOOLS = frozenset({"answered", "first_contact_resolved"})
_DROP = frozenset({"kind", "topics", "sentiment", "urgent"})  # archive-only export columns
_json = msgspec.json.Decoder()
_enc = msgspec.json.Encoder()


@dataclass(frozen=True)
class Line:
    number: int
    kind: str
    location: str
    payload: bytes


@dataclass
class Summary:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    published: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, code: str) -> None:
        self.rejected[code] = self.rejected.get(code, 0) + 1

    def text(self) -> str:
        bad = sum(self.rejected.values())
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(self.rejected.items()))
        out = (f"rows read {self.read:,}; stored {self.stored:,}; duplicates "
               f"{self.duplicates:,}; rejected {bad:,}{f' ({reasons})' if reasons else ''}")
        if self.published:
            out += f"; of the stored, {self.published:,} also went to live input"
        return out


def kind_of(obj: dict[str, Any]) -> str:
    kind = obj.get("kind")
    if isinstance(kind, str) and kind in KINDS:
        return kind
    if "incident" in obj:
        return "incident"
    return "feedback" if "type" in obj else "flow"


def _location(obj: dict[str, Any]) -> str:
    loc = obj.get("location")
    return loc if isinstance(loc, str) and is_id(loc) else ""


def jsonl_lines(lines: Iterable[bytes],
                first_number: int = 1) -> Iterator[Line | tuple[int, Rejection]]:
    """Each non-blank line as a ``Line``, or (number, Rejection) when it is not an object."""
    for number, raw in enumerate(lines, first_number):
        text = raw.strip()
        if not text:
            continue
        try:
            obj = _json.decode(text)
        except msgspec.DecodeError as exc:
            yield number, Rejection("not_json", f"payload is not valid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield number, Rejection("not_object", "payload must be a JSON object")
            continue
        yield Line(number, kind_of(obj), _location(obj), text)


def _typed(name: str, cell: str) -> Any:
    if name in _BOOLS:
        low = cell.strip().lower()
        return True if low in ("true", "1") else False if low in ("false", "0") else cell
    if name == "ts" and cell.strip().lstrip("-").isdigit():
        return int(cell)
    if name in _NUMBERS:
        try:
            number = float(cell)
        except ValueError:
            return cell
        return int(number) if number.is_integer() and name in ("value", "scale") else number
    return cell


def csv_lines(text: Iterable[str]) -> Iterator[Line | tuple[int, Rejection]]:
    """Rows of a CSV (header first) as ``Line`` objects with JSON payloads."""
    reader = csv.DictReader(text)
    for row in reader:
        number = reader.line_num
        kind = (row.get("kind") or "").strip()
        if kind not in KINDS:
            yield number, Rejection("bad_subject", f"column `kind` is {kind!r}; expected one "
                                    f"of {', '.join(KINDS)}")
            continue
        obj = {k: _typed(k, v) for k, v in row.items()
               if k and k not in _DROP and v is not None and v != ""}
        yield Line(number, kind, _location(obj), _enc.encode(obj))


def read_lines(fh: io.BufferedReader, fmt: Format) -> Iterator[Line | tuple[int, Rejection]]:
    if fmt == "jsonl":
        return jsonl_lines(fh)
    return csv_lines(io.TextIOWrapper(fh, encoding="utf-8", newline=""))


def validate(line: Line, now_ms: int, limits: Limits) -> tuple[InputEvent, int] | Rejection:
    """The live gate (``validate_event``) for one imported line."""
    return validate_event(line.kind, line.location, line.payload, now_ms, limits)
