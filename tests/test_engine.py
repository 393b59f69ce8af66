"""The engine seam (maxchat_data/engine.py): ``to_pg`` turns only real
parameters into psycopg's, whatever strings and comments hold; the same
statement gives the same row on DuckDB and on a real PostgreSQL; each
engine's fragments run on it; and no code outside the stores asks which
engine it runs on."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from maxchat_data.engine import label_bits, to_pg

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("sql, expected", [
    # a ? or $name in a comment, a string or a quoted name is text
    ("SELECT ? /* ? */, ?", "SELECT %s /* ? */, %s"),
    ("SELECT ? -- ?\n, ?", "SELECT %s -- ?\n, %s"),
    ("SELECT /* a /* ? */ ? */ ?", "SELECT /* a /* ? */ ? */ %s"),  # nested, as PostgreSQL reads it
    ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', %s"),
    (r"SELECT E'\'', ?, E'\\', ?", r"SELECT E'\'', %s, E'\\', %s"),  # backslash escapes
    (r"SELECT e'\' ? ', ?", r"SELECT e'\' ? ', %s"),
    (r"SELECT '\', ?", r"SELECT '\', %s"),  # a plain string has no escapes: it ends at the second quote
    ("SELECT $$ ? $$, ?", "SELECT $$ ? $$, %s"),
    ("SELECT $x$ it's $$ ? $x$, ?", "SELECT $x$ it's $$ ? $x$, %s"),
    ('SELECT "a?", "$lo" FROM t WHERE ?', 'SELECT "a?", "$lo" FROM t WHERE %s'),
    ("SELECT * FROM t WHERE a = $lo AND b < $hi AND c = '$lo'", "SELECT * FROM t WHERE a = %(lo)s AND b < %(hi)s AND c = '$lo'"),
    ("SELECT unnest(?::BIGINT[]), ?,?", "SELECT unnest(%s::BIGINT[]), %s,%s"),
    # text before a parameter that is not ASCII (the tokenizer counts bytes)
    ("SELECT 'Rina 🙏', ?, 'Désirée' || ?, \"café\", ?", "SELECT 'Rina 🙏', %s, 'Désirée' || %s, \"café\", %s"),
    # PostgreSQL's own ? operators are written doubled
    ("SELECT j ?? 'a', j ??| ARRAY['a'], j ??& ARRAY['b'], j @?? '$.a', ?",
     "SELECT j ? 'a', j ?| ARRAY['a'], j ?& ARRAY['b'], j @? '$.a', %s"),
    ("SELECT ? || 'x'", "SELECT %s || 'x'"),  # a parameter before an operator stays a parameter
    # psycopg reads every %: doubled in strings, comments and operators alike
    ("SELECT '100%', 7 % 4 /* 5% */, ? -- 1%", "SELECT '100%%', 7 %% 4 /* 5%% */, %s -- 1%%"),
    ("SELECT $$%$$, \"%\", ?", "SELECT $$%%$$, \"%%\", %s"),
    ("", ""),
])
def test_to_pg_turns_only_real_parameters_into_psycopgs(sql, expected):
    assert to_pg(sql) == expected


# One statement with a ? and a $name in every kind of quoted text: both engines
# give the same row (on PostgreSQL through to_pg and psycopg).
EVERYWHERE = (r"""SELECT ? AS a /* ? 🙏 */, 'it''s ?' AS b, E'\'' || ? AS c, $$ ? $$ AS d, $x$ it's ? $x$ AS e,"""
              """ '100%' AS f, 7 % 4 AS g, "q?" -- ?
              , /* a /* ? */ ? */ 'x' AS h FROM (SELECT 1 AS "q?") t""")
NAMED = """SELECT $n::INTEGER + 1 AS a, '$n' AS b /* $n */, "$n" AS c, 5 % 3 AS d FROM (SELECT 2 AS "$n") t"""


@pytest.mark.both_backends
def test_quoted_question_marks_stay_text_on_both_engines(store):
    assert store.one(EVERYWHERE, [1, "x"]) == (1, "it's ?", "'x", " ? ", " it's ? ", "100%", 3, 1, "x")
    assert store.one(NAMED, {"n": 41}) == (42, "$n", 2, 2)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_jsonb_question_operators_are_written_doubled(store):
    doc = '{"k": 1, "l": [1, 2]}'
    assert store.one("SELECT ?::jsonb ?? ?, ?::jsonb ??| ?::TEXT[], ?::jsonb ??& ?::TEXT[], ?::jsonb @?? '$.l[*] ? (@ > 1)'",
                     [doc, "k", doc, ["x", "l"], doc, ["k", "x"], doc]) == (True, True, False, True)


@pytest.mark.both_backends
def test_each_engines_fragments_run_on_it(store):
    e = store.engine
    t = datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=timezone.utc)
    assert store.one(f"SELECT {e.epoch_us('?::TIMESTAMPTZ')}, {e.from_epoch_us(e.epoch_us('?::TIMESTAMPTZ'))}",
                     [t, t]) == (int(t.timestamp()) * 1_000_000 + t.microsecond, t.replace(tzinfo=None))
    # A chat carrying label 3 (one with a bit) and label 70 (none: ids past 62 have no bit).
    chat = f"SELECT ARRAY[3, 70]::INTEGER[] AS label_ids, {label_bits([3, 70])}::BIGINT AS label_bits"
    for wanted, holds in (([9, 3], True), ([9], False), ([70], True), ([71, 9], False), ([3, 70], True),
                          ([7, 70], True), ([], False)):
        sql, params = e.has_labels(wanted)
        assert store.one(f"SELECT {sql} FROM ({chat}) t", params or None) == (holds,), wanted

    def write(w):
        w.serialize("engine test")
        w.execute("CREATE TEMP TABLE keyed (k INTEGER PRIMARY KEY, v VARCHAR)")
        w.execute("INSERT INTO keyed VALUES (1, 'first')")
        locked = w.one(f"SELECT v FROM keyed WHERE k = ?{w.engine.lock()}", [1])
        w.all(f"SELECT k FROM keyed ORDER BY k LIMIT ?{w.engine.lock(skip_locked=True, of='keyed')}", [5])
        # PostgreSQL passes over a key already there; DuckDB's one writer never meets one.
        skip = w.engine.skip_existing("k")
        w.execute(f"INSERT INTO keyed SELECT unnest(?::INTEGER[]), 'again'{skip}", [[1, 2] if skip else [2]])
        rows = w.all("SELECT k, v FROM keyed ORDER BY k")
        w.execute("DROP TABLE keyed")
        return locked, rows
    assert store.write(write) == (("first",), [(1, "first"), (2, "again")])


def test_no_caller_asks_which_engine_it_runs_on():
    """Every difference is the engine's: code outside the engine and the two
    stores neither compares engine names nor looks at a store's class."""
    asking = re.compile(r"dialect|engine\.name\s*[=!]=|isinstance\([^)]*(Pg)?Store\b|\b(DUCKDB|POSTGRESQL)\b")
    allowed = {"maxchat_data/engine.py", "maxchat_data/store.py", "maxchat_data/pg_store.py"}
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for folder in ("maxchat_data", "server", "ui", "app_pages") for path in sorted((ROOT / folder).rglob("*.py"))
             if str(path.relative_to(ROOT)) not in allowed
             for n, line in enumerate(path.read_text().splitlines(), 1) if asking.search(line)]
    assert found == []
