"""Outbound delivery, inbound media, profiles and Telegram polling,
in-process against the fake provider servers (real HTTP on 127.0.0.1)."""
from __future__ import annotations

import time

import pytest

from maxchat_data import actions, config, i18n, outbox, settings, system
from maxchat_data.channels import channel_status, clients, in_sandbox, messenger, telegram, whatsapp
from maxchat_data.ingest import store_parsed
from maxchat_data.retry import RetryPolicy
from server.fetcher import Fetcher
from server.delivery import DeliveryWorker
from maxchat_data.store import Store
from conftest import wait_until
from server.telegram_poll import OFFSET_KEY, Poller
from tests.conftest import QUICK_DELIVERY, QUICK_FETCH, customer_writes
from tests.fakes import (FakeMessenger, FakeTelegram, FakeWhatsApp, blocked, error_131047, graph_error,
                         rate_limited, server_error, too_many)
from tests.fakes.helpers import (BROKEN_GIF, JPEG, PDF, PNG, PNID, TG_TOKEN, env_for, ms_event, ms_webhook, tg_message,
                                 tg_update, wa_message, wa_webhook)

pytestmark = pytest.mark.both_backends


@pytest.fixture
def fakes(monkeypatch):
    wa, ms, tg = FakeWhatsApp(phone_number_id=PNID), FakeMessenger(), FakeTelegram(token=TG_TOKEN)
    for k, v in env_for(wa, ms, tg).items():
        monkeypatch.setenv(k, v)
    config._secrets.cache_clear()
    yield wa, ms, tg
    for f in (wa, ms, tg):
        f.close()


@pytest.fixture
def worker(store, fakes):
    w = DeliveryWorker(store, clients(), poll=0.05, policy=QUICK_DELIVERY).start()
    yield w
    w.stop()


USERS = {"whatsapp": "6281200000001", "messenger": "PSID1", "telegram": "5550001"}


def chat_on(store, channel):
    return customer_writes(store, user=USERS[channel], channel=channel, pmid=f"{channel}-in-{time.monotonic_ns()}").chat_id


def message(store, message_id):
    """The message's status and failure reason as an agent reads it."""
    row = store.dicts("SELECT status, error, provider_message_id FROM messages WHERE id = ?", [message_id])[0]
    return {**row, "error": i18n.shown(row["error"])}


def settled(store, message_id, timeout=10):
    assert wait_until(lambda: message(store, message_id)["status"] in ("sent", "failed"), timeout), message(store, message_id)
    return message(store, message_id)


# ---- text replies: the right API call with the right body -----------------------------------
def test_whatsapp_reply_is_sent_as_cloud_api_text(store, team, fakes, worker):
    wa = fakes[0]
    mid = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "Halo kak :smile:")
    assert settled(store, mid) == {"status": "sent", "error": None, "provider_message_id": "wamid.OUT1"}
    (call,) = wa.calls("messages")
    assert call.path == f"/{PNID}/messages" and call.headers["authorization"] == "Bearer wa-token"
    assert call.json == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": USERS["whatsapp"],
                         "type": "text", "text": {"body": "Halo kak 😊"}}
    assert outbox.pending_count(store) == 0


def test_messenger_reply_is_sent_to_me_messages(store, team, fakes, worker):
    ms = fakes[1]
    mid = actions.reply(store, chat_on(store, "messenger"), team["budi"], "Hi there")
    assert settled(store, mid)["provider_message_id"] == "m_OUT1"
    (call,) = ms.calls("messages")
    assert call.path == "/me/messages" and call.query["access_token"] == "page-token"
    assert call.json == {"recipient": {"id": "PSID1"}, "messaging_type": "RESPONSE", "message": {"text": "Hi there"}}


