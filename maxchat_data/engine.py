"""Where DuckDB and PostgreSQL differ: one object per engine owns every
difference, and the code that reads or writes asks it (``store.engine``,
the same object as ``writer.engine``) instead of testing which engine it is.

SQL is written once, DuckDB style, with ``?`` and ``$name`` parameters
(DuckDB takes most of PostgreSQL's syntax). What is not the same SQL on both:

- a row lock ending a SELECT (``lock``), an insert that skips a key already
  there (``skip_existing``), one transaction at a time past a point
  (``serialize``);
- a chat holding any of some labels (``has_labels``, the label filters);
- an instant as µs since 1970 and back (``epoch_us``, ``from_epoch_us``);
- the statement as the writer sends it (``writer_sql``), and on PostgreSQL
  the parameters as psycopg takes them (``to_pg``);
- a query's rows as Arrow batches (``arrow_rows``);
- what the engine allows: one process per database (``one_process``), SQL
  reading a Python frame (``reads_frames``);
- a feature written whole once per engine (the SQL console's runs) takes
  this engine's with ``pick``.
"""
from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

    from .store import Store, Writer

# A chat carries its labels twice: ``label_ids``, and for labels 1-62 one bit
# each in ``label_bits`` (bit n: label n). A scan reads a number 6-8x faster
# than a list (1M chats: 1 ms instead of 6-8 for a label filter). Both are
# written together, from the same ids (``LABEL_BITS_OF``, ``label_bits``).
BITS_FOR = range(1, 63)
# The aggregate of label ids ``{0}`` (a column or expression) to their bits.
# (A CASE, not a FILTER: DuckDB shifts every row before it filters, and 1 << 63 overflows.)
LABEL_BITS_OF = (f"coalesce(bit_or(CASE WHEN {{0}} BETWEEN {BITS_FOR.start} AND {BITS_FOR.stop - 1}"
                 " THEN 1::BIGINT << {0} ELSE 0 END), 0)")


def label_bits(label_ids) -> int:
    """``label_bits`` of a chat carrying ``label_ids``."""
    return sum(1 << i for i in set(label_ids) if i in BITS_FOR)


class Engine(ABC):
    name: str  # as people say it: logs, benchmarks
    # This process is the only one on the database (DuckDB: one per file):
    # ids commit in the order they were handed out, and a sender seen before
    # this start is a past run of this process.
    one_process: bool
    # SQL reads a pandas frame registered on the connection by name (DuckDB
    # runs inside this process): what the demo's bulk load is made of.
    reads_frames: bool

    @abstractmethod
    def lock(self, skip_locked: bool = False, of: str | None = None) -> str:
        """The row-lock clause ending a SELECT: on PostgreSQL two replicas'
        writers must not both act on what they read; DuckDB's one writer per
        file has no one to lock out (and no such clause). ``of``: lock only
        that table's rows of a join; ``skip_locked``: pass rows another
        transaction holds."""

    @abstractmethod
    def skip_existing(self, key: str) -> str:
        """What ends an INSERT … SELECT so that it inserts only the rows whose
        ``key`` is new. PostgreSQL: another replica may have inserted one a
        moment ago (ON CONFLICT, after waiting for it). DuckDB: its one writer
        knows every chat and only a repeated delivery can collide, which
        raises and is looked up on the careful retry; there ON CONFLICT costs
        3 ms a statement (2M messages), half the ingest rate."""

    @abstractmethod
    def serialize(self, w: Writer, what: str) -> None:
        """Let only one transaction at a time (in any process) go past here
        until it ends. One writer thread per DuckDB file already does that."""

    @abstractmethod
    def has_labels(self, label_ids: list[int]) -> tuple[str, dict]:
        """SQL true for a chat (a row of ``chats``) carrying any of
        ``label_ids`` (none: false), and its parameters."""

    @abstractmethod
    def epoch_us(self, instant: str) -> str:
        """SQL for the TIMESTAMPTZ ``instant`` as µs since 1970 (a BIGINT)."""

    @abstractmethod
    def from_epoch_us(self, us: str) -> str:
        """SQL for µs since 1970 as a wall time (a TIMESTAMP)."""

    @abstractmethod
    def writer_sql(self, sql: str) -> str:
        """``sql`` (run with parameters) as the writer sends it."""

    @abstractmethod
    def arrow_rows(self, store: Store, sql: str, batch: int) -> Iterator[pa.RecordBatchReader]:
        """A context: the rows of ``sql`` (no parameters), ``batch`` at a time
        as Arrow, never the whole result in memory."""

    @abstractmethod
    def pick(self, *, duckdb, postgresql):
        """Of a thing made once per engine, this engine's."""


