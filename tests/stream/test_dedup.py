"""The core's id index: exactly-once effect over the retention window."""

from __future__ import annotations

import hashlib

import numpy as np

from stream.dedup import IdIndex, id_hash


def hashes(*ids: str) -> np.ndarray:
    return np.array([id_hash(i) for i in ids], np.int64)


def stamps(*hours: int) -> np.ndarray:
    return np.array(hours, np.int32)


def test_id_hash_is_stable_positive_and_never_zero() -> None:
    digest = hashlib.blake2b(b"evt-1", digest_size=8).digest()
    assert id_hash("evt-1") == int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF
    assert all(0 < id_hash(f"id-{i}") < 2**63 for i in range(1000))
    assert id_hash("evt-1") != id_hash("evt-2")


def test_new_once_also_inside_one_batch() -> None:
    index = IdIndex()
    assert index.add(hashes("a", "b", "a"), stamps(1, 1, 1)).tolist() == [True, True, False]
    assert index.add(hashes("b", "c"), stamps(2, 2)).tolist() == [False, True]
    assert index.count == 3
    assert index.contains(hashes("a", "c", "z")).tolist() == [True, True, False]


def test_grows_past_half_load_and_keeps_every_id() -> None:
    index = IdIndex(capacity=16)
    ids = [f"id-{i}" for i in range(5000)]
    for start in range(0, len(ids), 700):
        chunk = ids[start:start + 700]
        assert index.add(hashes(*chunk), np.full(len(chunk), 5, np.int32)).all()
    assert index.count == 5000 and index.keys.shape[0] >= 10_000
    assert index.contains(hashes(*ids)).all()
    assert not index.add(hashes(*ids[:100]), np.full(100, 6, np.int32)).any()


def test_expiry_forgets_old_hours_only_and_a_repeat_refreshes_the_stamp() -> None:
    index = IdIndex()
    index.add(hashes("old", "kept", "new"), stamps(10, 10, 20))
    index.add(hashes("kept"), stamps(30))  # seen again later: lives as long as the new sight
    index.expire(15)
    assert index.contains(hashes("old", "kept", "new")).tolist() == [False, True, True]
    assert index.count == 2
    assert index.add(hashes("old"), stamps(31)).tolist() == [True]  # beyond retention: new


def test_expiry_shrinks_a_mostly_empty_table() -> None:
    index = IdIndex()
    index.add(hashes(*(f"x{i}" for i in range(100_000))), np.full(100_000, 1, np.int32))
    big = index.keys.shape[0]
    index.expire(2)
    assert index.count == 0 and index.keys.shape[0] < big


def test_snapshot_restore_keeps_the_table() -> None:
    index = IdIndex()
    index.add(hashes("a", "b"), stamps(3, 4))
    keys, stamps_blob, count = index.snapshot()
    again = IdIndex.restore(keys, stamps_blob, count)
    assert again.count == 2
    assert again.contains(hashes("a", "b", "c")).tolist() == [True, True, False]
    assert again.add(hashes("a", "c"), stamps(5, 5)).tolist() == [False, True]
    assert index.count == 2  # the original is not shared