def test_telegram_reply_is_send_message(store, team, fakes, worker):
    tg = fakes[2]
    mid = actions.reply(store, chat_on(store, "telegram"), team["budi"], "Siap")
    assert settled(store, mid)["provider_message_id"] == "5550001:1"
    (call,) = tg.sent("sendMessage")
    assert call.path == f"/bot{TG_TOKEN}/sendMessage" and call.json == {"chat_id": "5550001", "text": "Siap"}


def test_worker_wakes_promptly_on_a_new_message(store, team, fakes, worker):
    chat = chat_on(store, "telegram")
    time.sleep(0.3)  # idle worker
    start = time.monotonic()
    mid = actions.reply(store, chat, team["budi"], "cepat")
    settled(store, mid)
    assert time.monotonic() - start < 1.5  # polled, not waiting for a long timer


# ---- media out ------------------------------------------------------------------------------
def test_whatsapp_image_is_uploaded_first_then_sent_by_id(store, team, fakes, worker):
    wa = fakes[0]
    mid = actions.send_attachment(store, chat_on(store, "whatsapp"), team["budi"], "photo.png", PNG, caption="Ini fotonya")
    assert settled(store, mid)["status"] == "sent"
    (upload,) = wa.calls("media")
    assert upload.path == f"/{PNID}/media" and upload.form == {"messaging_product": "whatsapp", "type": "image/png"}
    assert upload.files["file"] == ("photo.png", "image/png", PNG)
    media_id = [k for k in wa.media if k.startswith("MEDIA")][0]
    body = wa.sent()[0]
    assert body["type"] == "image" and body["image"] == {"id": media_id, "caption": "Ini fotonya"}
    assert wa.requests.index(upload) < wa.requests.index(wa.calls("messages")[0])


def test_whatsapp_document_carries_its_filename(store, team, fakes, worker):
    wa = fakes[0]
    mid = actions.send_attachment(store, chat_on(store, "whatsapp"), team["budi"], "invoice.pdf", PDF)
    assert settled(store, mid)["status"] == "sent"
    assert wa.sent()[0]["document"]["filename"] == "invoice.pdf"


def test_messenger_attachment_is_multipart_filedata_and_caption_follows(store, team, fakes, worker):
    ms = fakes[1]
    mid = actions.send_attachment(store, chat_on(store, "messenger"), team["budi"], "a.pdf", PDF, caption="the file")
    assert settled(store, mid)["status"] == "sent"
    first, second = ms.calls("messages")
    assert first.files["filedata"] == ("a.pdf", "application/pdf", PDF)
    import json
    assert json.loads(first.form["message"]) == {"attachment": {"type": "file", "payload": {"is_reusable": False}}}
    assert json.loads(first.form["recipient"]) == {"id": "PSID1"}
    assert second.json["message"] == {"text": "the file"}


def test_telegram_photo_is_send_photo_with_caption(store, team, fakes, worker):
    tg = fakes[2]
    mid = actions.send_attachment(store, chat_on(store, "telegram"), team["budi"], "p.png", PNG, caption="lihat")
    assert settled(store, mid)["status"] == "sent"
    (call,) = tg.sent("sendPhoto")
    assert call.form == {"chat_id": "5550001", "caption": "lihat"} and call.files["photo"][2] == PNG


# ---- templates ------------------------------------------------------------------------------
def _accepted_template(store, channel, body="Halo {{1}}, pesanan {{2}} dikirim."):
    tid = system.create_template(store, channel=channel, name="order_shipped", language="id",
                                 category="UTILITY", body=body, initiate=True)
    system.review_template(store, tid, "Accepted")
    return tid


def test_whatsapp_template_with_parameters(store, team, fakes, worker):
    wa = fakes[0]
    mid = actions.send_template(store, chat_on(store, "whatsapp"), team["budi"], _accepted_template(store, "whatsapp"),
                                ["Rina", "INV-7"])
    assert settled(store, mid)["status"] == "sent"
    assert wa.sent()[0] == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": USERS["whatsapp"],
                            "type": "template", "template": {
                                "name": "order_shipped", "language": {"code": "id"},
                                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Rina"},
                                                                               {"type": "text", "text": "INV-7"}]}]}}


