"""Dagster's SQLite event log, keeping an engine and its connection open per database file in use.

A run over a range of daily partitions records a planned and a materialization event per partition and
asset: thousands of one-event transactions per backfill run. The stock `SqliteEventLogStorage` pays, for
each of them, a new SQLAlchemy engine (its statements compiled afresh), a new connection, an fsync of the
write-ahead log at commit and, when that connection closes as the database's last, a checkpoint into the
database file with two more fsyncs. Profiled on a 20,000-message backfill, that was most of the run's
time outside the assets. This storage keeps, per database file in use (the index and the latest
runs'), one engine and one connection per thread (`SingletonThreadPool`), closed by `dispose`, and
commits with `synchronous=NORMAL`: in WAL mode a crash of the process loses nothing and a power cut
can lose only the last events, never corrupt the file. Other processes reading or writing the same
files (the webserver, the stock storage) see every committed event, as WAL readers do.
`lead-pipeline run` configures it for the instance it creates (`lead_pipeline.runner.open_instance`);
any instance may name it in its `dagster.yaml`:

    event_log_storage:
      module: lead_pipeline.stores.dagster_event_log
      class: SqliteEventLogKeepingEngines
      config:
        base_dir: /path/to/dagster_home/history/runs
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import SingletonThreadPool


# Engines kept besides the index shard's, the most recently used: a run writes to its own shard (and the
# index) from start to end, so older runs' shards are rarely touched again; a long backfill must not hold
# a connection to every run it made.
KEPT_RUN_SHARDS = 2


class SqliteEventLogKeepingEngines(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # Before the stock constructor, which may already connect. Least recently used first.
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value) -> SqliteEventLogKeepingEngines:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # The stock `_connect`, with the engine (and its connection) kept instead of created and disposed each time.
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard), poolclass=SingletonThreadPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                event.listen(engine, "connect", _commit_without_fsync)
                self._engines[shard] = engine
                self._forget_old_run_shards()
            self._engines.move_to_end(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def wipe(self) -> None:
        self._dispose_engines()  # the stock wipe deletes the run files: no connection may keep writing to them
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()

    def _forget_old_run_shards(self) -> None:
        run_shards = [shard for shard in self._engines if shard != INDEX_SHARD_NAME]
        for shard in run_shards[: max(0, len(run_shards) - KEPT_RUN_SHARDS)]:
            self._engines.pop(shard).dispose()

    def _dispose_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _commit_without_fsync(dbapi_connection, _connection_record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
