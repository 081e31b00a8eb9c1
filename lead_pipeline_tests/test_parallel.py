import os

import pytest

from lead_pipeline import parallel

_offset = 0


def _set_offset(value: int) -> None:
    global _offset
    _offset = value


def _shifted(chunk: list[int]) -> tuple[int, list[int]]:
    return os.getpid(), [n + _offset for n in chunk]


@pytest.fixture
def no_pools():
    parallel.shutdown_pools()
    yield
    parallel.shutdown_pools()


def _started_pool(workers: int, offset: int | None = None) -> None:
    """Start the pool for these arguments and wait for a worker: chunks then all go to the pool."""
    initializer = dict(initializer=_set_offset, initargs=(offset,)) if offset is not None else {}
    list(parallel.map_chunks(_shifted, [[0], [0]], workers=workers, **initializer))
    for pool in parallel._pools.values():
        pool.started.result()


@pytest.mark.parametrize("workers", [1, 2])
def test_chunks_come_back_in_order_with_the_initialised_state(workers):
    if workers > 1:
        _started_pool(workers, 100)
    chunks = [list(range(start, start + 3)) for start in range(0, 30, 3)]
    results = list(parallel.map_chunks(_shifted, iter(chunks), workers=workers, initializer=_set_offset,
                                       initargs=(100,)))
    assert [values for _, values in results] == [[n + 100 for n in chunk] for chunk in chunks]
    elsewhere = {pid for pid, _ in results} - {os.getpid()}
    assert bool(elsewhere) == (workers > 1)
    assert os.getpid() not in {pid for pid, _ in results} or workers == 1


def test_chunks_are_worked_here_until_the_pool_has_started(no_pools):
    results = list(parallel.map_chunks(_shifted, [[n] for n in range(4)], workers=2, initializer=_set_offset,
                                       initargs=(3,)))
    assert [values for _, values in results] == [[n + 3] for n in range(4)]
    assert results[0][0] == os.getpid()  # nothing had started when the first chunk came


def test_chunks_are_read_only_a_few_ahead_of_the_consumer():
    read = []

    def chunks():
        for start in range(20):
            read.append(start)
            yield [start]

    results = parallel.map_chunks(_shifted, chunks(), workers=2, initializer=_set_offset, initargs=(0,))
    next(results)
    assert len(read) <= 2 * 2 + 1  # two per worker in flight, and the one being submitted
    assert [values for _, values in results] == [[n] for n in range(1, 20)]


def test_a_single_chunk_is_worked_here(monkeypatch):
    monkeypatch.setenv(parallel.WORKERS_VARIABLE, "2")
    assert parallel.worker_count() == 2
    [(pid, values)] = parallel.map_chunks(_shifted, [[1, 2]], initializer=_set_offset, initargs=(1,))
    assert (pid, values) == (os.getpid(), [2, 3])
    assert list(parallel.map_chunks(_shifted, [])) == []


def test_one_pool_serves_every_call_with_the_same_initializer(no_pools):
    _started_pool(2, 10)
    chunks = [[n] for n in range(8)]
    pids = set()
    for _ in range(3):
        results = list(parallel.map_chunks(_shifted, chunks, workers=2, initializer=_set_offset, initargs=(10,)))
        assert [values for _, values in results] == [[n + 10] for n in range(8)]
        pids |= {pid for pid, _ in results}
    assert len(pids) <= 2 and os.getpid() not in pids
    assert len(parallel._pools) == 1


def _doubled(chunk: list[int]) -> tuple[int, list[int]]:
    return os.getpid(), [2 * n for n in chunk]


def test_calls_of_every_kind_share_the_pool_each_worker_set_up_for_the_call_it_serves(no_pools):
    _started_pool(2, 1)
    chunks = [[n] for n in range(6)]
    pids = set()
    for offset in (1, 2, None, 1):
        if offset is None:
            results = list(parallel.map_chunks(_doubled, chunks, workers=2))
            assert [values for _, values in results] == [[2 * n] for n in range(6)]
        else:
            results = list(parallel.map_chunks(_shifted, chunks, workers=2, initializer=_set_offset,
                                               initargs=(offset,)))
            assert [values for _, values in results] == [[n + offset] for n in range(6)]
        assert len(parallel._pools) == 1
        pids |= {pid for pid, _ in results}
    assert len(pids) <= 2 and os.getpid() not in pids  # the same two workers throughout


def test_a_call_while_another_is_in_flight_shares_its_pool(no_pools):
    busy = parallel.map_chunks(_shifted, [[n] for n in range(6)], workers=2, initializer=_set_offset, initargs=(0,))
    assert next(busy)[1] == [0]
    other = list(parallel.map_chunks(_shifted, [[1], [2]], workers=2, initializer=_set_offset, initargs=(5,)))
    assert [values for _, values in other] == [[6], [7]]
    assert [values for _, values in busy] == [[n] for n in range(1, 6)]
    assert len(parallel._pools) == 1


def test_a_pool_of_another_size_replaces_the_idle_one(no_pools):
    for workers in (2, 3):
        results = list(parallel.map_chunks(_shifted, [[1], [2], [3]], workers=workers))
        assert [values for _, values in results] == [[1], [2], [3]]
        assert list(parallel._pools) == [workers]


def _exit_worker(chunk: list[int]) -> list[int]:
    os._exit(1)


def test_a_broken_pool_is_replaced_on_the_next_call(no_pools):
    _started_pool(2)  # or this process would run _exit_worker itself
    with pytest.raises(parallel.BrokenProcessPool):
        list(parallel.map_chunks(_exit_worker, [[1], [2]], workers=2))
    assert not parallel._pools
    results = list(parallel.map_chunks(_shifted, [[1], [2]], workers=2, initializer=_set_offset, initargs=(0,)))
    assert [values for _, values in results] == [[1], [2]]
