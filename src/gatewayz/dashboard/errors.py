"""The error answers ``/metrics`` counts, for the dashboard's Overview.

The Overview's charts read usage records, and a request refused before it was routed (an
unknown model, a body that is not JSON, a missing key, a task no route serves) has none: only
the ``gatewayz_requests_total`` counter sees it. This reads that counter from the text
``/metrics`` serves (one process's, or every worker's with ``--workers``), so the page
shows the same figures a Prometheus scrape would.
"""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "gatewayz_requests_total"


def error_counts(exposition: bytes) -> list[dict[str, Any]]:
    """Every (route, model, status) with status 400 and above and its count, most first."""
    counts: dict[tuple[str, str, int], int] = {}
    for family in text_string_to_metric_families(exposition.decode("utf-8")):
        for sample in family.samples:
            if sample.name != REQUESTS:
                continue
            status = sample.labels.get("status", "")
            if not status.isdigit() or int(status) < 400:
                continue
            key = (sample.labels.get("route", ""), sample.labels.get("model", ""), int(status))
            counts[key] = counts.get(key, 0) + int(sample.value)
    ranked = sorted(((n, key) for key, n in counts.items() if n > 0), key=lambda x: (-x[0], x[1]))
    return [
        {"route": route, "model": model, "status": status, "count": n}
        for n, (route, model, status) in ranked
    ]