class DuckDB(Engine):
    name = "duckdb"
    one_process = True
    reads_frames = True

    def lock(self, skip_locked: bool = False, of: str | None = None) -> str:
        return ""

    def skip_existing(self, key: str) -> str:
        return ""

    def serialize(self, w: Writer, what: str) -> None:
        pass

    def has_labels(self, label_ids: list[int]) -> tuple[str, dict]:
        # The bits for labels that have one; for any other, array_position
        # per value (measured 10x faster here than ``&&`` or ``= ANY``), the
        # list's length first to skip the chats without labels cheaply.
        wanted = sorted({int(i) for i in label_ids})
        bits = label_bits(wanted)
        rest = {f"label{n}": i for n, i in enumerate(x for x in wanted if x not in BITS_FOR)}
        found = [f"(label_bits & {bits}) <> 0"] if bits else []
        if rest:
            found.append("(len(label_ids) > 0 AND ("
                         + " OR ".join(f"array_position(label_ids, ${n}) IS NOT NULL" for n in rest) + "))")
        return ("(" + " OR ".join(found) + ")" if found else "FALSE"), rest

    def epoch_us(self, instant: str) -> str:
        return f"epoch_us({instant})"  # an integer read

    def from_epoch_us(self, us: str) -> str:
        return f"make_timestamp({us})"

    def writer_sql(self, sql: str) -> str:
        return _untyped_unnest(sql)

    @contextmanager
    def arrow_rows(self, store: Store, sql: str, batch: int) -> Iterator[pa.RecordBatchReader]:
        cur = store.cursor()
        try:
            yield cur.sql(sql).to_arrow_reader(batch)
        finally:
            cur.close()

    def pick(self, *, duckdb, postgresql):
        return duckdb


class PostgreSQL(Engine):
    name = "postgresql"
    one_process = False
    reads_frames = False

    def lock(self, skip_locked: bool = False, of: str | None = None) -> str:
        return " FOR UPDATE" + (f" OF {of}" if of else "") + (" SKIP LOCKED" if skip_locked else "")

    def skip_existing(self, key: str) -> str:
        return f" ON CONFLICT ({key}) DO NOTHING"

    def serialize(self, w: Writer, what: str) -> None:
        w.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [what])

    def has_labels(self, label_ids: list[int]) -> tuple[str, dict]:
        # ``&&``: the GIN index on label_ids answers it.
        labels = {f"label{n}": int(i) for n, i in enumerate(label_ids)}
        if not labels:
            return "FALSE", {}
        return f"label_ids && ARRAY[{', '.join('$' + n for n in labels)}]::INTEGER[]", labels

    def epoch_us(self, instant: str) -> str:
        # date_part is a double, exact to the µs once rounded, and much
        # cheaper than extract's numeric.
        return f"round(date_part('epoch', {instant}) * 1000000)::BIGINT"

    def from_epoch_us(self, us: str) -> str:
        return f"(TIMESTAMP '1970-01-01' + ({us}) * INTERVAL '1 microsecond')"

    def writer_sql(self, sql: str) -> str:
        return sql  # the cursor translates the parameters (to_pg), as for every read

    @contextmanager
    def arrow_rows(self, store: Store, sql: str, batch: int) -> Iterator[pa.RecordBatchReader]:
        import pyarrow as pa  # 0.2 s to import: only exports come here

        cur = store.cursor()
        try:
            # A server-side cursor: a big table never sits in memory whole.
            cur.execute("BEGIN READ ONLY")
            cur.execute(f"DECLARE export_rows NO SCROLL CURSOR FOR {sql}")
            fetch = f"FETCH FORWARD {batch} FROM export_rows"
            first = cur.execute(fetch)
            types = _pg_arrow_types()
            schema = pa.schema([(d[0], types.get(d[1], pa.string())) for d in first.description])
            rows = first.fetchall()

            def batches(rows):
                while rows:
                    yield pa.RecordBatch.from_pylist([dict(zip(schema.names, r)) for r in rows], schema=schema)
                    rows = cur.execute(fetch).fetchall()
            yield pa.RecordBatchReader.from_batches(schema, batches(rows))
        finally:
            cur.execute("ROLLBACK")
            cur.close()

    def pick(self, *, duckdb, postgresql):
        return postgresql


