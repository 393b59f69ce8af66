"""The store itself: migrations, group commit, failure isolation, the demo
command, configuration."""
from __future__ import annotations

import ast
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import customer_writes, wait_until
from maxchat_data import config, inbox, open_store, settings
from maxchat_data.errors import ValidationError
from maxchat_data.store import Store

ROOT = Path(__file__).resolve().parents[1]


def test_migrations_apply_once_and_survive_reopen(tmp_path):
    s = Store(tmp_path / "m.duckdb", tmp_path / "media")
    applied = s.all("SELECT version FROM schema_migrations")
    s.write(lambda w: w.execute("INSERT INTO settings VALUES ('k', 'v')"))
    s.close()
    s = Store(tmp_path / "m.duckdb", tmp_path / "media")
    try:
        assert s.all("SELECT version FROM schema_migrations") == applied
        assert settings.get(s, "k") == "v"
        migrations = sorted(p.name for p in (ROOT / "maxchat_data" / "migrations").glob("*.sql"))
        assert [v for (v,) in sorted(applied)] == [int(m.split("_")[0]) for m in migrations]
    finally:
        s.close()


def test_duckdb_memory_limit_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MAXCHAT_DUCKDB_MEMORY", "300MB")
    with Store(tmp_path / "m.duckdb", tmp_path / "media") as s:
        assert s.one("SELECT current_setting('memory_limit')")[0] == "286.1 MiB"  # DuckDB's own units


def test_group_commit_answers_every_caller(store):
    gate = threading.Event()
    store.submit(lambda w: gate.wait(5))  # hold the writer so the rest queue up
    futures = [store.submit(lambda w, i=i: w.execute("INSERT INTO settings VALUES (?, ?)", [f"k{i}", str(i)]) and i)
               for i in range(50)]
    version = store.version
    gate.set()
    assert [f.result(5) for f in futures] == list(range(50))
    assert store.one("SELECT count(*) FROM settings")[0] == 50
    assert store.version - version <= 2  # 50 writes, one or two commits


def test_a_failing_write_fails_only_its_caller(store):
    gate = threading.Event()
    store.submit(lambda w: gate.wait(5))
    good = store.submit(lambda w: w.execute("INSERT INTO settings VALUES ('good', '1')"))
    bad = store.submit(lambda w: w.execute("INSERT INTO no_such_table VALUES (1)"))
    refused = store.submit(lambda w: (_ for _ in ()).throw(ValidationError("no")))
    after = store.submit(lambda w: w.execute("INSERT INTO settings VALUES ('after', '1')"))
    gate.set()
    good.result(5), after.result(5)
    with pytest.raises(Exception, match="no_such_table"):
        bad.result(5)
    with pytest.raises(ValidationError):
        refused.result(5)
    assert sorted(k for (k,) in store.all("SELECT key FROM settings")) == ["after", "good"]


