"""End to end on the real server (``streamlit run app.py``) with every
channel's API base pointed at the fakes. Assertions are made on what the
fakes received and, after the server stopped, on the database file itself."""
from __future__ import annotations

import time

import pytest
import requests

from maxchat_data import actions, system
from maxchat_data.store import Store
from tests.conftest import customer_writes
from tests.fakes import FakeMessenger, FakeTelegram, FakeWhatsApp
from tests.fakes.helpers import (MS_SECRET, PNG, PNID, TG_SECRET, TG_TOKEN, WA_SECRET, body_of, env_for,
                                 meta_headers, ms_event, ms_webhook, tg_message, tg_update, wa_message, wa_status,
                                 wa_webhook)
from tests.live_server import live_server

@pytest.fixture
def fakes():
    wa, ms, tg = FakeWhatsApp(phone_number_id=PNID), FakeMessenger(), FakeTelegram(token=TG_TOKEN)
    yield wa, ms, tg
    for f in (wa, ms, tg):
        f.close()


def _db(tmp_path):
    return Store(tmp_path / "server.duckdb", tmp_path / "media")


def test_server_sends_queued_replies_and_stores_signed_webhooks(tmp_path, fakes):
    wa, ms, tg = fakes
    # Before the server starts: three chats, a reply on each, and an image on
    # WhatsApp, all pending in the outbox (as if the last process stopped there).
    s = _db(tmp_path)
    agent = system.create_account(s, "budi", "Budi", "budi-pass-1", "agent")
    chats = {ch: customer_writes(s, user=u, channel=ch, pmid=f"seed-{ch}").chat_id
             for ch, u in (("whatsapp", "6281200000001"), ("messenger", "PSID1"), ("telegram", "5550001"))}
    queued = {ch: actions.reply(s, chat, agent, f"hello {ch}") for ch, chat in chats.items()}
    image = actions.send_attachment(s, chats["whatsapp"], agent, "p.png", PNG, caption="cap")
    s.close()

    wa.add_media("INMEDIA", PNG, "image/png")
    with live_server(tmp_path, env=env_for(wa, ms, tg)) as base:
        # outbound: each fake gets its provider's call
        sends = wa.wait_for("messages", 2)
        assert sorted(c.json["type"] for c in sends) == ["image", "text"]
        text_call = next(c for c in sends if c.json["type"] == "text")
        assert text_call.json["text"] == {"body": "hello whatsapp"} and text_call.json["to"] == "6281200000001"
        assert wa.calls("media")[0].files["file"][2] == PNG
        assert ms.wait_for("messages")[0].json["message"] == {"text": "hello messenger"}
        assert tg.wait_for("sendMessage")[0].json == {"chat_id": "5550001", "text": "hello telegram"}
        wamid = text_call.reply.body["messages"][0]["id"]

        # inbound: signed webhooks on the app's own port
        payload = wa_webhook([wa_message("6281299999999", "Halo dari WA", mid="wamid.E2E1"),
                              wa_message("6281299999999", kind="image", mid="wamid.E2E2", id="INMEDIA",
                                         mime_type="image/png", caption="foto")], names={"6281299999999": "Sinta"})
        body = body_of(payload)
        r = requests.post(base + "/webhooks/whatsapp", data=body, headers=meta_headers(WA_SECRET, body), timeout=10)
        assert r.status_code == 200
        again = requests.post(base + "/webhooks/whatsapp", data=body, headers=meta_headers(WA_SECRET, body), timeout=10)
        assert again.status_code == 200  # a duplicate delivery: acknowledged, stored once
        st = body_of(wa_webhook(statuses=[wa_status(wamid, "delivered")]))
        assert requests.post(base + "/webhooks/whatsapp", data=st, headers=meta_headers(WA_SECRET, st), timeout=10).ok

        mbody = body_of(ms_webhook([ms_event("PSID-E2E", text="Halo dari Messenger", mid="m_E2E")]))
        assert requests.post(base + "/webhooks/messenger", data=mbody, headers=meta_headers(MS_SECRET, mbody), timeout=10).ok
        r = requests.post(base + "/webhooks/telegram", json=tg_update(tg_message(424242, "Halo dari Telegram", message_id=77)),
                          headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}, timeout=10)
        assert r.status_code == 200

        # bad input over real HTTP: refused, and the server keeps serving
        forged = body_of(wa_webhook([wa_message("6280000000000", "forged", mid="wamid.FORGED")]))
        assert requests.post(base + "/webhooks/whatsapp", data=forged, headers=meta_headers("wrong", forged), timeout=10).status_code == 401
        assert requests.post(base + "/webhooks/whatsapp", data=b"{oops", headers=meta_headers(WA_SECRET, b"{oops"), timeout=10).status_code == 400
        assert requests.post(base + "/webhooks/telegram", json=tg_update(tg_message(1, "no secret")), timeout=10).status_code in (401, 403)
        assert requests.get(base + "/healthz", timeout=5).ok

        # the media worker fetches the inbound image after the webhook was answered
        wa.wait_for("INMEDIA", 2)
        time.sleep(0.5)  # its commit lands before the server stops: shutdown joins the fetcher

    s = _db(tmp_path)
    try:
        status = dict(s.all("SELECT id, status FROM messages WHERE id IN (SELECT unnest(?))", [list(queued.values()) + [image]]))
        assert status == {queued["whatsapp"]: "delivered", queued["messenger"]: "sent", queued["telegram"]: "sent", image: "sent"}
        assert s.one("SELECT count(*) FROM outbox")[0] == 0
        rows = {r["provider_message_id"]: r for r in s.dicts(
            "SELECT m.provider_message_id, m.body, m.caption, m.kind, c.contact_name, c.channel, f.mime, f.size"
            " FROM messages m JOIN chats c ON c.id = m.chat_id LEFT JOIN attachments f ON f.id = m.attachment_id"
            " WHERE m.direction = 'in' AND m.provider_message_id NOT LIKE 'seed-%'")}
        assert set(rows) == {"wamid.E2E1", "wamid.E2E2", "m_E2E", "424242:77"}  # no duplicate, nothing forged
        assert rows["wamid.E2E1"]["body"] == "Halo dari WA" and rows["wamid.E2E1"]["contact_name"] == "Sinta"
        assert (rows["wamid.E2E2"]["mime"], rows["wamid.E2E2"]["size"], rows["wamid.E2E2"]["caption"]) == ("image/png", len(PNG), "foto")
        assert rows["m_E2E"]["channel"] == "messenger" and rows["424242:77"]["body"] == "Halo dari Telegram"
    finally:
        s.close()