def test_telegram_template_goes_as_rendered_text(store, team, fakes, worker):
    tg = fakes[2]
    mid = actions.send_template(store, chat_on(store, "telegram"), team["budi"], _accepted_template(store, "telegram"),
                                ["Budi", "A1"])
    assert settled(store, mid)["status"] == "sent"
    assert tg.sent()[0].json["text"] == "Halo Budi, pesanan A1 dikirim."


# ---- failures, retries ----------------------------------------------------------------------
def test_429_with_retry_after_then_success(store, team, fakes, worker):
    wa = fakes[0]
    wa.script("messages", rate_limited(retry_after=1))
    mid = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "coba")
    assert settled(store, mid)["status"] == "sent"
    first, second = wa.calls("messages")
    assert second.at - first.at >= 0.9  # Retry-After honoured, not hammered
    assert second.json == first.json


def test_telegram_429_retry_after_in_body(store, team, fakes, worker):
    tg = fakes[2]
    tg.script("sendMessage", too_many(retry_after=1))
    mid = actions.reply(store, chat_on(store, "telegram"), team["budi"], "x")
    assert settled(store, mid)["status"] == "sent"
    first, second = tg.sent()
    assert second.at - first.at >= 0.9


def test_500_then_success_and_attempts_counted(store, team, fakes, worker):
    ms = fakes[1]
    ms.script("messages", server_error(), server_error())
    mid = actions.reply(store, chat_on(store, "messenger"), team["budi"], "x")
    assert settled(store, mid)["status"] == "sent"
    assert len(ms.calls("messages")) == 3


def test_131047_fails_with_the_window_reason_and_retry_requeues(store, team, fakes, worker):
    wa = fakes[0]
    wa.script("messages", error_131047())
    mid = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "late")
    assert settled(store, mid) == {"status": "failed", "error": "24-hour window closed — send a template",
                                   "provider_message_id": None}
    assert len(wa.calls("messages")) == 1  # a permanent error is not retried by itself
    actions.retry(store, mid, team["budi"])
    assert settled(store, mid)["status"] == "sent"
    assert len(wa.calls("messages")) == 2


def test_messenger_window_error_and_telegram_blocked(store, team, fakes, worker):
    ms, tg = fakes[1], fakes[2]
    ms.script("messages", graph_error(400, 10, "(#10) This message is sent outside of allowed window.", subcode=2018278))
    tg.script("sendMessage", blocked())
    m1 = actions.reply(store, chat_on(store, "messenger"), team["budi"], "x")
    m2 = actions.reply(store, chat_on(store, "telegram"), team["budi"], "y")
    assert settled(store, m1)["error"] == "24-hour window closed — send a template"
    assert settled(store, m2)["error"] == "The customer blocked the bot"


def test_other_provider_errors_are_explained(store, team, fakes, worker):
    wa = fakes[0]
    wa.script("messages", graph_error(400, 132001, "(#132001) Template name does not exist in the translation"))
    mid = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "x")
    assert "not approved" in settled(store, mid)["error"]


def test_not_connected_channel_fails_with_how_to_fix(store, team, fakes, monkeypatch):
    monkeypatch.delenv("WHATSAPP_TOKEN")
    w = DeliveryWorker(store, clients(), poll=0.05).start()
    try:
        mid = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "x")
        error = settled(store, mid)["error"]
    finally:
        w.stop()
    assert error == "WhatsApp is not connected: set WHATSAPP_TOKEN"
    assert fakes[0].calls("messages") == []
    status = {c["channel"]: c for c in channel_status()}
    assert status["whatsapp"]["connected"] is False and "WHATSAPP_TOKEN" in status["whatsapp"]["detail"]
    assert status["telegram"]["connected"] is True
    assert not any(c["sandbox"] for c in status.values())
    # In demo mode the sandbox delivers what is not connected: said so, with what connects it for real.
    demo = {c["channel"]: c for c in channel_status(sandbox=True)}
    assert demo["whatsapp"]["sandbox"] is True and demo["whatsapp"]["connected"] is False
    assert demo["whatsapp"]["detail"].startswith("Demo mode: the built-in sandbox delivers")
    assert "set WHATSAPP_TOKEN" in demo["whatsapp"]["detail"] and "Not connected" not in demo["whatsapp"]["detail"]
    assert demo["telegram"]["sandbox"] is False  # connected: the real channel
    assert in_sandbox("whatsapp", demo=True) and not in_sandbox("whatsapp", demo=False)
    assert not in_sandbox("telegram", demo=True)


