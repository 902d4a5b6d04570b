"""Loading the embedded models marked ``eager`` (``local.models`` in the configuration) at
start-up, off the event loop, while ``/ready`` answers 503; a failure keeps it so and is
logged with the model's id, and the models after it are still loaded."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping

from gatewayz.config import Settings
from gatewayz.upstreams.base import Upstream
from gatewayz.upstreams.local import LocalUpstream

log = logging.getLogger("gatewayz")

Job = tuple[str, list[Callable[[], None]]]  # (model id, load each of its routes and tasks)


def eager_jobs(settings: Settings, upstreams: Mapping[str, Upstream]) -> list[Job]:
    """One job per eager model (loading every route and task it serves), in the
    configuration's order."""
    jobs: list[Job] = []
    for model in settings.models:
        if settings.load_policy(model) != "eager":
            continue
        loads: list[Callable[[], None]] = []
        for route in model.routes:
            upstream = upstreams[route.provider]
            assert isinstance(upstream, LocalUpstream)  # eager models are embedded ones
            for task in sorted(model.serves):
                loads.append(functools.partial(upstream.load, route.model, task))
        jobs.append((model.id, loads))
    return jobs


class Preloader:
    """Runs the jobs one after another in a worker thread, once per process."""

    def __init__(self, jobs: list[Job]) -> None:
        self._jobs = jobs
        self._done = 0
        self._failed: list[str] = []  # model ids, in the order they failed
        self._task: asyncio.Task[None] | None = None

    @property
    def not_ready(self) -> str | None:
        """Why the gateway is not ready yet (None once every eager model is loaded)."""
        if self._failed:
            names = ", ".join(repr(model_id) for model_id in self._failed)
            model = "model" if len(self._failed) == 1 else "models"
            return f"the embedded {model} {names} failed to load (see the log)"
        if self._done < len(self._jobs):
            return f"loading the embedded models ({self._done} of {len(self._jobs)} loaded)"
        return None

    def start(self) -> None:
        if self._jobs:
            self._task = asyncio.create_task(self._run(), name="preload-embedded-models")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        for model_id, loads in self._jobs:
            start = time.perf_counter()
            try:
                for load in loads:
                    await asyncio.to_thread(load)
            except Exception as exc:  # reported by /ready and the log, never retried
                self._failed.append(model_id)
                log.error("preload: embedded model %r failed to load: %s", model_id, exc)
                continue  # the other eager models still load and answer
            self._done += 1
            log.info("preload: %s loaded in %.1f s", model_id, time.perf_counter() - start)
