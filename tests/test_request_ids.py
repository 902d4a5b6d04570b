"""Request ids: the Inference-Id every response carries."""

from __future__ import annotations

import time
import uuid

from gatewayz.http.requestid import UUIDSource


def test_request_ids_are_distinct_version_7_uuids() -> None:
    source = UUIDSource()
    ids = [source() for _ in range(5000)]  # crosses several buffer refills
    assert len(set(ids)) == len(ids)
    for rid in ids:
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid and parsed.version == 7
        assert parsed.variant == uuid.RFC_4122


def test_request_ids_begin_with_their_time_so_they_sort_by_it() -> None:
    source = UUIDSource()
    before = time.time_ns() // 1_000_000
    ids = []
    for _ in range(3):
        ids += [source() for _ in range(1000)]
        time.sleep(0.003)
    after = time.time_ns() // 1_000_000
    stamps = [uuid.UUID(rid).int >> 80 for rid in ids]  # the first 48 bits: Unix ms
    assert all(before <= ms <= after for ms in stamps)
    assert stamps == sorted(stamps)
    # Ids made in different milliseconds sort by time, as strings too (index order).
    firsts = [ids[0], ids[1000], ids[2000]]
    assert firsts == sorted(firsts) and len(set(stamps)) >= 3


def test_the_random_part_differs_within_one_millisecond() -> None:
    source = UUIDSource()
    ids = [source() for _ in range(2000)]
    by_ms: dict[int, set[int]] = {}
    for rid in ids:
        value = uuid.UUID(rid).int
        by_ms.setdefault(value >> 80, set()).add(value & ((1 << 80) - 1))
    # 74 random bits each: no two ids of one millisecond share them.
    assert sum(len(v) for v in by_ms.values()) == len(ids)
