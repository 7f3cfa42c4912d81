"""A digest as a document: blocks of already formatted text, laid out twice (HTML, PDF).

The builders (``digests.sections``) decide what is said and format every number once
(``digests.fmt``); ``digests.html`` and ``digests.pdf`` only lay the blocks out, so the
mail and its PDF cannot disagree. A cell that shows a history value carries ``ref``
(``metric@period``): the HTML writes it as ``data-ref``, which is how the tests check each
number against ``/api/history``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Tone = Literal["", "good", "bad", "muted"]


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    tone: Tone = ""
    ref: str = ""  # "metric@period" for a value read from the history
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""  # under the title
    empty: str = ""  # shown instead of an empty table
    widths: tuple[int, ...] = ()  # relative column widths (PDF); equal when empty


@dataclass(frozen=True, slots=True)
class Chart:
    cid: str  # Content-ID of the inline image
    caption: str
    png: bytes


@dataclass(frozen=True, slots=True)
class Charts:
    title: str
    charts: tuple[Chart, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    tone: Tone = ""


Block = Table | Charts | Paragraph


@dataclass(slots=True)
class Report:
    lang: str
    title: str  # "Ежедневный дайджест"
    scope_name: str
    period_text: str  # "вторник, 4 марта 2025"
    subject: str
    footer: str
    late_note: str = ""
    blocks: list[Block] = field(default_factory=list)
    headline: list[tuple[str, str]] = field(default_factory=list)  # (label, value) on top

    def images(self) -> list[Chart]:
        return [c for b in self.blocks if isinstance(b, Charts) for c in b.charts]

    def plain_text(self) -> str:
        """The text/plain part: the headline and the tables, for clients without HTML."""
        lines = [f"{self.title}: {self.scope_name}, {self.period_text}"]
        if self.late_note:
            lines += ["", self.late_note]
        lines.append("")
        lines += [f"{label}: {value}" for label, value in self.headline]
        for block in self.blocks:
            if isinstance(block, Table):
                lines += ["", block.title, "-" * len(block.title)]
                if not block.rows and block.empty:
                    lines.append(block.empty)
                lines += [" | ".join(c.text for c in row) for row in block.rows]
            elif isinstance(block, Paragraph):
                lines += ["", block.text]
        lines += ["", self.footer]
        return "\n".join(lines)
