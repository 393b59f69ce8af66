"""Moving to several replicas: copy a DuckDB file into an empty PostgreSQL
database (``python -m maxchat_data migrate --to postgresql://…``).

Everything happens in one PostgreSQL transaction, so a copy that fails leaves
the target as empty as it was. The source is opened read-only, which DuckDB
refuses while a server holds the file: the copy cannot miss a late write.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import psycopg

from . import i18n
from .errors import MaxchatError
from .i18n import _
from .pg_store import PgStore, hide_password
from .store import ID_TABLES, connect_file
from .progress import Report

# Parents before the rows that name them (there are no foreign keys today;
# this keeps the copy right when some are added). Tables not named here come
# after, in name order.
ORDER = ("agents", "contacts", "labels", "templates", "chats", "contact_labels", "sessions", "attachments",
         "messages", "message_changes", "outbox", "notes", "events", "quick_replies", "broadcasts",
         "broadcast_recipients", "session_facts", "session_replies", "waits", "facts_state")
NOT_COPIED = {"schema_migrations"}  # each engine records its own migrations
# Rows the PostgreSQL migrations put in an empty database: replaced by the
# source's, and no sign that the target is in use.
SEED_ROWS = {"facts_state": [(0, 0)]}
BATCH = 20_000


class CopyRefused(MaxchatError):
    """The copy did not start: nothing was changed."""


def copy_database(duck_path: str | Path, url: str, say: Callable[[str], None] = print,
                  progress: Report | None = None) -> bool:
    """Copy every table of the DuckDB file at ``duck_path`` into the empty
    PostgreSQL database at ``url`` (migrated first if it has no tables yet),
    move the id sequences past the copied ids and compare the row counts
    table by table. True when every count matches; raises CopyRefused, having
    changed nothing, when the copy cannot start. ``progress(rows copied,
    rows)`` as the rows go."""
    if not Path(duck_path).is_file():
        raise CopyRefused(_("There is no database file at {path}.").format(path=duck_path))
    try:
        pg = psycopg.connect(url, autocommit=True, connect_timeout=10, options="-c TimeZone=UTC")
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CopyRefused(_("Cannot connect to {url}: {error}").format(url=hide_password(url), error=first)) from None
    duck = None
    try:
        _refuse_unless_empty(pg, url)
        duck = connect_file(str(duck_path), read_only=True)
        duck.execute("SET TimeZone='UTC'")
        _migrate(url)
        _refuse_unless_empty(pg, url)
        tables = _tables(duck, pg)
        started = time.perf_counter()
        rows = {t: duck.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        copied = 0
        with pg.transaction():
            for table in tables:
                for n in _copy_table(duck, pg, table):
                    copied += n
                    if progress:
                        progress(copied, max(copied, sum(rows.values())))
            for table in ID_TABLES:
                pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                           " HAVING max(id) IS NOT NULL")
        # Planner statistics now, not whenever autovacuum gets to it: the
        # first pages after the switch would otherwise run on guesses.
        pg.execute("ANALYZE")
        copied_s = time.perf_counter() - started
        ok = True
        for table in tables:
            (want,) = duck.execute(f"SELECT count(*) FROM {table}").fetchone()
            (got,) = pg.execute(f"SELECT count(*) FROM {table}").fetchone()
            ok &= want == got
            counts = {"table": table, "want": i18n.number(want), "got": i18n.number(got)}
            say(f"{table}: {counts['want']} = {counts['got']} ✓" if want == got
                else _("{table}: {want} ≠ {got} ✗ MISMATCH").format(**counts))
        say(_("copied {count} tables in {seconds} s").format(count=i18n.number(len(tables)),
                                                            seconds=i18n.number(copied_s, 1)) if ok else
            _("the row counts differ: do not switch the app to this database"))
        return ok
    finally:
        if duck is not None:
            duck.close()
        pg.close()


def _refuse_unless_empty(pg: psycopg.Connection, url: str) -> None:
    tables = [t for (t,) in pg.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
    if tables and "schema_migrations" not in tables:
        raise CopyRefused(_("{url} already holds tables that are not Maxchat's ({tables}): copy into a new, empty"
                            " database.").format(url=hide_password(url), tables=", ".join(tables[:5])))
    used = []
    for table in tables:
        if table in NOT_COPIED:
            continue
        rows = pg.execute(f"SELECT * FROM {table} LIMIT 2").fetchall()
        if rows and rows != SEED_ROWS.get(table):
            used.append(table)
    if used:
        raise CopyRefused(_("{url} is not empty ({tables} hold rows): the copy goes only into a new, empty database."
                            " Nothing was changed.").format(url=hide_password(url), tables=", ".join(used[:5])))


def _migrate(url: str) -> None:
    """The PostgreSQL migrations, applied as the app applies them."""
    media = tempfile.mkdtemp(prefix="maxchat-copy-")  # a store needs one; the copy writes no files
    try:
        PgStore(url, media).close()
    finally:
        shutil.rmtree(media, ignore_errors=True)


def _columns(rows) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def _tables(duck, pg) -> list[str]:
    """The tables to copy, parents first; refused unless both databases have
    the same tables with the same columns (both fully migrated)."""
    query = ("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = {}"
             " AND table_name IN (SELECT table_name FROM information_schema.tables"
             " WHERE table_schema = {} AND table_type = 'BASE TABLE') ORDER BY table_name, ordinal_position")
    source = _columns(duck.execute(query.format("'main'", "'main'")).fetchall())
    target = _columns(pg.execute(query.format("'public'", "'public'")).fetchall())
    for name in NOT_COPIED:
        source.pop(name, None)
        target.pop(name, None)
    if source != target:
        differ = sorted(t for t in set(source) | set(target) if source.get(t) != target.get(t))
        raise CopyRefused(_("The two schemas differ ({tables}): start the server once on the DuckDB file (or run"
                            " `{command}`) so it is fully migrated, and use a Maxchat of the same version for both.")
                          .format(tables=", ".join(differ[:5]), command="python -m maxchat_data migrate"))
    return sorted(source, key=lambda t: (ORDER.index(t) if t in ORDER else len(ORDER), t))


def _copy_table(duck, pg: psycopg.Connection, table: str) -> Iterator[int]:
    """Copies ``table`` as it is iterated, yielding the rows of each batch."""
    types = [oid for (oid,) in pg.execute(
        "SELECT atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        " ORDER BY attnum", [table]).fetchall()]
    if table in SEED_ROWS:
        pg.execute(f"DELETE FROM {table}")
    source = duck.execute(f"SELECT * FROM {table}")
    with pg.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        while rows := source.fetchmany(BATCH):
            for row in rows:
                copy.write_row(row)
            yield len(rows)
