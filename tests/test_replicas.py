"""Two replicas of the real server on two ports, one PostgreSQL (issue 13):
what one receives shows on a page of the other, a reply is sent by exactly
one of them, and when one is killed nothing acknowledged is lost and the
other takes over Telegram polling."""
from __future__ import annotations

import concurrent.futures
import os
import signal
import time
import zlib
from pathlib import Path

import pytest
import requests

import pg_cluster
from fakes.helpers import WA_SECRET, body_of, env_for, meta_headers, tg_message, wa_message, wa_webhook
from fakes.meta import FakeWhatsApp
from fakes.telegram import FakeTelegram
from live_server import PROCESSES, live_server
from maxchat_data import accounts, actions, open_store, system

pytestmark = pytest.mark.skipif(not pg_cluster.available(), reason="needs PostgreSQL 15 (postgresql-15)")
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    root = tmp_path_factory.mktemp("replicas")
    url = pg_cluster.fresh_database()
    wa, tg = FakeWhatsApp(), FakeTelegram()
    # Telegram by long polling: both replicas run a poller, one polls.
    env = {**env_for(wa=wa, tg=tg, telegram_webhook=False), "MAXCHAT_DATABASE_URL": url,
           "MAXCHAT_MEDIA_DIR": str(root / "shared-media")}
    (root / "a").mkdir()
    (root / "b").mkdir()
    with live_server(root / "a", env) as a, live_server(root / "b", env) as b:
        db = open_store(url, root / "shared-media")  # the test's own look at the database
        try:
            yield {"a": a, "b": b, "url": url, "wa": wa, "tg": tg, "db": db, "root": root}
        finally:
            db.close()
    wa.close()
    tg.close()
    pg_cluster.drop_database(url)


def whatsapp(base: str, sender: str, text: str, mid: str, name: str = "Rina Kusuma") -> requests.Response:
    body = body_of(wa_webhook([wa_message(sender=sender, text=text, mid=mid)], names={sender: name}))
    return requests.post(base + "/webhooks/whatsapp", data=body, headers=meta_headers(WA_SECRET, body), timeout=10)


def stored(db, mid: str) -> bool:
    return db.one("SELECT count(*) FROM messages WHERE provider_message_id = ?", [mid])[0] == 1


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_a_message_received_by_one_replica_shows_on_a_page_of_the_other(replicas):
    sync_api = pytest.importorskip("playwright.sync_api")
    from test_browser_chat import login, settle, tab, item
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            login(page, replicas["a"], "admin", "admin-pass-1")
            tab(page, "Unassigned")
            # Warm: the first message makes the list and its live tick run.
            assert whatsapp(replicas["b"], "6281300000001", "Pertama", "wamid.REP1", "Dewi Lestari").ok
            sync_api.expect(item(page, "Dewi Lestari")).to_be_visible(timeout=10000)
            settle(page)
            started = time.monotonic()
            assert whatsapp(replicas["b"], "6281300000002", "Dari replika B", "wamid.REP2", "Eko Prasetyo").ok
            sync_api.expect(item(page, "Eko Prasetyo")).to_contain_text("Dari replika B", timeout=3000)
            print(f"replica B -> page on replica A: {time.monotonic() - started:.2f} s")
        finally:
            browser.close()


def test_replies_queued_across_replicas_are_each_sent_exactly_once(replicas):
    db, wa = replicas["db"], replicas["wa"]
    agent = system.create_account(db, "rep_agent", "Replica Agent", "rep-agent-pass-1", "supervisor")
    chats = []
    for i in range(50):  # customers write first: the 24-hour window is open
        mid = f"wamid.RQ{i}"
        assert whatsapp(replicas["a" if i % 2 else "b"], f"62814000{i:04d}", f"Tanya {i}", mid, f"Pelanggan {i}").ok
        chats.append(db.one("SELECT chat_id FROM messages WHERE provider_message_id = ?", [mid])[0])
    before = len(wa.sent())
    texts = [f"balasan {n}" for n in range(500)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: actions.reply(db, chats[n % 50], agent, texts[n]), range(500)))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        left = db.one("SELECT count(*) FROM messages WHERE body LIKE 'balasan %' AND status <> 'sent'")[0]
        if left == 0:
            break
        time.sleep(0.5)
    assert left == 0, f"{left} replies not sent"
    time.sleep(1)  # a second send of anything would have happened by now
    sent = [m["text"]["body"] for m in wa.sent()[before:]]
    assert sorted(sent) == sorted(texts)  # every reply once, none twice


def _telegram_leader(db) -> int:
    """The process id of the replica holding the Telegram polling lock."""
    row = db.one("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                 " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = ?",
                 [zlib.crc32(b"telegram-poll") & 0xFFFFFFFF])
    assert row, "no replica polls Telegram"
    return int(row[0].split("-", 1)[1])


