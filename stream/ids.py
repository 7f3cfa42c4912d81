"""Ids and scope names of the wire contract, in one place.

A contract id (location, mic, region, prefix) is ``[a-z0-9_-]{1,64}``; the whole string
must match (``\\Z``, not ``$``, which would accept a trailing newline). The network-wide
scope is called ``network``.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

ID_CHARS = "[a-z0-9_-]{1,64}"
ID_PATTERN = rf"^{ID_CHARS}\Z"
ID_RE = re.compile(ID_PATTERN)
Id = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
NETWORK = "network"


def is_id(text: str) -> bool:
    """True for a contract id."""
    return ID_RE.match(text) is not None
