"""Per-message work (parsing, lead extraction) spread over the machine's cores, a chunk at a time.

Parsing and extraction are pure Python, one message after another: a process per core is what
makes them use more than one. Chunks go to the workers with only a few in flight at once and
come back in order, so memory holds a handful of chunks whatever the number of messages, and the
caller writes each result as it arrives.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# `LEAD_PIPELINE_WORKERS=1` keeps everything in the calling process (debugging, profiling).
WORKERS_VARIABLE = "LEAD_PIPELINE_WORKERS"


def worker_count() -> int:
    configured = os.environ.get(WORKERS_VARIABLE, "").strip()
    if configured:
        return max(1, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def map_chunks(
    work: Callable[[T], R],
    chunks: Iterable[T],
    *,
    workers: int | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[R]:
    """`work(chunk)` for every chunk, in order.

    With one worker, or a single chunk, the work runs here (starting processes costs more than it
    saves on a small window). Otherwise a pool of `workers` processes, started with the
    "forkserver" method (the caller may be a multi-threaded Dagster run, which it is not safe to
    fork), gets at most two chunks per worker ahead of the one being consumed.
    """
    workers = worker_count() if workers is None else workers
    iterator = iter(chunks)
    first = next(iterator, None)
    if first is None:
        return
    second = next(iterator, None)
    if workers <= 1 or second is None:
        if initializer is not None:
            initializer(*initargs)
        yield work(first)
        if second is not None:
            yield work(second)
        for chunk in iterator:
            yield work(chunk)
        return

    context = multiprocessing.get_context("forkserver")
    # The server process, started once per process and reused by every pool, imports the work's
    # module (and the main module) once; each worker is then a cheap fork of it.
    context.set_forkserver_preload(["__main__", _module_of(work)])
    with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs) as pool:
        pending: deque[Future[R]] = deque([pool.submit(work, first), pool.submit(work, second)])
        for chunk in iterator:
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
            pending.append(pool.submit(work, chunk))
        while pending:
            yield pending.popleft().result()


def _module_of(work: Callable[..., Any]) -> str:
    return getattr(work, "func", work).__module__  # through functools.partial
