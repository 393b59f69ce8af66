"""D3: the data teams' export: sessions, messages, chats and events as
Parquet, partitioned by day (``dt=YYYY-MM-DD/``, UTC day of the row's time),
readable by Spark, Trino, BigQuery or DuckDB without this app. Columns are
those of the SQL console's views: never password hashes or secrets.

One path for both engines: the rows are read in batches as Arrow (DuckDB
gives them so itself; from PostgreSQL they come through a server-side cursor,
so a big table never sits in memory whole) and pyarrow writes the files."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.dataset as ds

from .progress import Report
from .store import Store

# table -> the time column that picks its day
TABLES = {"sessions": "started_at", "messages": "sent_at", "chats": "created_at", "events": "created_at"}
BATCH = 50_000

# PostgreSQL column types (pg_type oids) as Arrow types, as DuckDB would give them.
_PG_TYPES = {16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 25: pa.string(), 1043: pa.string(),
             114: pa.string(), 3802: pa.string(), 700: pa.float32(), 701: pa.float64(), 1700: pa.float64(),
             1184: pa.timestamp("us", tz="UTC"), 1114: pa.timestamp("us"), 1082: pa.date32(),
             1007: pa.list_(pa.int32()), 1016: pa.list_(pa.int64()), 1015: pa.list_(pa.string()),
             1009: pa.list_(pa.string())}


@contextmanager
def _duckdb_rows(store: Store, sql: str) -> Iterator[pa.RecordBatchReader]:
    cur = store.cursor()
    try:
        yield cur.sql(sql).to_arrow_reader(BATCH)
    finally:
        cur.close()


@contextmanager
def _postgresql_rows(store: Store, sql: str) -> Iterator[pa.RecordBatchReader]:
    cur = store.cursor()
    try:
        cur.execute("BEGIN READ ONLY")
        cur.execute(f"DECLARE export_rows NO SCROLL CURSOR FOR {sql}")
        fetch = f"FETCH FORWARD {BATCH} FROM export_rows"
        first = cur.execute(fetch)
        schema = pa.schema([(d[0], _PG_TYPES.get(d[1], pa.string())) for d in first.description])
        rows = first.fetchall()

        def batches(rows):
            while rows:
                yield pa.RecordBatch.from_pylist([dict(zip(schema.names, r)) for r in rows], schema=schema)
                rows = cur.execute(fetch).fetchall()
        yield pa.RecordBatchReader.from_batches(schema, batches(rows))
    finally:
        cur.execute("ROLLBACK")
        cur.close()


def export_parquet(store: Store, out_dir: str | Path, since: date | None = None,
                   progress: Report | None = None) -> dict[str, int]:
    """Write every table under ``out_dir/<table>/dt=YYYY-MM-DD/``; returns rows per table.
    A partition already there is replaced, so a rerun gives the same files.
    ``progress(rows written, rows to write)`` after each batch of rows."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows_of = _postgresql_rows if store.dialect == "postgresql" else _duckdb_rows
    # ``since`` is a date: its ISO text is safe in the SQL (a cursor declared in SQL takes no parameters).
    where = {table: f" WHERE {column} >= DATE '{since.isoformat()}'" if since else ""
             for table, column in TABLES.items()}
    total = sum(store.one(f"SELECT count(*) FROM console.{t}{where[t]}")[0] for t in TABLES) if progress else 0
    written = {}
    for table, column in TABLES.items():
        sql = f"SELECT *, CAST(CAST({column} AS DATE) AS VARCHAR) AS dt FROM console.{table}{where[table]}"
        written[table] = 0
        with rows_of(store, sql) as reader:
            def counted(reader=reader, table=table):
                for batch in reader:
                    written[table] += batch.num_rows
                    if progress:
                        progress(sum(written.values()), max(total, sum(written.values())))
                    yield batch
            ds.write_dataset(pa.RecordBatchReader.from_batches(reader.schema, counted()), out / table,
                             format="parquet", partitioning=["dt"], partitioning_flavor="hive",
                             existing_data_behavior="delete_matching", basename_template="part_{i}.parquet")
    if progress:
        progress(sum(written.values()), sum(written.values()))
    return written
