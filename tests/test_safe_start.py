"""Lose nothing, let no one in at start: the database file stays locked
while the server runs, and no start opens with a password anyone knows."""
from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
import requests

from conftest import point_runtime_at
from maxchat_data import accounts, config, demo
from maxchat_data.store import DatabaseInUse, Store
from server import runtime
from tests.fakes.helpers import WA_SECRET, body_of, meta_headers, wa_message, wa_webhook
from tests.live_server import ROOT, live_server


def test_a_second_process_cannot_open_the_live_database_and_nothing_acknowledged_is_lost(tmp_path):
    db = tmp_path / "server.duckdb"
    env = {"WHATSAPP_APP_SECRET": WA_SECRET, "WHATSAPP_PHONE_NUMBER_ID": "PNID"}
    acknowledged = []
    with live_server(tmp_path, env=env) as base:
        for i in range(40):
            body = body_of(wa_webhook([wa_message("62812000%05d" % i, f"pesan {i}", mid=f"wamid.LOCK{i}")]))
            r = requests.post(base + "/webhooks/whatsapp", data=body, headers=meta_headers(WA_SECRET, body), timeout=10)
            if r.status_code == 200:
                acknowledged.append(f"wamid.LOCK{i}")
        # The demo command beside the live server: refused with a clear
        # message, writing nothing.
        demo_run = subprocess.run([sys.executable, "-m", "maxchat_data", "--db", str(db), "demo", "--chats", "50"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert demo_run.returncode == 2, demo_run.stdout + demo_run.stderr
        assert "in use by another process" in demo_run.stderr and "Traceback" not in demo_run.stderr
        # A raw DuckDB writer is refused by the lock too (the lock is the
        # process's, and it must still be held after the server started).
        raw = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(db)!r}).execute('CHECKPOINT')"],
                             capture_output=True, text=True, timeout=60)
        assert raw.returncode != 0 and "lock" in raw.stderr.lower()
        assert requests.get(base + "/healthz", timeout=5).ok
    assert len(acknowledged) == 40
    s = Store(db, tmp_path / "media")
    try:
        stored = {pmid for (pmid,) in s.all("SELECT provider_message_id FROM messages WHERE direction = 'in'")}
        assert set(acknowledged) <= stored
        assert s.one("SELECT count(*) FROM chats")[0] == 40  # no demo chats crept in
    finally:
        s.close()


def test_opening_a_locked_file_says_so_in_a_sentence(tmp_path):
    db = tmp_path / "x.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(DatabaseInUse, match="in use by another process.*MAXCHAT_DB"):
            Store(db, tmp_path / "media")
    finally:
        holder.kill()
        holder.wait()


def _no_env(monkeypatch):
    for name in ("MAXCHAT_DEMO", "MAXCHAT_ADMIN_PASSWORD", "MAXCHAT_ADMIN_USER"):
        monkeypatch.delenv(name, raising=False)


def test_demo_mode_is_off_without_configuration(monkeypatch):
    _no_env(monkeypatch)
    monkeypatch.setenv("MAXCHAT_SECRETS", "/nonexistent")
    config._secrets.cache_clear()
    assert runtime.demo_mode() is False


def test_an_empty_database_gets_a_random_admin_password_shown_once(tmp_path, monkeypatch, capsys):
    point_runtime_at(tmp_path / "fresh.duckdb", monkeypatch)
    _no_env(monkeypatch)
    try:
        s = runtime.store()
        printed = capsys.readouterr().err
        assert "shown only this once" in printed
        password = printed.split("with the password ")[1].split("'")[1]
        assert len(password) >= 12
        assert accounts.authenticate(s, "admin", demo.DEMO_ADMIN_PASSWORD) is None
        assert accounts.authenticate(s, "admin", password)["role"] == "admin"
        assert [a["username"] for a in accounts.list_agents(s)] == ["admin"]  # no demo agents
        assert s.one("SELECT count(*) FROM chats")[0] == 0
        runtime.close()
        runtime.store()  # a second start on the same file: nothing printed again
        assert "password" not in capsys.readouterr().err
    finally:
        runtime.close()


