"""Keeps the garbage collector's full passes short on a long-running server.

Everything loaded at start-up (modules, the app, the registry, an embedded model's Python
objects) lives as long as the process. Left in the collected generations, each full pass
walks all of it again: on the gateway that was ~90 ms, some fifteen times in twenty seconds
of load, a pause every request in flight waits for. ``settle_heap`` collects once and moves
what survived out of the collector's sight (``gc.freeze``), so later full passes walk only
what requests left behind. Called when start-up is done and after an embedded model loads.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    gc.collect()
    gc.freeze()
