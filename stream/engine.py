"""The metrics engine: pure, synchronous state fed with validated events.

``apply_batch`` de-duplicates by (location, event id), turns each event into counter increments and
writes them into event-time buckets of every scope the location rolls up into. Queries
(``stream.query``) read the same tables. No I/O here: the NATS adapter (``stream.core``)
feeds it, snapshots it and publishes what changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from stream.buckets import RingTable
from stream.config import StreamSettings
from stream.dedup import IdIndex, event_key, id_hash
from stream.events import (
    ButtonEvent,
    CesEvent,
    CsatEvent,
    CsiEvent,
    EncounterEvent,
    FlowEvent,
    IncidentEvent,
    InputEvent,
    NpsEvent,
    Rejection,
    VisitEvent,
    VoiceEvent,
)
from stream.geography import Place, ScopeIndex
from stream.incidents import IncidentBook
from stream.layout import COL, DAY_ROWS, DIM, DIM_COL, FIXED, HOUR_ROWS, MINUTE_ROWS, UNIT
from stream.state import FORMAT, ArrayBlob, EngineSnapshot, SnapshotMismatch
from stream.windows import HOUR_MS

_SURVEY = (NpsEvent, CsatEvent, CesEvent, CsiEvent)


class Writes:
    """Counter increments of one batch, flushed to the tables in one numba call each."""

    def __init__(self) -> None:
        self.place: list[int] = []
        self.ts: list[int] = []
        self.col: list[int] = []
        self.amount: list[int] = []
        self.dim_ent: list[int] = []
        self.dim_day: list[int] = []
        self.dim_col: list[int] = []
        self.dim_amount: list[int] = []

    def add(self, place: Place, ts_ms: int, col: int, amount: int = 1) -> None:
        self.place.append(place.idx)
        self.ts.append(ts_ms)
        self.col.append(col)
        self.amount.append(amount)

    def add_dim(self, ent: int, day: int, col: int, amount: int = 1) -> None:
        self.dim_ent.append(ent)
        self.dim_day.append(day)
        self.dim_col.append(col)
        self.dim_amount.append(amount)


class MetricsEngine:
    """All metric state of the network. Not thread-safe; one owner (the core) feeds it."""

    def __init__(self, cfg: StreamSettings) -> None:
        self.cfg = cfg
        self.geo = ScopeIndex(cfg)
        self.csi_keys: dict[tuple[str, str], int] = {}
        ncols = len(FIXED) + 2 * 8
        self.minutes = RingTable(MINUTE_ROWS, ncols)
        self.hours = RingTable(HOUR_ROWS, ncols)
        self.dims = RingTable(DAY_ROWS, len(DIM))
        self.dim_keys: dict[tuple[str, int, str], int] = {}
        self.ids = IdIndex()
        self.sessions: dict[int, int] = {}
        self.incidents = IncidentBook(cfg.sla)
        self.devices: dict[tuple[str, str], int] = {}
        self.rejects: Counter[str] = Counter()
        self.applied = 0
        self.duplicates = 0
        self.last_seq = 0
        self.voice_seq = 0  # last applied sequence of the voice stream
        for q in cfg.csi.questions:
            self._csi_column(q.factor, q.id)

    # -- registries -------------------------------------------------------------------------

    def _csi_column(self, factor: str, question: str) -> int:
        """First of the two columns (answers, sum) of a CSI question, allocated on first use."""
        key = (factor, question)
        col = self.csi_keys.get(key)
        if col is None:
            col = len(FIXED) + 2 * len(self.csi_keys)
            self.csi_keys[key] = col
        return col

    def _dim_entity(self, kind: str, place: Place, key: str) -> int | None:
        """Row of a staff member / touchpoint; None past the configured cap (then the event
        still counts everywhere else, only this breakdown skips it)."""
        k = (kind, place.idx, key)
        ent = self.dim_keys.get(k)
        if ent is None:
            if len(self.dim_keys) >= self.cfg.core.max_dimension_keys:
                self.rejects["dimension_cap"] += 1
                return None
            ent = len(self.dim_keys)
            self.dim_keys[k] = ent
        return ent

    def csi_capacity_left(self) -> int:
        return self.cfg.core.max_csi_questions - len(self.csi_keys)

    # -- writing ----------------------------------------------------------------------------

    def admit(self, event: InputEvent) -> Rejection | None:
        """Scope and capacity checks; None when the event can be applied. A location id
        that names the network or a region would write into that roll-up: refused
        (``bad_subject``), as config load refuses such a location."""
        kind = self.geo.geo.known_kind(event.location)
        if kind in ("network", "region"):
            return Rejection("bad_subject", f"location {event.location!r} is the name of the "
                             f"{kind}, not of a location: an event there would rewrite that "
                             "roll-up")
        core = self.cfg.core
        if event.location not in self.geo.by_id and len(self.geo.places) >= core.max_locations:
            return Rejection("too_many_locations", f"location {event.location!r} would exceed "
                             f"[core] max_locations = {core.max_locations}")
        if (isinstance(event, CsiEvent) and (event.factor, event.question) not in self.csi_keys
                and len(self.csi_keys) >= core.max_csi_questions):
            return Rejection("too_many_csi_questions", f"CSI question {event.question!r} would "
                             f"exceed [core] max_csi_questions = {core.max_csi_questions}")
        return None

    def reject(self, code: str) -> None:
        self.rejects[code] += 1

    def apply_batch(self, items: Sequence[tuple[InputEvent, int]], last_seq: int = 0,
                    voice_seq: int = 0) -> set[str]:
        """Apply validated events once each; returns the scopes whose metrics changed.
        ``last_seq`` / ``voice_seq``: the stream sequence this batch brings the state to."""
        self.last_seq = max(self.last_seq, last_seq)
        self.voice_seq = max(self.voice_seq, voice_seq)
        if not items:
            return set()
        hashes = np.fromiter((event_key(ev.location, ev.id) for ev, _ in items), np.int64,
                             len(items))
        stamps = np.fromiter((ts // HOUR_MS for _, ts in items), np.int64, len(items))
        is_new = self.ids.add(hashes, stamps.astype(np.int32))
        writes = Writes()
        changed: set[str] = set()
        for (event, ts_ms), new in zip(items, is_new, strict=True):
            if not new:
                self.duplicates += 1
                continue
            place = self.geo.place(event.location)
            self._apply_one(place, event, ts_ms, writes)
            changed.update(self.geo.scopes_of(place.id))
            self.applied += 1
        self._flush(writes)
        return changed

    def _apply_one(self, place: Place, event: InputEvent, ts_ms: int, w: Writes) -> None:
        if isinstance(event, IncidentEvent):
            self.incidents.apply(place, event, ts_ms)
        elif isinstance(event, FlowEvent):
            self._flow(place, event, ts_ms, w)
        elif isinstance(event, VoiceEvent):
            self._voice(place, event, ts_ms, w)
        elif isinstance(event, EncounterEvent):
            self._encounter(place, event, ts_ms, w)
        else:
            self._feedback(place, event, ts_ms, w)
            if event.device:
                key = (place.id, event.device)
                self.devices[key] = max(self.devices.get(key, 0), ts_ms)

    def _feedback(self, place: Place, ev: InputEvent, ts: int, w: Writes) -> None:
        cols: list[tuple[str, int]]
        if isinstance(ev, VisitEvent):
            w.add(place, ts, COL["visits"])
            return
        if isinstance(ev, NpsEvent):
            name = ("nps_promoters" if ev.value >= 9 else
                    "nps_passives" if ev.value >= 7 else "nps_detractors")
            cols = [(name, 1)]
        elif isinstance(ev, CsatEvent):
            cols = [("csat_n", 1), ("csat_sat", int(ev.value >= 4))]
        elif isinstance(ev, CesEvent):
            cols = [("ces_n", 1), ("ces_sum", ev.value)]
        elif isinstance(ev, ButtonEvent):
            cols = [("btn_n", 1), ("btn_idx", (ev.value - 1) * UNIT // (ev.scale - 1)),
                    (f"btn_{ev.value}", 1)]
        elif isinstance(ev, CsiEvent):
            col = self._csi_column(ev.factor, ev.question)
            units = (ev.value - 1) * UNIT // (ev.scale - 1)
            w.add(place, ts, col)
            w.add(place, ts, col + 1, units)
            cols = [("csi_n", 1), ("csi_sum", units)]
        else:  # pragma: no cover - the union is exhaustive
            raise TypeError(type(ev).__name__)
        for name, amount in cols:
            if name in COL:
                w.add(place, ts, COL[name], amount)
        self._dims(place, ev, ts, cols, w)
        if isinstance(ev, _SURVEY):
            self._session(place, ev.session, ts, w)

    def _dims(self, place: Place, ev: InputEvent, ts: int, cols: list[tuple[str, int]],
              w: Writes) -> None:
        staff, touchpoint = getattr(ev, "staff", None), getattr(ev, "touchpoint", None)
        if not (staff or touchpoint):
            return
        day = place.day_of(ts)
        for kind, key in (("staff", staff), ("touchpoint", touchpoint)):
            if key:
                ent = self._dim_entity(kind, place, key)
                if ent is None:
                    continue
                for name, amount in cols:
                    w.add_dim(ent, day, DIM_COL[name], amount)

    def _session(self, place: Place, session: str | None, ts: int, w: Writes) -> None:
        """Count a survey session once, in the bucket of its earliest answer."""
        if not session:
            w.add(place, ts, COL["sessions"])
            return
        key = id_hash(f"{place.id}\x1f{session}")
        first = self.sessions.get(key)
        if first is None:
            self.sessions[key] = ts
            w.add(place, ts, COL["sessions"])
        elif ts < first:
            self.sessions[key] = ts
            w.add(place, first, COL["sessions"], -1)
            w.add(place, ts, COL["sessions"])

    def _flow(self, place: Place, ev: FlowEvent, ts: int, w: Writes) -> None:
        w.add(place, ts, COL[f"flow_{ev.channel}"])
        if ev.answered is not None:
            w.add(place, ts, COL["answered_n"])
            w.add(place, ts, COL["answered_yes"], int(ev.answered))
        if ev.first_contact_resolved is not None:
            w.add(place, ts, COL["fcr_n"])
            w.add(place, ts, COL["fcr_yes"], int(ev.first_contact_resolved))
        for name, value in (("wait", ev.wait_s), ("handle", ev.handle_s), ("hold", ev.hold_s)):
            if value is not None:
                w.add(place, ts, COL[f"{name}_n"])
                w.add(place, ts, COL[f"{name}_ds"], round(value * 10))

    def _voice(self, place: Place, ev: VoiceEvent, ts: int, w: Writes) -> None:
        w.add(place, ts, COL["voice_utt"])
        if ev.emotion.anger >= self.cfg.voice.anger_threshold:
            w.add(place, ts, COL["voice_anger"])
        for kw in ev.keywords:
            w.add(place, ts, COL[f"kw_{kw.category}"])
        key = (place.id, ev.mic)
        self.devices[key] = max(self.devices.get(key, 0), ts)

    def _encounter(self, place: Place, ev: EncounterEvent, ts: int, w: Writes) -> None:
        """Service-standard compliance, and ratings of encounters with / without a greeting."""
        w.add(place, ts, COL["enc_n"])
        for part in ("greeting", "thanks", "farewell"):
            if getattr(ev, part):
                w.add(place, ts, COL[f"enc_{part}"])
        if ev.greeting and ev.thanks and ev.farewell:
            w.add(place, ts, COL["enc_full"])
        if ev.rating is not None:
            side = "greet" if ev.greeting else "nogreet"
            w.add(place, ts, COL[f"enc_{side}_rated"])
            w.add(place, ts, COL[f"enc_{side}_rating"], round(ev.rating * UNIT))

    def _flush(self, w: Writes) -> None:
        ncols = len(FIXED) + 2 * len(self.csi_keys)
        nent = self.geo.entity_count
        self.minutes.ensure(nent, ncols)
        self.hours.ensure(nent, ncols)
        self.dims.ensure(max(len(self.dim_keys), 1), len(DIM))
        if w.place:
            ents, offsets = self._place_entities()
            pidx = np.asarray(w.place, np.int64)
            ts = np.asarray(w.ts, np.int64)
            col = np.asarray(w.col, np.int64)
            amount = np.asarray(w.amount, np.int64)
            e = ents[pidx]  # (n, 3); -1 where a place has no region
            keep = e >= 0
            rows = np.nonzero(keep)
            e_flat = e[rows]
            ts_flat = ts[rows[0]]
            self.minutes.add(e_flat, ts_flat // 60_000, col[rows[0]], amount[rows[0]])
            self.hours.add(e_flat, (ts_flat - offsets[pidx][rows]) // HOUR_MS,
                           col[rows[0]], amount[rows[0]])
        if w.dim_ent:
            self.dims.add(np.asarray(w.dim_ent, np.int64), np.asarray(w.dim_day, np.int64),
                          np.asarray(w.dim_col, np.int64), np.asarray(w.dim_amount, np.int64))

    def _place_entities(self) -> tuple[np.ndarray, np.ndarray]:
        """(places x 3) entity ids and hour offsets, -1 padded, cached until places change."""
        cached = getattr(self, "_pe_cache", None)
        if cached is not None and cached[0] == len(self.geo.places):
            return cached[1], cached[2]
        n = len(self.geo.places)
        ents = np.full((n, 3), -1, np.int64)
        offs = np.zeros((n, 3), np.int64)
        for p in self.geo.places:
            ents[p.idx, : len(p.entities)] = p.entities
            offs[p.idx, : len(p.offsets_ms)] = p.offsets_ms
        self._pe_cache = (n, ents, offs)
        return ents, offs

    # -- housekeeping -----------------------------------------------------------------------

    def expire(self, now_ms: int) -> None:
        """Forget ids, sessions and incidents older than the retention window (bounded
        memory; a replay from the stream would not see them either)."""
        horizon = now_ms - self.cfg.core.retention_days * 86_400_000
        self.ids.expire(horizon // HOUR_MS)
        self.sessions = {k: v for k, v in self.sessions.items() if v >= horizon}
        self.incidents.expire(horizon)

    # -- state ----------------------------------------------------------------------------

    def snapshot(self) -> EngineSnapshot:
        """An immutable copy of the whole state, taken between batches (a memcpy of the
        arrays; encode it off the event loop). ``restore`` builds the same engine from it."""
        nent, ncols = self.geo.entity_count, self.minutes.columns
        id_keys, id_stamps, id_count = self.ids.snapshot()
        steps, rows, columns = self.incidents.snapshot()
        return EngineSnapshot(
            format=FORMAT, last_seq=self.last_seq, scopes=dict(self.geo.scope_entity),
            places=[p.id for p in self.geo.places], csi_keys=list(self.csi_keys),
            dim_keys=list(self.dim_keys), minutes=self.minutes.snapshot(nent, ncols),
            hours=self.hours.snapshot(nent, ncols),
            dims=self.dims.snapshot(len(self.dim_keys), self.dims.columns),
            id_keys=id_keys, id_stamps=id_stamps, id_count=id_count,
            session_keys=ArrayBlob.of(np.fromiter(self.sessions.keys(), np.int64,
                                                  len(self.sessions))),
            session_ts=ArrayBlob.of(np.fromiter(self.sessions.values(), np.int64,
                                                len(self.sessions))),
            incident_steps=steps, incident_rows=rows, incident_columns=columns,
            devices=[(loc, dev, ts) for (loc, dev), ts in self.devices.items()],
            rejects=dict(self.rejects), applied=self.applied, duplicates=self.duplicates,
            voice_seq=self.voice_seq)

    @classmethod
    def restore(cls, cfg: StreamSettings, snap: EngineSnapshot) -> MetricsEngine:
        """An engine holding a snapshot's state; raises ``SnapshotMismatch`` when the
        snapshot does not fit ``cfg`` (its scopes would get other entity numbers, or the
        CSI questionnaire changed): then replay from the start instead."""
        if snap.format != FORMAT:
            raise SnapshotMismatch(f"snapshot format {snap.format}, expected {FORMAT}")
        engine = cls(cfg)
        for loc in snap.places:
            engine.geo.place(loc)
        if engine.geo.scope_entity != snap.scopes:
            raise SnapshotMismatch("locations or regions changed since the snapshot")
        saved = [(f, q) for f, q in snap.csi_keys]
        if list(engine.csi_keys)[: len(saved)] != saved[: len(engine.csi_keys)]:
            raise SnapshotMismatch("CSI questionnaire changed since the snapshot")
        for factor, question in saved:
            engine._csi_column(factor, question)
        engine.dim_keys = {(kind, pidx, key): i
                           for i, (kind, pidx, key) in enumerate(snap.dim_keys)}
        engine.minutes.restore(snap.minutes)
        engine.hours.restore(snap.hours)
        engine.dims.restore(snap.dims)
        engine.ids = IdIndex.restore(snap.id_keys, snap.id_stamps, snap.id_count)
        engine.sessions = dict(zip(snap.session_keys.array().tolist(),
                                   snap.session_ts.array().tolist(), strict=True))
        engine.incidents = IncidentBook.restore(
            cfg.sla, lambda loc: engine.geo.place(loc).idx, snap.incident_steps,
            snap.incident_rows, snap.incident_columns)
        engine.devices = {(loc, dev): ts for loc, dev, ts in snap.devices}
        engine.rejects = Counter(snap.rejects)
        engine.applied, engine.duplicates = snap.applied, snap.duplicates
        engine.last_seq, engine.voice_seq = snap.last_seq, snap.voice_seq
        return engine

    def state_nbytes(self) -> int:
        """Bytes held by the numeric state (tables, id index)."""
        return (self.minutes.nbytes() + self.hours.nbytes() + self.dims.nbytes()
                + self.ids.nbytes())
