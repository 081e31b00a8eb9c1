"""Per-message work (parsing, lead extraction) spread over the machine's cores, a chunk at a time.

Parsing and extraction are pure Python, one message after another: a process per core is what
makes them use more than one. Chunks go to the workers with only a few in flight at once and
come back in order, so memory holds a handful of chunks whatever the number of messages, and the
caller writes each result as it arrives.

Starting a pool costs a second or more (a server process importing the work's modules, then the
workers), and a fresh worker has none of the caches the work fills as it goes (signatures, domains,
phone lines seen before). So the pool is started once per process, at its first use, and kept for
every later call with the same worker count, whatever its work and initializer (a backfill run
alternates parsing and extraction): each worker runs a call's initializer before its first chunk
of that call's kind. The pool is shut down when the process exits.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import multiprocessing
import os
import pickle
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
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
    saves on a small window). Otherwise the process's pool of `workers` processes (see
    `_pool_for`) gets at most two chunks per worker ahead of the one being consumed. A pool that
    is still starting (a second or more: a server process imports the work's modules) would leave
    this process idle meanwhile, so until one of its workers is up the chunks are worked here, one
    at a time; they come before any chunk given to the pool, which keeps the order.
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

    pool = _pool_for(work, workers)
    task = partial(_initialised, work, _Setup.of(initializer, initargs))
    pending: deque[Future[R]] = deque()
    try:
        remaining = itertools.chain((first, second), iterator)
        if not pool.started.done():
            for chunk in remaining:
                if pool.started.done():
                    pending.append(pool.executor.submit(task, chunk))
                    break
                # Before each chunk: another call may have set this process's state in between.
                if initializer is not None:
                    initializer(*initargs)
                yield work(chunk)
        for chunk in remaining:
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
            pending.append(pool.executor.submit(task, chunk))
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        _discard(pool)  # a worker died: the next call starts a new pool
        raise
    finally:
        for future in pending:  # the consumer stopped early or a chunk failed: drop what is queued
            future.cancel()
        _release(pool)


@dataclass(eq=False)
class _Pool:
    executor: ProcessPoolExecutor
    workers: int
    started: Future[None]  # done once a worker has started
    users: int = field(default=0)


@dataclass(frozen=True)
class _Setup:
    """A call's initializer and its arguments, pickled once per call rather than once per chunk."""

    digest: str
    pickled: bytes

    @classmethod
    def of(cls, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> _Setup | None:
        if initializer is None:
            return None
        pickled = pickle.dumps((initializer, initargs))
        return cls(hashlib.sha256(pickled).hexdigest(), pickled)


# The setup this worker process last ran (a worker serves calls of every kind, one chunk at a time).
_setup_done: str | None = None


def _initialised(work: Callable[[T], R], setup: _Setup | None, chunk: T) -> R:
    global _setup_done
    if setup is not None and _setup_done != setup.digest:
        initializer, initargs = pickle.loads(setup.pickled)
        initializer(*initargs)
        _setup_done = setup.digest
    return work(chunk)


# The pools of this process by worker count; usually one.
_pools: dict[int, _Pool] = {}
_lock = threading.Lock()  # Dagster may run steps on several threads of one process


def _pool_for(work: Callable[..., Any], workers: int) -> _Pool:
    """The pool of this many workers, started at the first call that needs it."""
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            for idle in [p for p in _pools.values() if p.users == 0]:
                del _pools[idle.workers]
                idle.executor.shutdown(wait=False, cancel_futures=True)
            context = multiprocessing.get_context("forkserver")
            # "forkserver": the caller may be a multi-threaded Dagster run, which it is not safe to
            # fork. The server process, started once per process, imports the first work's module
            # (and the main module) once; each worker is then a cheap fork of it.
            context.set_forkserver_preload(["__main__", _module_of(work)])
            executor = ProcessPoolExecutor(workers, mp_context=context)
            pool = _pools[workers] = _Pool(executor, workers, _start(executor))
        pool.users += 1
        return pool


def _start(executor: ProcessPoolExecutor) -> Future[None]:
    """A future done once a worker of `executor` has started.

    The first submission starts the server process and waits until it has imported the work's
    modules: a thread makes it, so that the caller can work meanwhile.
    """
    started: Future[None] = Future()

    def start() -> None:
        try:
            executor.submit(_started).result()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the pool
            started.set_exception(exc)
        else:
            started.set_result(None)

    threading.Thread(target=start, name="worker-pool-start", daemon=True).start()
    return started


def _started() -> None:
    """Nothing: run by the first worker, to tell that the pool has started."""


def _release(pool: _Pool) -> None:
    with _lock:
        pool.users -= 1


def _discard(pool: _Pool) -> None:
    with _lock:
        if _pools.get(pool.workers) is pool:
            del _pools[pool.workers]
    pool.executor.shutdown(wait=False, cancel_futures=True)


def shutdown_pools() -> None:
    """Stop every worker of this process (at exit; tests)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.executor.shutdown(wait=True, cancel_futures=True)


def _forget_inherited_pools() -> None:
    # A forked child shares none of its parent's workers: it must not use or stop them.
    global _lock, _setup_done
    _pools.clear()
    _setup_done = None
    _lock = threading.Lock()


atexit.register(shutdown_pools)
os.register_at_fork(after_in_child=_forget_inherited_pools)


def _module_of(work: Callable[..., Any]) -> str:
    return getattr(work, "func", work).__module__  # through functools.partial