def test_network_error_is_retried_until_the_limit(store, team, fakes):
    dead = telegram.Client(base="http://127.0.0.1:9", token=TG_TOKEN)
    w = DeliveryWorker(store, {"telegram": dead}, poll=0.05, policy=RetryPolicy(max_attempts=2, base=0.1, floor=0.1)).start()
    try:
        mid = actions.reply(store, chat_on(store, "telegram"), team["budi"], "x")
        error = settled(store, mid, timeout=15)["error"]
    finally:
        w.stop()
    assert error.startswith("Could not send after 2 attempts")


def test_pending_outbox_is_sent_after_a_restart(tmp_path, team, fakes):
    # team is on the conftest store; use a store of our own for the restart
    path = tmp_path / "restart.duckdb"
    s1 = Store(path, tmp_path / "media")
    agent = system.create_account(s1, "rina", "Rina", "rina-pass-1", "agent")
    mid = actions.reply(s1, chat_on(s1, "telegram"), agent, "after restart")
    s1.close()  # the process stops before the worker ran
    s2 = Store(path, tmp_path / "media")
    w = DeliveryWorker(s2, clients(), poll=0.05).start()
    try:
        assert settled(s2, mid)["status"] == "sent"
    finally:
        w.stop()
        s2.close()
    assert [c.json["text"] for c in fakes[2].sent()] == ["after restart"]


# ---- media in ---------------------------------------------------------------------------------
def attached(store, pmid):
    row = store.dicts("SELECT m.kind, m.error, f.mime, f.size, f.path, f.filename FROM messages m"
                      " LEFT JOIN attachments f ON f.id = m.attachment_id WHERE m.provider_message_id = ?", [pmid])[0]
    return {**row, "error": i18n.shown(row["error"])}


def test_inbound_media_is_downloaded_by_the_fetcher_for_all_channels(store, fakes):
    wa, ms, tg = fakes
    wa.add_media("WAMEDIA1", PNG, "image/png")
    url = ms.file_url("doc.pdf", PDF, "application/pdf")
    tg.add_file("TGBIG", JPEG, "photos/file_7.jpg")
    store_parsed(store, whatsapp.parse(wa_webhook([wa_message(kind="image", mid="wamid.I", id="WAMEDIA1",
                                                              mime_type="image/png", caption="c")]), PNID))
    store_parsed(store, messenger.parse(ms_webhook([ms_event("PSIDX", mid="m_F", attachments=[
        {"type": "file", "payload": {"url": url}}])])))
    store_parsed(store, telegram.parse(tg_update(tg_message(99, None, message_id=5, photo=[
        {"file_id": "TGSMALL"}, {"file_id": "TGBIG"}]))))
    assert attached(store, "wamid.I")["path"] is None  # stored first, file later
    fetcher = Fetcher(store, clients())
    fetcher.run_once()
    for pmid, mime, data in (("wamid.I", "image/png", PNG), ("m_F", "application/pdf", PDF), ("99:5", "image/jpeg", JPEG)):
        a = attached(store, pmid)
        assert (a["mime"], a["size"]) == (mime, len(data)), pmid
        assert (store.media_dir / a["path"]).read_bytes() == data
    assert store.one("SELECT count(*) FROM pending_media")[0] == 0
    # WhatsApp needed the token for both the lookup and the download
    assert all(r.headers.get("authorization") == "Bearer wa-token" for r in wa.requests)


