"""Dagster's SQLite event log, keeping one SQLAlchemy engine per database file for the life of the storage.

The stock `SqliteEventLogStorage` builds a new engine for every connection, so every event it writes
compiles its statements afresh (SQLAlchemy caches compiled statements per engine). A run over a range
of daily partitions records a planned and a materialization event per partition and asset, thousands
per backfill run, and that compiling was most of the run's time outside the assets. Connections are
still opened and closed per use (`NullPool`), as the stock storage does, so other processes reading
or writing the same files see no difference. `lead-pipeline run` configures it for the instance it
creates (`lead_pipeline.runner.open_instance`); any instance may name it in its `dagster.yaml`:

    event_log_storage:
      module: lead_pipeline.stores.dagster_event_log
      class: SqliteEventLogKeepingEngines
      config:
        base_dir: /path/to/dagster_home/history/runs
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool


class SqliteEventLogKeepingEngines(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: dict[str, Engine] = {}  # before the stock constructor, which may already connect
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value) -> SqliteEventLogKeepingEngines:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # The stock `_connect`, with the engine looked up instead of created and disposed each time.
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard), poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._engines[shard] = engine
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
