"""Routing that learns: which of a model's routes to try, in which order, and how each
has behaved.

- ``policy``: the caller's choice (``model:fastest``, ``model:cheapest``,
  ``model:<provider>``) and the order of routes it gives;
- ``breaker``: a circuit breaker per route, so a failing upstream is skipped for free;
- ``measurements``: moving windows of each route's latency, time to first token,
  throughput and error ratio;
- ``health``: the per-route table the inference service consults and reports to;
- ``attempts``: one upstream attempt with the shared retry rules of ``gatewayz.retries``.
"""