def test_inbound_media_with_a_bad_type_is_refused_by_its_bytes(store, fakes):
    wa = fakes[0]
    wa.add_media("EXE", b"MZ\x90\x00" + b"\x00\x01" * 50, "image/jpeg")  # claims jpeg, is a binary
    store_parsed(store, whatsapp.parse(wa_webhook([wa_message(kind="image", mid="wamid.X", id="EXE", mime_type="image/jpeg")]), PNID))
    Fetcher(store, clients()).run_once()
    a = attached(store, "wamid.X")
    assert a["path"] is None and "not a document, image or video" in a["error"]
    assert store.one("SELECT count(*) FROM pending_media")[0] == 0


def test_inbound_image_that_does_not_decode_is_stored_as_a_document(store, fakes):
    wa, ms = fakes[0], fakes[1]
    wa.add_media("BROKEN", BROKEN_GIF, "image/gif")
    url = ms.file_url("photo.jpg", JPEG[:30], "image/jpeg")  # a photo cut short
    store_parsed(store, whatsapp.parse(wa_webhook([wa_message(kind="image", mid="wamid.B", id="BROKEN",
                                                              mime_type="image/gif")]), PNID))
    store_parsed(store, messenger.parse(ms_webhook([ms_event("PSIDB", mid="m_B", attachments=[
        {"type": "image", "payload": {"url": url}}])])))
    Fetcher(store, clients()).run_once()
    for pmid, data in (("wamid.B", BROKEN_GIF), ("m_B", JPEG[:30])):
        a = attached(store, pmid)
        assert (a["kind"], a["mime"], a["error"]) == ("document", "application/octet-stream", None), pmid
        assert (store.media_dir / a["path"]).read_bytes() == data  # nothing acknowledged is lost


def test_inbound_media_over_the_size_limit_is_not_downloaded(store, fakes, monkeypatch):
    from maxchat_data.channels import base
    monkeypatch.setattr(base, "MAX_MEDIA", 1000)
    tg = fakes[2]
    tg.add_file("BIG", PDF * 10, "documents/big.pdf")
    store_parsed(store, telegram.parse(tg_update(tg_message(7, None, message_id=1, document={"file_id": "BIG"}))))
    Fetcher(store, clients()).run_once()
    assert "larger than" in attached(store, "7:1")["error"]


def test_inbound_media_retried_after_a_server_error(store, fakes):
    wa = fakes[0]
    wa.add_media("M5", PNG, "image/png")
    wa.script("M5", server_error())
    store_parsed(store, whatsapp.parse(wa_webhook([wa_message(kind="image", mid="wamid.R", id="M5", mime_type="image/png")]), PNID))
    fetcher = Fetcher(store, clients(), policy=QUICK_FETCH)
    fetcher.run_once()
    assert attached(store, "wamid.R")["path"] is None
    assert store.one("SELECT attempts FROM pending_media")[0] == 1
    assert wait_until(lambda: (fetcher.run_once() or True) and attached(store, "wamid.R")["path"] is not None, 5, 0.2)


def test_messenger_profile_name_is_looked_up_in_the_background(store, fakes):
    ms = fakes[1]
    ms.profiles["PSID77"] = ("Maria", "Lopez")
    store_parsed(store, messenger.parse(ms_webhook([ms_event("PSID77", text="hola")])))
    assert store.one("SELECT contact_name FROM chats")[0] == "PSID77"
    Fetcher(store, clients()).run_once()
    assert store.one("SELECT contact_name, search_name FROM chats")[0] == "Maria Lopez"
    assert store.one("SELECT name FROM contacts")[0] == "Maria Lopez"
    # a second message does not look it up again
    store_parsed(store, messenger.parse(ms_webhook([ms_event("PSID77", text="again")])))
    Fetcher(store, clients()).run_once()
    assert len(ms.calls("PSID77")) == 1


