"""D3: the data teams' export: sessions, messages, chats and events as
Parquet, partitioned by day (``dt=YYYY-MM-DD/``, UTC day of the row's time),
readable by Spark, Trino, BigQuery or DuckDB without this app. Columns are
those of the SQL console's views: never password hashes or secrets.

One path for both engines: the rows are read in batches as Arrow
(``Engine.arrow_rows``: a big table never sits in memory whole) and pyarrow
writes the files."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from .progress import Report
from .store import Store

# table -> the time column that picks its day
TABLES = {"sessions": "started_at", "messages": "sent_at", "chats": "created_at", "events": "created_at"}
BATCH = 50_000


def export_parquet(store: Store, out_dir: str | Path, since: date | None = None,
                   progress: Report | None = None) -> dict[str, int]:
    """Write every table under ``out_dir/<table>/dt=YYYY-MM-DD/``; returns rows per table.
    A partition already there is replaced, so a rerun gives the same files.
    ``progress(rows written, rows to write)`` after each batch of rows."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # ``since`` is a date: its ISO text is safe in the SQL (a cursor declared in SQL takes no parameters).
    where = {table: f" WHERE {column} >= DATE '{since.isoformat()}'" if since else ""
             for table, column in TABLES.items()}
    total = sum(store.one(f"SELECT count(*) FROM console.{t}{where[t]}")[0] for t in TABLES) if progress else 0
    written = {}
    for table, column in TABLES.items():
        sql = f"SELECT *, CAST(CAST({column} AS DATE) AS VARCHAR) AS dt FROM console.{table}{where[table]}"
        written[table] = 0
        with store.engine.arrow_rows(store, sql, BATCH) as reader:
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
