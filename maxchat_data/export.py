"""D3: the data teams' export: sessions, messages, chats and events as
Parquet, partitioned by day (``dt=YYYY-MM-DD/``, UTC day of the row's time),
readable by Spark, Trino, BigQuery or DuckDB without this app. Columns are
those of the SQL console's views: never password hashes or secrets."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from .errors import ValidationError
from .store import Store

# table -> the time column that picks its day
TABLES = {"sessions": "started_at", "messages": "sent_at", "chats": "created_at", "events": "created_at"}


def export_parquet(store: Store, out_dir: str | Path, since: date | None = None) -> dict[str, int]:
    """Write every table under ``out_dir/<table>/dt=YYYY-MM-DD/``; returns rows per table.
    A partition already there is replaced, so a rerun gives the same files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    cur = store.cursor()
    try:
        for table, column in TABLES.items():
            where = f"WHERE {column} >= $since" if since else ""
            params = {"since": since} if since else {}
            sql = (f"SELECT *, strftime({column}, '%Y-%m-%d') AS dt FROM console.{table} {where}")
            target = out / table
            count = cur.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
            if count:
                cur.execute(f"COPY ({sql}) TO '{_quoted(target)}' (FORMAT parquet, PARTITION_BY (dt),"
                            " OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'part_{i}')", params)
            written[table] = count
    finally:
        cur.close()
    return written


def _quoted(path: Path) -> str:
    text = str(path.resolve())
    if "'" in text:
        raise ValidationError("The export directory name cannot contain a quote.")
    return text
