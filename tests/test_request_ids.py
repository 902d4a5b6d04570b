"""Request ids: the Inference-Id every response carries."""

from __future__ import annotations


def test_request_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    from gatewayz.http.requestid import UUIDSource

    source = UUIDSource()
    ids = [source() for _ in range(5000)]  # crosses several buffer refills
    assert len(set(ids)) == len(ids)
    for rid in ids[:2000]:
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid and parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