def test_a_huge_profile_name_is_cut_to_one_line_of_100_characters(store, fakes):
    ms = fakes[1]
    ms.profiles["PSID88"] = ("Maria\n\n" + "x" * 100_000, "Lopez")
    store_parsed(store, messenger.parse(ms_webhook([ms_event("PSID88", text="hola")])))
    Fetcher(store, clients()).run_once()
    name = store.one("SELECT contact_name FROM chats")[0]
    assert store.one("SELECT name FROM contacts")[0] == name
    assert len(name) == 100 and name.startswith("Maria xxx") and name.endswith("…")


# ---- Telegram long polling --------------------------------------------------------------------
def test_polling_offsets_survive_a_restart_with_nothing_lost_or_repeated(tmp_path, fakes):
    tg = fakes[2]
    path = tmp_path / "poll.duckdb"
    ids = [tg.push(tg_message(100 + i, f"m{i}", message_id=i + 1)) for i in range(3)]
    s1 = Store(path, tmp_path / "media")
    assert Poller(s1, telegram.Client(), timeout=1).poll_once() == 3
    assert settings.get(s1, OFFSET_KEY) == str(ids[-1] + 1)
    s1.close()

    more = [tg.push(tg_message(200 + i, f"n{i}", message_id=i + 1)) for i in range(2)]
    s2 = Store(path, tmp_path / "media")
    p2 = Poller(s2, telegram.Client(), timeout=1)
    assert p2.poll_once() == 2
    assert p2.poll_once() == 0  # nothing left (held for the fake's short poll)
    bodies = sorted(b for (b,) in s2.all("SELECT body FROM messages WHERE direction = 'in'"))
    s2.close()
    assert bodies == ["m0", "m1", "m2", "n0", "n1"]
    assert tg.offsets[:3] == [None, ids[-1] + 1, more[-1] + 1]
    assert sorted(tg.delivered) == sorted(ids + more)  # each update handed out once


def test_polling_crash_before_the_offset_is_saved_reprocesses_without_duplicates(store, fakes, monkeypatch):
    tg = fakes[2]
    tg.push(tg_message(5, "once", message_id=1))
    poller = Poller(store, telegram.Client(), timeout=1)

    def crash(*a):
        raise RuntimeError("killed before saving the offset")
    monkeypatch.setattr(settings, "put", crash)
    with pytest.raises(RuntimeError):
        poller.poll_once()
    monkeypatch.undo()
    assert poller.poll_once() == 1  # the same update again (the offset was never acknowledged)
    assert store.one("SELECT count(*) FROM messages WHERE direction = 'in'")[0] == 1
    assert settings.get(store, OFFSET_KEY) is not None


def test_polling_thread_runs_and_skips_a_malformed_update(store, fakes):
    tg = fakes[2]
    with tg._cond:
        tg.updates.append({"update_id": 1, "message": {"text": "no chat"}})
    tg.push(tg_message(6, "good", message_id=1))
    poller = Poller(store, telegram.Client(), timeout=1).start()
    try:
        assert wait_until(lambda: store.one("SELECT count(*) FROM messages WHERE direction = 'in'")[0] == 1, 5)
        assert wait_until(lambda: settings.get(store, OFFSET_KEY) == "1001", 5)
    finally:
        poller.stop()