@pytest.mark.slow
def test_a_demo_database_is_refused_outside_demo_mode_until_its_known_passwords_are_changed(tmp_path, monkeypatch):
    db = tmp_path / "was-demo.duckdb"
    point_runtime_at(db, monkeypatch, demo=True)
    monkeypatch.delenv("MAXCHAT_ADMIN_PASSWORD", raising=False)
    runtime.store()
    runtime.close()
    monkeypatch.setenv("MAXCHAT_DEMO", "0")
    with pytest.raises(runtime.UnsafeStart, match="admin.*budi.*set-password"):
        runtime.store()
    # The operator's way out: new passwords from the command line (read from stdin, never argv).
    for username in ("admin", "sari", "budi", "maria", "dewi", "lina"):
        done = subprocess.run([sys.executable, "-m", "maxchat_data", "--db", str(db), "set-password", username],
                              cwd=ROOT, input="a-long-new-secret\n", capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    try:
        s = runtime.store()
        assert accounts.authenticate(s, "budi", demo.DEMO_PASSWORD) is None
        assert accounts.authenticate(s, "budi", "a-long-new-secret") is not None
    finally:
        runtime.close()


def test_the_real_server_refuses_to_start_on_demo_passwords(tmp_path):
    s = Store(tmp_path / "server.duckdb", tmp_path / "media")
    accounts.bootstrap_admin(s, "admin", demo.DEMO_ADMIN_PASSWORD)
    demo.generate(s, 3)
    s.close()
    with pytest.raises(RuntimeError, match="server exited"):
        with live_server(tmp_path, env={"MAXCHAT_ADMIN_PASSWORD": ""}, timeout=30):
            pass
    log = (tmp_path / "server.log").read_text()
    assert "Maxchat Inbox cannot start:" in log and "demo passwords" in log
    assert "Traceback" not in log, log


# ---- a damaged database file (issue 17, 7a) ------------------------------------------------
def _damaged_files(tmp_path) -> dict:
    """A real Maxchat database cut in half (a copy that stopped half way),
    and 300 KB of random bytes where the database should be."""
    import os
    real = tmp_path / "real.duckdb"
    s = Store(real, tmp_path / "media")
    accounts.bootstrap_admin(s, "admin", "admin-pass-1")
    demo.generate(s, 200)
    s.close()
    data = real.read_bytes()
    files = {"truncated": data[: len(data) // 2], "random": os.urandom(300_000)}
    out = {}
    for name, content in files.items():
        (tmp_path / name).mkdir()
        path = tmp_path / name / "server.duckdb"
        path.write_bytes(content)
        out[name] = path
    return out


DAMAGED = r"The file .*server\.duckdb is not a Maxchat database or is damaged .*Restore .* backup \(README, \"Back up\"\)"


def test_opening_a_damaged_file_says_what_is_wrong_and_how_to_restore_and_changes_nothing(tmp_path):
    from maxchat_data.store import DamagedDatabase
    for name, path in _damaged_files(tmp_path).items():
        before = path.read_bytes()
        with pytest.raises(DamagedDatabase, match=DAMAGED):
            Store(path, tmp_path / "media")
        assert path.read_bytes() == before, name
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.close()
    with pytest.raises(DamagedDatabase, match="tables of another program \\(invoices\\)"):
        Store(other, tmp_path / "media")
    assert [t for (t,) in duckdb.connect(str(other)).execute("SHOW TABLES").fetchall()] == ["invoices"]


@pytest.mark.slow
@pytest.mark.parametrize("command", [["migrate"], ["export", "--parquet", "out"], ["set-password", "admin"]])
def test_the_commands_on_a_damaged_file_say_so_without_a_traceback(tmp_path, command):
    for name, path in _damaged_files(tmp_path).items():
        run = subprocess.run([sys.executable, "-m", "maxchat_data", "--db", str(path), *command], cwd=ROOT,
                             input="new-password-1\n", capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, (name, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr, (name, run.stderr)
        assert "is not a Maxchat database or is damaged" in run.stderr and '"Back up"' in run.stderr, name


def test_the_real_server_on_a_damaged_file_exits_with_the_sentence_and_no_traceback(tmp_path):
    path = _damaged_files(tmp_path)["random"]
    with pytest.raises(RuntimeError, match="server exited"):
        with live_server(path.parent, timeout=60):
            pass
    log = (path.parent / "server.log").read_text()
    assert "Maxchat Inbox cannot start: The file" in log and "is not a Maxchat database or is damaged" in log
    assert "Traceback" not in log, log