DUCKDB = DuckDB()
POSTGRESQL = PostgreSQL()


@functools.cache
def _pg_arrow_types() -> dict:
    """PostgreSQL column types (pg_type oids) as the Arrow types DuckDB would
    give them (any other: text)."""
    import pyarrow as pa

    return {16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 25: pa.string(), 1043: pa.string(),
            114: pa.string(), 3802: pa.string(), 700: pa.float32(), 701: pa.float64(), 1700: pa.float64(),
            1184: pa.timestamp("us", tz="UTC"), 1114: pa.timestamp("us"), 1082: pa.date32(),
            1007: pa.list_(pa.int32()), 1016: pa.list_(pa.int64()), 1015: pa.list_(pa.string()),
            1009: pa.list_(pa.string())}


_TYPED_UNNEST = re.compile(r"unnest\(\?::[A-Z]+\[\]\)")


@functools.lru_cache(maxsize=4096)
def _untyped_unnest(sql: str) -> str:
    """Set-based writes are written ``unnest(?::BIGINT[])``: PostgreSQL needs
    the type of an array parameter; DuckDB knows it from the list and the
    cast costs it ~0.5 ms a statement on the ingest path, so it goes."""
    return _TYPED_UNNEST.sub("unnest(?)", sql)


# ---- parameters for psycopg ------------------------------------------------------------------
# What DuckDB's own tokenizer says is quoted text: strings ('…' with '' inside,
# E'…' with backslash escapes, $tag$…$tag$), comments (-- and nested /* */)
# and "quoted names". In there nothing is a parameter.
_QUOTED = (duckdb.token_type.string_const, duckdb.token_type.comment)
# Outside them: ``??`` (one literal ``?``), a ``?`` parameter, a ``$name``
# parameter, a ``%``.
_OUTSIDE = re.compile(r"\?\?|\?|\$([A-Za-z_]\w*)|%")


def _outside(m: re.Match) -> str:
    token = m.group(0)
    if token == "??":
        return "?"
    if token == "?":
        return "%s"
    if token == "%":
        return "%%"
    return f"%({m.group(1)})s"


@functools.lru_cache(maxsize=4096)  # the tokenizer takes ~0.16 ms per KB of SQL (measured): once per statement
def to_pg(sql: str) -> str:
    """A statement sent with parameters, from DuckDB's placeholders to
    psycopg's: ``?`` -> ``%s``, ``$name`` -> ``%(name)s``, and every ``%``
    -> ``%%`` (psycopg reads ``%`` everywhere, in strings and comments too).
    A ``?`` or ``$name`` inside a string, a comment or a quoted name is text.

    PostgreSQL's own ``?`` operators (jsonb ``?``, ``?|``, ``?&``, ``@?``) are
    written doubled in such a statement — ``??``, ``??|``, ``??&``, ``@??`` —
    just as psycopg wants a literal ``%`` doubled; a single ``?`` is always a
    parameter. (A statement sent without parameters goes as written.)"""
    raw = sql.encode()  # the tokenizer's positions count UTF-8 bytes
    tokens = duckdb.tokenize(sql)
    starts = [start for start, _ in tokens] + [len(raw)]
    out, code = [], [raw[:starts[0]].decode()]
    for (start, kind), end in zip(tokens, starts[1:]):
        text = raw[start:end].decode()
        if kind in _QUOTED or text.startswith('"'):
            out.append(_OUTSIDE.sub(_outside, "".join(code)))
            out.append(text.replace("%", "%%"))
            code = []
        else:
            code.append(text)
    out.append(_OUTSIDE.sub(_outside, "".join(code)))
    return "".join(out)
