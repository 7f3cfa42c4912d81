"""One complete ``CoreReader``: the in-process reader and the remote roll-up reader both
implement every read the server, the hub and the alert service use."""

from __future__ import annotations

import inspect

from stream.core import Core
from stream.local import LocalReader
from stream.readmodel import CoreReader
from stream.remote import RemoteReader

MEMBERS = sorted(n for n, v in vars(CoreReader).items()
                 if callable(v) and not n.startswith("_"))


def test_the_protocol_covers_what_readers_are_asked() -> None:
    assert MEMBERS == ["devices", "flow_profile", "health", "incidents", "known_scope",
                       "locations", "metrics", "scopes_of", "wait"]
    assert "changes" in CoreReader.__annotations__


def test_every_reader_implements_every_member_with_the_same_parameters() -> None:
    for reader in (LocalReader, Core, RemoteReader):
        for name in MEMBERS:
            want = inspect.signature(getattr(CoreReader, name))
            got = inspect.signature(getattr(reader, name))
            assert list(got.parameters) == list(want.parameters), (reader.__name__, name)
            assert (inspect.iscoroutinefunction(getattr(reader, name))
                    == inspect.iscoroutinefunction(getattr(CoreReader, name))), name