@pytest.mark.slow
def test_demo_command_fills_every_state(tmp_path):
    db = tmp_path / "demo.duckdb"
    out = subprocess.run([sys.executable, "-m", "maxchat_data", "--db", str(db), "demo", "--chats", "120"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "added 120 chats" in out.stdout
    s = Store(db, tmp_path / "media")
    try:
        assert {st for (st,) in s.all("SELECT DISTINCT status FROM chats")} == {"Open", "Answered", "Resolved"}
        assert {c for (c,) in s.all("SELECT DISTINCT channel FROM chats")} == {"whatsapp", "messenger", "telegram"}
        assert s.one("SELECT count(*) FROM chats WHERE archived")[0] > 0
        assert s.one("SELECT count(*) FROM chats WHERE len(label_ids) > 0")[0] > 0
        assert s.one("SELECT count(*) FROM notes")[0] > 0
        assert {st for (st,) in s.all("SELECT DISTINCT status FROM templates")} == {"Pending", "Accepted", "Rejected"}
        closed = [c for (c,) in s.all("SELECT id FROM chats WHERE channel = 'whatsapp'")
                  if not inbox.get_chat(s, c)["window"].open]
        assert closed, "some WhatsApp windows should be closed"
        assert s.all("SELECT count(*) FROM chats WHERE NOT ((status = 'Answered') = (assignee_id IS NOT NULL))") == [(0,)]
        names = [n for (n,) in s.all("SELECT contact_name FROM chats")]
        assert any(" " in n for n in names) and len(set(names)) > 30
    finally:
        s.close()


def test_the_demo_speaks_indonesian_and_each_chat_reads_in_order(store):
    """Issue 18: the demo is Indonesian (names, labels, templates, the
    quick replies /salam and /terimakasih), and a chat's messages follow
    their script in time: each side's lines in the script's order, the
    customer's first line first."""
    from maxchat_data import demo, labels, quick_replies, templates
    demo.generate(store, 60, messages_per_chat=6)
    assert {"salam", "terimakasih"} <= {q["shortcut"] for q in quick_replies.shared(store)}
    assert {"Komplain", "Pelanggan baru", "Pesanan"} <= {l["name"] for l in labels.list_labels(store)}
    assert {t["language"] for t in templates.list_templates(store)} == {"id"}
    first = {n.split()[0] for (n,) in store.all("SELECT contact_name FROM chats")}
    assert first <= set(demo.FIRST) and len(first) > 15
    scripts = {side: [list(c[i]) for c in demo.CONVERSATIONS] for i, side in enumerate(("in", "out"))}
    extra = {"in": set(demo.MORE_FROM_CUSTOMER), "out": set(demo.MORE_FROM_TEAM)}
    threads: dict[int, list] = {}
    for chat, direction, body in store.all("SELECT chat_id, direction, body FROM messages WHERE kind = 'text'"
                                           " ORDER BY chat_id, sent_at, id"):
        threads.setdefault(chat, []).append((direction, body))
    for chat, thread in threads.items():
        assert thread[0][0] == "in" and any(thread[0][1] == s[0] for s in scripts["in"]), thread
        for side in ("in", "out"):
            said = [b for d, b in thread if d == side and b not in extra[side]]
            # The scripted lines of a side are the start of one script, in order.
            assert any(s[:len(said)] == said for s in scripts[side]), (side, thread)


def test_config_reads_environment_then_secrets_file(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('WHATSAPP_TOKEN = "from-file"\nTELEGRAM_BOT_TOKEN = "tg-file"\n')
    monkeypatch.setenv("MAXCHAT_SECRETS", str(secrets))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "tg-env")
    monkeypatch.delenv("WHATSAPP_TOKEN", raising=False)
    config._secrets.cache_clear()
    try:
        assert config.get("WHATSAPP_TOKEN") == "from-file"
        assert config.get("TELEGRAM_BOT_TOKEN") == "tg-env"
        assert config.get("WHATSAPP_API_BASE") == "https://graph.facebook.com/v21.0"
    finally:
        config._secrets.cache_clear()


# ---- the change counters -------------------------------------------------------------------
def test_change_counters_lose_no_bump_between_the_writer_and_the_listener(store):
    """The writer thread bumps ``version`` and the topics after each commit;
    on PostgreSQL the listener thread bumps the same counters for other
    replicas' commits. Here 500 real commits race 3 threads doing what the
    listener does, at the smallest thread switch interval: every bump counts
    (without the lock a third of them were lost)."""
    commits, notes, threads_n = 500, 50_000, 3
    v0, t0 = store.version, store.topic_version("outbox")
    start = threading.Barrier(threads_n + 1)

    def writer():
        start.wait()
        for _ in range(commits):  # one caller, one write at a time: one commit each
            store.write(lambda w: w.touch("outbox"))

    def listener():
        start.wait()
        for _ in range(notes):
            store._bump(("outbox",))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=writer)] + [threading.Thread(target=listener) for _ in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        sys.setswitchinterval(interval)
    assert store.version - v0 == commits + threads_n * notes
    assert store.topic_version("outbox") - t0 == commits + threads_n * notes


# ---- opening the app's database ---------------------------------------------------------------
def test_one_open_store():
    """Issue 19: ``maxchat_data.open_store`` and ``maxchat_data.store.open_store``
    opened the same database differently (defaults, media folder, upkeep)."""
    found = [f"{path.relative_to(ROOT)}:{node.lineno}"
             for folder in ("maxchat_data", "server") for path in sorted((ROOT / folder).rglob("*.py"))
             if "open_store" in path.read_text() for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.FunctionDef) and node.name == "open_store"]
    assert found == ["maxchat_data/__init__.py:" + found[0].rsplit(":", 1)[1]], found


@pytest.fixture
def app_environment(backend, tmp_path, monkeypatch):
    """A server's environment on ``backend``: MAXCHAT_DATABASE_URL, or
    MAXCHAT_DB naming a file away from the working folder; no media folder set."""
    import pg_cluster
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAXCHAT_MEDIA_DIR", raising=False)
    if backend == "postgresql":
        url = pg_cluster.fresh_database()
        monkeypatch.setenv("MAXCHAT_DATABASE_URL", url)
        yield
        pg_cluster.drop_database(url)
        return
    monkeypatch.delenv("MAXCHAT_DATABASE_URL", raising=False)
    monkeypatch.setenv("MAXCHAT_DB", str(tmp_path / "elsewhere" / "inbox.duckdb"))
    yield


@pytest.mark.both_backends
def test_open_store_has_one_behaviour_on_both_engines(backend, app_environment, tmp_path, monkeypatch):
    """Where from the environment, media under MAXCHAT_MEDIA_DIR (default
    data/media) wherever the file is, migrated, and the report facts kept
    folded by the writer without a report asking."""
    with open_store() as s:
        assert s.engine.name == backend
        assert s.media_dir.resolve() == (tmp_path / "data" / "media").resolve()
        message = customer_writes(s, "6281", "Halo").message_id
        assert wait_until(lambda: s.one("SELECT folded_through FROM facts_state")[0] >= message, 15, 0.1)
    monkeypatch.setenv("MAXCHAT_MEDIA_DIR", str(tmp_path / "files"))
    with open_store() as s:
        assert s.media_dir == tmp_path / "files"