def test_telegram_long_polling_across_a_server_restart(tmp_path, fakes):
    tg = fakes[2]
    env = env_for(tg=tg, telegram_webhook=False)
    first = [tg.push(tg_message(9000 + i, f"poll {i}", message_id=i + 1)) for i in range(3)]
    with live_server(tmp_path, env=env):
        deadline = time.monotonic() + 20
        while first[-1] + 1 not in tg.offsets and time.monotonic() < deadline:
            time.sleep(0.05)  # the next getUpdates acknowledges the batch: it was committed
        assert first[-1] + 1 in tg.offsets
    later = [tg.push(tg_message(9100 + i, f"after restart {i}", message_id=i + 1)) for i in range(2)]
    with live_server(tmp_path, env=env):
        deadline = time.monotonic() + 20
        while later[-1] + 1 not in tg.offsets and time.monotonic() < deadline:
            time.sleep(0.05)
        assert later[-1] + 1 in tg.offsets
    s = _db(tmp_path)
    try:
        bodies = sorted(b for (b,) in s.all("SELECT body FROM messages WHERE channel = 'telegram' AND direction = 'in'"))
        offset = s.one("SELECT value FROM settings WHERE key = 'telegram.offset'")[0]
    finally:
        s.close()
    assert bodies == ["after restart 0", "after restart 1", "poll 0", "poll 1", "poll 2"]
    assert offset == str(later[-1] + 1)
    # the restarted server resumed from the saved offset: the first batch was never handed out again
    assert all(tg.delivered.count(u) == 1 for u in first)


def _server_pid(base: str) -> int:
    """The pid of the server this test started (found by its unique port)."""
    import subprocess
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(["pgrep", "-f", "--", f"--server.port {port} "], capture_output=True, text=True).stdout.split()
    assert len(out) == 1, out
    return int(out[0])


def test_acknowledged_webhooks_survive_a_kill_9(tmp_path):
    import os
    import signal
    from concurrent.futures import ThreadPoolExecutor

    env = {"WHATSAPP_APP_SECRET": WA_SECRET, "WHATSAPP_PHONE_NUMBER_ID": PNID, "MAXCHAT_SECRETS": "/nonexistent"}
    with live_server(tmp_path, env=env) as base:
        def send(i):
            body = body_of(wa_webhook([wa_message(f"62812000{i:04d}", f"pesan {i}", mid=f"wamid.K{i}")]))
            return requests.post(base + "/webhooks/whatsapp", data=body, headers=meta_headers(WA_SECRET, body),
                                 timeout=10).status_code
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(send, range(40)))
        assert codes == [200] * 40
        os.kill(_server_pid(base), signal.SIGKILL)  # no shutdown, no checkpoint
    s = _db(tmp_path)
    try:
        stored = {p for (p,) in s.all("SELECT provider_message_id FROM messages WHERE direction = 'in'")}
    finally:
        s.close()
    assert stored == {f"wamid.K{i}" for i in range(40)}