def test_polling_stores_edits_and_reactions_and_keeps_them_in_the_customers_chat(store, fakes):
    """Long polling used to keep only the messages of a batch: an edit or a
    reaction polled from Telegram was dropped (issue 17)."""
    tg = fakes[2]
    tg.push(tg_message(42, "Alamat: Jl. Mawar 1", message_id=10))
    tg.push(tg_message(43, "punya orang lain", message_id=10))
    poller = Poller(store, telegram.Client(), timeout=1)
    assert poller.poll_once() == 2
    with tg._cond:
        tg.updates += [
            {"update_id": 2001, "edited_message": {"message_id": 10, "chat": {"id": 42, "type": "private"},
                                                   "date": 1, "edit_date": 2, "text": "Alamat: Jl. Mawar 10"}},
            {"update_id": 2002, "message_reaction": {"chat": {"id": 42, "type": "private"}, "message_id": 10,
                                                     "user": {"id": 42}, "date": 3,
                                                     "new_reaction": [{"type": "emoji", "emoji": "👍"}]}},
            {"update_id": 2003, "message": {"text": "no chat"}}]
    poller.poll_once()
    assert store.one("SELECT body, reaction FROM messages WHERE provider_message_id = '42:10'") == (
        "Alamat: Jl. Mawar 10", "👍")
    assert settings.get(store, OFFSET_KEY) == "2004"


def test_polling_backs_off_on_429(store, fakes):
    tg = fakes[2]
    tg.script("getUpdates", too_many(1))
    tg.push(tg_message(8, "after limit", message_id=1))
    poller = Poller(store, telegram.Client(), timeout=1).start()
    try:
        assert wait_until(lambda: store.one("SELECT count(*) FROM messages WHERE direction = 'in'")[0] == 1, 5)
    finally:
        poller.stop()
    first, second = tg.calls("getUpdates")[:2]
    assert second.at - first.at >= 0.9


def test_messages_of_one_chat_keep_their_order_even_across_a_retry(store, team, fakes):
    tg = fakes[2]
    tg.script("sendMessage", too_many(retry_after=1))
    chat = chat_on(store, "telegram")
    ids = [actions.reply(store, chat, team["budi"], f"part {i}") for i in range(4)]
    w = DeliveryWorker(store, clients(), poll=0.05).start()  # all four are due at once
    try:
        for mid in ids:
            assert settled(store, mid)["status"] == "sent"
    finally:
        w.stop()
    texts = [c.json["text"] for c in tg.sent()]
    assert texts == ["part 0", "part 0", "part 1", "part 2", "part 3"]
    assert store.one("SELECT max(attempts) FROM outbox") == (None,)


def test_new_whatsapp_template_is_submitted_for_review_then_approved_by_webhook(store, fakes):
    wa = fakes[0]
    tid = system.create_template(store, channel="whatsapp", name="payment_due", language="id",
                                 category="UTILITY", body="Halo {{1}}, tagihan {{2}} jatuh tempo.")
    fetcher = Fetcher(store, clients())
    fetcher.run_once()
    ((waba, body),) = wa.templates
    assert waba == "WABA"
    assert body == {"name": "payment_due", "language": "id", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Halo {{1}}, tagihan {{2}} jatuh tempo.",
         "example": {"body_text": [["sample 1", "sample 2"]]}}]}
    provider_id = store.one("SELECT provider_template_id FROM templates WHERE id = ?", [tid])[0]
    assert provider_id and store.one("SELECT status FROM templates WHERE id = ?", [tid])[0] == "Pending"
    fetcher.run_once()
    assert len(wa.templates) == 1  # submitted once
    # Meta's verdict arrives on the webhook, matched by the id it gave
    from tests.fakes.helpers import wa_template_update
    store_parsed(store, whatsapp.parse(wa_template_update("APPROVED", "whatever", "id", provider_id), PNID))
    assert store.one("SELECT status FROM templates WHERE id = ?", [tid])[0] == "Accepted"


def test_template_refused_by_meta_is_rejected_with_the_reason(store, fakes):
    wa = fakes[0]
    wa.script("message_templates", graph_error(400, 100, "Invalid parameter: name already exists"))
    tid = system.create_template(store, channel="whatsapp", name="dup_name", language="en",
                                 category="MARKETING", body="Hi")
    Fetcher(store, clients()).run_once()
    status, reason = store.one("SELECT status, status_reason FROM templates WHERE id = ?", [tid])
    assert status == "Rejected" and "name already exists" in i18n.shown(reason)
