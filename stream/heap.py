"""Give the memory of big, short-lived buffers back to the OS (glibc only; a no-op elsewhere).

A snapshot copies the state, compresses it and encodes it: hundreds of MB that live for a
second. glibc raises its mmap threshold after the first such buffer is freed, so later
ones come from the heap, and the heap does not shrink: the resident size of a long-running
core creeps up snapshot after snapshot (measured in the soak). Pinning the threshold keeps
big buffers in their own mappings, returned on free; ``trim`` hands back freed heap pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024  # buffers from this size get their own mapping

_libc: ctypes.CDLL | None = None


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim"):
                _libc = lib
        except OSError:
            return None
    return _libc


def pin_thresholds() -> bool:
    """Fix glibc's mmap and trim thresholds (no dynamic raise); True when it took effect."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and libc.mallopt(M_TRIM_THRESHOLD, 4 * MMAP_THRESHOLD))


def trim() -> None:
    """Return the free pages at the top and inside the heap to the OS."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