def test_killing_a_replica_mid_burst_loses_nothing_acknowledged_and_the_other_takes_over_polling(replicas):
    db, tg = replicas["db"], replicas["tg"]
    tg.push(tg_message(chat_id=7000001, text="sebelum", first="Tono"))
    deadline = time.monotonic() + 20
    while not db.one("SELECT count(*) FROM messages WHERE body = 'sebelum'")[0] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert db.one("SELECT count(*) FROM messages WHERE body = 'sebelum'")[0] == 1
    leader_pid = _telegram_leader(db)
    by_pid = {proc.pid: base for base, proc in PROCESSES.items() if base in (replicas["a"], replicas["b"])}
    assert leader_pid in by_pid
    victim = by_pid[leader_pid]
    survivor = replicas["b"] if victim == replicas["a"] else replicas["a"]

    acknowledged: list[str] = []
    stop = time.monotonic() + 6

    def send(n: int) -> None:
        base = victim if n % 2 else survivor
        mid = f"wamid.KILL{n}"
        try:
            r = whatsapp(base, f"62815000{n % 40:04d}", f"burst {n}", mid)
        except requests.RequestException:
            return  # never acknowledged
        if r.status_code == 200:
            acknowledged.append(mid)

    def burst(start: int) -> None:
        n = start
        while time.monotonic() < stop:
            send(n)
            n += 4

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(burst, k) for k in range(4)]
        time.sleep(2.5)
        os.kill(PROCESSES[victim].pid, signal.SIGKILL)
        for w in workers:
            w.result()
    assert len(acknowledged) > 100
    missing = [m for m in acknowledged if not stored(db, m)]
    assert missing == []

    # The survivor takes over polling.
    tg.push(tg_message(chat_id=7000002, text="sesudah", first="Tini"))
    deadline = time.monotonic() + 30
    while not db.one("SELECT count(*) FROM messages WHERE body = 'sesudah'")[0] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert db.one("SELECT count(*) FROM messages WHERE body = 'sesudah'")[0] == 1
    assert _telegram_leader(db) == PROCESSES[survivor].pid
    assert requests.get(survivor + "/healthz", timeout=5).ok


def test_replicas_starting_together_on_an_empty_database_make_one_admin_and_agree_on_the_signing_key(tmp_path):
    from maxchat_data import settings
    from maxchat_data.login import tokens
    url = pg_cluster.fresh_database()
    stores = [open_store(url, tmp_path / "media") for _ in range(2)]
    try:
        for round_ in range(5):
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                made = list(pool.map(lambda s: accounts.bootstrap_admin(s, f"admin{round_}", "admin-pass-1"), stores))
            if round_ == 0:
                assert len([m for m in made if m]) == 1  # one made it, the other found it made
            else:
                assert made == [None, None]  # never a second admin
        assert stores[0].one("SELECT count(*) FROM agents")[0] == 1
        # Each computes a key for itself; both end with the stored one.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            keys = list(pool.map(lambda s: settings.keep_first(s, "race.key", os.urandom(8).hex()), stores))
        assert keys[0] == keys[1] == settings.get(stores[0], "race.key")
        tokens._keys.clear()
        assert tokens.secret_key(stores[0]) == tokens.secret_key(stores[1])
    finally:
        for s in stores:
            s.close()
        pg_cluster.drop_database(url)


def test_demo_data_on_postgresql_is_refused_with_the_way_to_get_it_there(tmp_path):
    from maxchat_data import demo
    from maxchat_data.errors import ValidationError
    url = pg_cluster.fresh_database()
    s = open_store(url, tmp_path / "media")
    try:
        with pytest.raises(ValidationError, match="migrate --to"):
            demo.generate(s, 10)
        assert s.one("SELECT (SELECT count(*) FROM chats) + (SELECT count(*) FROM settings)")[0] == 0
    finally:
        s.close()
        pg_cluster.drop_database(url)


def test_a_wrong_database_url_is_one_sentence_without_the_password(tmp_path):
    from maxchat_data.pg_store import DatabaseUnreachable
    with pytest.raises(DatabaseUnreachable) as refused:
        open_store("postgresql://maxchat:s3cret-pass@127.0.0.1:1/maxchat", tmp_path / "media")
    assert "Cannot reach the PostgreSQL database" in str(refused.value)
    assert "s3cret-pass" not in str(refused.value) and "\n" not in str(refused.value)


def test_a_broken_database_connection_is_made_again_and_the_write_goes_through(tmp_path):
    """PostgreSQL restarted or the network dropped the writer's connection:
    the next write reconnects instead of failing for good."""
    import psycopg
    url = pg_cluster.fresh_database()
    s = open_store(url, tmp_path / "media")
    try:
        first = system.create_account(s, "before", "Before", "before-pass-1")
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [s._writer_raw.info.backend_pid])
        second = system.create_account(s, "after", "After", "after-pass-1")
        assert second > first
        assert {r[0] for r in s.all("SELECT username FROM agents")} == {"before", "after"}
    finally:
        s.close()
        pg_cluster.drop_database(url)
