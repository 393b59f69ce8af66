"""The webhook routes in-process (Starlette TestClient on webhooks.routes())
with a temporary store: verification, parsing of every kind, statuses,
templates, and every kind of bad input."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from maxchat_data import config, i18n, system
from server import lifespan, webhooks
from server import runtime
from maxchat_data.store import utcnow
import pg_cluster  # the same module as conftest's: one cluster per run
from tests.fakes.helpers import (MS_SECRET, MS_VERIFY, PNID, TG_SECRET, WA_SECRET, WA_VERIFY, body_of, env_for,
                                 meta_headers, ms_event, ms_receipt, ms_webhook, tg_message, tg_update, wa_message,
                                 wa_status, wa_template_update, wa_webhook)

pytestmark = pytest.mark.both_backends


class _Dummy:
    url = "http://127.0.0.1:9"  # nothing listens: requests never leave the test


@pytest.fixture
def gw(tmp_path, monkeypatch, backend):
    env = env_for(_Dummy(), _Dummy(), _Dummy(), telegram_webhook=True)
    env.update(MAXCHAT_DB=str(tmp_path / "gw.duckdb"), MAXCHAT_MEDIA_DIR=str(tmp_path / "media"), MAXCHAT_DEMO="0")
    url = pg_cluster.fresh_database() if backend == "postgresql" else None
    if url:
        env["MAXCHAT_DATABASE_URL"] = url
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config._secrets.cache_clear()
    runtime.close()
    client = TestClient(Starlette(routes=webhooks.routes()))
    yield client, runtime.store()
    runtime.close()
    config._secrets.cache_clear()
    if url:
        pg_cluster.drop_database(url)


def count(store, sql="SELECT count(*) FROM messages WHERE direction = 'in'", params=None):
    return store.one(sql, params or [])[0]


def post_wa(client, payload, secret=WA_SECRET):
    body = body_of(payload)
    return client.post("/webhooks/whatsapp", content=body, headers=meta_headers(secret, body))


def post_ms(client, payload, secret=MS_SECRET):
    body = body_of(payload)
    return client.post("/webhooks/messenger", content=body, headers=meta_headers(secret, body))


def post_tg(client, payload, secret=TG_SECRET):
    return client.post("/webhooks/telegram", json=payload, headers={"X-Telegram-Bot-Api-Secret-Token": secret})


# ---- verification handshake -------------------------------------------------------
@pytest.mark.parametrize("path,token", [("/webhooks/whatsapp", WA_VERIFY), ("/webhooks/messenger", MS_VERIFY)])
def test_verify_handshake_echoes_challenge_only_for_the_right_token(gw, path, token):
    client, _ = gw
    ok = client.get(path, params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = client.get(path, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "x"})
    assert bad.status_code == 403 and "x" not in bad.text


def test_healthz(gw):
    client, _ = gw
    assert client.get("/healthz").json()["status"] == "ok"


# ---- inbound parsing ----------------------------------------------------------------
def test_whatsapp_text_creates_chat_with_profile_name_and_provider_time(gw):
    client, store = gw
    msg = wa_message("6281299990000", "Kak, stok ada? <b>bold</b>", mid="wamid.A1")
    msg["timestamp"] = "1700000000"
    r = post_wa(client, wa_webhook([msg], names={"6281299990000": "Désirée Ayu"}))
    assert r.status_code == 200
    chat = store.dicts("SELECT * FROM chats WHERE channel = 'whatsapp'")[0]
    assert chat["channel_user_id"] == "6281299990000" and chat["contact_name"] == "Désirée Ayu"
    m = store.dicts("SELECT * FROM messages WHERE provider_message_id = 'wamid.A1'")[0]
    assert m["body"] == "Kak, stok ada? <b>bold</b>" and m["kind"] == "text"  # stored as data, verbatim
    assert int(m["sent_at"].timestamp()) == 1700000000
    assert store.one("SELECT phone FROM contacts WHERE id = ?", [chat["contact_id"]])[0] == "+6281299990000"


def test_whatsapp_media_is_stored_first_and_queued_for_download(gw):
    client, store = gw
    msgs = [wa_message(kind="image", mid="wamid.IMG", id="MID-1", mime_type="image/jpeg", sha256="x", caption="foto"),
            wa_message(kind="document", mid="wamid.DOC", id="MID-2", mime_type="application/pdf", filename="inv.pdf"),
            wa_message(kind="video", mid="wamid.VID", id="MID-3", mime_type="video/mp4"),
            wa_message(kind="sticker", mid="wamid.STK", id="S1", mime_type="image/webp")]
    assert post_wa(client, wa_webhook(msgs)).status_code == 200
    rows = {r["provider_message_id"]: r for r in store.dicts("SELECT * FROM messages WHERE direction = 'in'")}
    assert rows["wamid.IMG"]["kind"] == "image" and rows["wamid.IMG"]["caption"] == "foto"
    assert rows["wamid.DOC"]["kind"] == "document" and rows["wamid.VID"]["kind"] == "video"
    assert rows["wamid.STK"]["kind"] == "sticker"  # a sticker is fetched like any file (issue 14)
    pending = dict(store.all("SELECT provider_message_id, ref FROM pending_media"))
    assert pending == {"wamid.IMG": "MID-1", "wamid.DOC": "MID-2", "wamid.VID": "MID-3", "wamid.STK": "S1"}
    assert store.one("SELECT filename FROM pending_media WHERE ref = 'MID-2'")[0] == "inv.pdf"


def test_messenger_text_attachment_echo_and_unknown(gw):
    client, store = gw
    events = [ms_event("PSID9", text="hello", mid="m_1"),
              ms_event("PSID9", text="look", mid="m_2", attachments=[{"type": "image", "payload": {"url": "http://x/cdn/a.jpg"}}]),
              ms_event("PSID9", mid="m_3", attachments=[{"type": "location", "payload": {"coordinates": {}}}]),
              ms_event("PSID9", text="our own send", mid="m_echo", echo=True)]
    assert post_ms(client, ms_webhook(events)).status_code == 200
    rows = {r["provider_message_id"]: r for r in store.dicts("SELECT * FROM messages WHERE direction = 'in'")}
    assert set(rows) == {"m_1", "m_2", "m_3"}  # the echo is skipped
    assert rows["m_2"]["kind"] == "image" and rows["m_2"]["caption"] == "look"
    assert rows["m_3"]["kind"] == "unsupported"
    assert store.all("SELECT ref FROM pending_media") == [("http://x/cdn/a.jpg",)]
    # Messenger sends no name: the profile is looked up later, not in the request
    assert store.all("SELECT channel_user_id, done FROM pending_profiles") == [("PSID9", False)]


def test_telegram_text_photo_document_and_poll(gw):
    client, store = gw
    assert post_tg(client, tg_update(tg_message(777, "halo", message_id=1))).status_code == 200
    photo = tg_message(777, None, message_id=2, caption="pic",
                       photo=[{"file_id": "small", "width": 90}, {"file_id": "big", "width": 1280}])
    doc = tg_message(777, None, message_id=3, document={"file_id": "DOC1", "file_name": "a.pdf", "mime_type": "application/pdf"})
    sticker = tg_message(777, None, message_id=4, poll={"id": "p", "question": "?"})
    for m in (photo, doc, sticker):
        assert post_tg(client, tg_update(m)).status_code == 200
    rows = {r["provider_message_id"]: r for r in store.dicts("SELECT * FROM messages WHERE direction = 'in'")}
    assert rows["777:1"]["body"] == "halo"
    assert rows["777:2"]["kind"] == "image" and rows["777:2"]["caption"] == "pic"
    assert rows["777:3"]["kind"] == "document" and rows["777:4"]["kind"] == "unsupported"
    assert rows["777:4"]["body"] == "The customer sent a poll — not shown here: open it in Telegram."
    assert dict(store.all("SELECT provider_message_id, ref FROM pending_media")) == {"777:2": "big", "777:3": "DOC1"}
    assert store.one("SELECT contact_name FROM chats WHERE channel = 'telegram'")[0] == "Budi Hartono"


# ---- statuses and templates --------------------------------------------------------------
def _outbound(store, channel, user, pmid, status="sent", sent_at=None):
    """An outbound message as the delivery worker leaves it."""
    from maxchat_data.store import utcnow

    def fn(w):
        chat_id = w.one("SELECT id FROM chats WHERE channel = ? AND channel_user_id = ?", [channel, user])[0]
        mid = w.ids.next("messages")
        w.execute("INSERT INTO messages (id, chat_id, channel, direction, kind, body, provider_message_id, status,"
                  " sent_at, created_at) VALUES (?, ?, ?, 'out', 'text', 'reply', ?, ?, ?, ?)",
                  [mid, chat_id, channel, pmid, status, sent_at or utcnow(), utcnow()])
        return mid
    return store.write(fn)


def status_of(store, pmid):
    status, error = store.one("SELECT status, error FROM messages WHERE provider_message_id = ?", [pmid])
    return status, i18n.shown(error)  # the reason as an agent reads it


def test_whatsapp_statuses_move_ticks_forward_and_failed_131047_explains(gw):
    client, store = gw
    post_wa(client, wa_webhook([wa_message("628111")]))
    _outbound(store, "whatsapp", "628111", "wamid.OUT1")
    _outbound(store, "whatsapp", "628111", "wamid.OUT2")
    assert post_wa(client, wa_webhook(statuses=[wa_status("wamid.OUT1", "delivered")])).status_code == 200
    assert status_of(store, "wamid.OUT1") == ("delivered", None)
    post_wa(client, wa_webhook(statuses=[wa_status("wamid.OUT1", "read"), wa_status("wamid.OUT1", "sent")]))
    assert status_of(store, "wamid.OUT1") == ("read", None)  # a late 'sent' does not move it back
    post_wa(client, wa_webhook(statuses=[wa_status("wamid.OUT2", "failed", code=131047)]))
    assert status_of(store, "wamid.OUT2") == ("failed", "24-hour window closed — send a template")


def test_messenger_delivery_mids_and_read_watermark(gw):
    client, store = gw
    from datetime import timedelta

    from maxchat_data.store import utcnow
    post_ms(client, ms_webhook([ms_event("PSID5", text="hi")]))
    now = utcnow()
    _outbound(store, "messenger", "PSID5", "m_A", sent_at=now - timedelta(minutes=5))
    _outbound(store, "messenger", "PSID5", "m_B", sent_at=now - timedelta(minutes=1))
    _outbound(store, "messenger", "PSID5", "m_C", sent_at=now + timedelta(minutes=5))
    r = post_ms(client, ms_webhook([ms_receipt("PSID5", "delivery", int(now.timestamp() * 1000) - 120_000, mids=["m_B"])]))
    assert r.status_code == 200
    assert [status_of(store, p)[0] for p in ("m_A", "m_B", "m_C")] == ["delivered", "delivered", "sent"]
    post_ms(client, ms_webhook([ms_receipt("PSID5", "read", int(now.timestamp() * 1000))]))
    assert [status_of(store, p)[0] for p in ("m_A", "m_B", "m_C")] == ["read", "read", "sent"]


def test_template_status_update_maps_to_accepted_rejected_pending(gw):
    client, store = gw
    tid = system.create_template(store, channel="whatsapp", name="order_update", language="id",
                                 category="UTILITY", body="Halo {{1}}")
    assert store.one("SELECT status FROM templates WHERE id = ?", [tid])[0] == "Pending"
    assert post_wa(client, wa_template_update("APPROVED", "order_update", "id", "9001")).status_code == 200
    assert store.one("SELECT status, provider_template_id FROM templates WHERE id = ?", [tid]) == ("Accepted", "9001")
    # now matched by the provider id even with another name
    post_wa(client, wa_template_update("REJECTED", "renamed", "en", "9001"))
    assert store.one("SELECT status FROM templates WHERE id = ?", [tid])[0] == "Rejected"
    post_wa(client, wa_template_update("PAUSED", "order_update", "id", "9001"))
    assert store.one("SELECT status FROM templates WHERE id = ?", [tid])[0] == "Pending"


# ---- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                                     {"X-Hub-Signature-256": "md5=abc"}, "wrong-secret"])
def test_meta_bad_or_missing_signature_is_refused_and_nothing_stored(gw, headers):
    client, store = gw
    for path, payload, secret in (("/webhooks/whatsapp", wa_webhook([wa_message()]), WA_SECRET),
                                  ("/webhooks/messenger", ms_webhook([ms_event(text="x")]), MS_SECRET)):
        body = body_of(payload)
        h = meta_headers("not-the-secret", body) if headers == "wrong-secret" else {"Content-Type": "application/json", **headers}
        r = client.post(path, content=body, headers=h)
        assert r.status_code in (401, 403)
    assert count(store) == 0


def test_signature_is_over_the_raw_bytes(gw):
    client, store = gw
    body = body_of(wa_webhook([wa_message(text="é")]))
    h = meta_headers(WA_SECRET, body)
    tampered = body.replace(b"\\u00e9", b"e")  # same JSON meaning after a re-encode: signature must fail
    assert client.post("/webhooks/whatsapp", content=tampered, headers=h).status_code == 401
    assert client.post("/webhooks/whatsapp", content=body, headers=h).status_code == 200
    assert store.one("SELECT body FROM messages WHERE direction = 'in'")[0] == "é"


@pytest.mark.parametrize("secret", [None, "", "tg-secreT", "x" * 40])
def test_telegram_wrong_or_missing_secret(gw, secret):
    client, store = gw
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    r = client.post("/webhooks/telegram", json=tg_update(tg_message()), headers=headers)
    assert r.status_code in (401, 403)
    assert count(store) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b'{"object":"page"}', b'{"object":"whatsapp_business_account","entry":{}}',
                                 "\xff\xfe".encode("latin-1")])
def test_whatsapp_malformed_or_wrong_shape_is_400_and_nothing_stored(gw, raw):
    client, store = gw
    r = client.post("/webhooks/whatsapp", content=raw, headers=meta_headers(WA_SECRET, raw))
    assert r.status_code == 400
    assert count(store) == 0
    # the server is fine afterwards
    assert post_wa(client, wa_webhook([wa_message()])).status_code == 200 and count(store) == 1


# Issue 17 (7b): a refused webhook is retried by the provider with the same
# odd message inside, and refused again, until it gives up on all of them.
def _odd_whatsapp():
    typed_list = wa_message("6281200000009", mid="wamid.list-type")
    typed_list["type"] = ["text"]
    no_sender = wa_message(mid="wamid.no-from")
    del no_sender["from"]
    no_text = wa_message("6281200000009", mid="wamid.no-text")
    del no_text["text"]
    image_without_id = wa_message("6281200000009", mid="wamid.no-media-id", kind="image", mime_type="image/jpeg")
    return [typed_list, no_sender, no_text, image_without_id, "not an object"]


@pytest.mark.parametrize("odd", _odd_whatsapp(), ids=["type-list", "no-from", "no-text", "media-no-id", "string"])
def test_one_malformed_whatsapp_message_is_skipped_and_logged_the_rest_stored(gw, caplog, odd):
    client, store = gw
    caplog.set_level(logging.WARNING)
    good = wa_message("6281200000001", "Kak, pesanan saya?", mid="wamid.good")
    after = wa_message("6281200000002", "Halo", mid="wamid.good2")
    assert post_wa(client, wa_webhook([good, odd, after])).status_code == 200
    assert dict(store.all("SELECT provider_message_id, body FROM messages WHERE direction = 'in'")) == {
        "wamid.good": "Kak, pesanan saya?", "wamid.good2": "Halo"}
    assert store.one("SELECT count(*) FROM pending_media")[0] == 0  # nothing of the skipped one is left behind
    assert "WhatsApp message" in caplog.text and "skipped" in caplog.text


def test_a_malformed_whatsapp_change_or_status_skips_only_itself(gw, caplog):
    client, store = gw
    caplog.set_level(logging.WARNING)
    payload = wa_webhook([wa_message("6281200000001", "pertama", mid="wamid.first")],
                         statuses=[{"id": ["x"], "status": "read"}, "odd"])
    payload["entry"][0]["changes"] += [{"field": "messages", "value": {"messages": [{"id": "x"}]}},  # no metadata
                                       "not a change",
                                       {"field": "message_template_status_update", "value": {}}]
    payload["entry"].insert(0, {"id": "WABA", "changes": "not a list"})
    assert post_wa(client, payload).status_code == 200
    assert store.all("SELECT provider_message_id FROM messages WHERE direction = 'in'") == [("wamid.first",)]
    assert caplog.text.count("skipped") >= 4


def test_one_malformed_messenger_event_is_skipped_the_rest_stored(gw, caplog):
    client, store = gw
    caplog.set_level(logging.WARNING)
    no_mid = {"sender": {"id": "PSID1"}, "message": {"text": "no mid"}}
    bad_attachments = ms_event("PSID1", mid="m_bad", text="x")
    bad_attachments["message"]["attachments"] = "not a list"
    payload = ms_webhook([ms_event("PSID1", text="satu", mid="m_1"), no_mid, bad_attachments, 7,
                          {"sender": "PSID1", "message": {"mid": "m_x", "text": "sender is no object"}},
                          ms_event("PSID2", text="dua", mid="m_2")])
    payload["entry"].append("not an entry")
    payload["entry"].append({"id": "PAGE", "messaging": {"not": "a list"}})
    assert post_ms(client, payload).status_code == 200
    assert dict(store.all("SELECT provider_message_id, body FROM messages WHERE direction = 'in'")) == {
        "m_1": "satu", "m_2": "dua"}
    assert "Messenger event" in caplog.text and "skipped" in caplog.text


@pytest.mark.parametrize("raw", [b'{"update_id":"x"}', b'{"update_id":5,"message":{"text":"no chat"}}',
                                 b'{"update_id":6,"message":{"message_id":1,"chat":{"id":""},"text":"empty chat id"}}',
                                 b'{"update_id":7,"edited_message":{"message_id":1,"chat":{}}}'])
def test_a_malformed_telegram_update_is_skipped_with_200(gw, raw, caplog):
    """Telegram holds every later update of the bot while it retries a
    refused one: a malformed update is logged and acknowledged."""
    client, store = gw
    caplog.set_level(logging.WARNING)
    r = client.post("/webhooks/telegram", content=raw, headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert r.status_code == 200 and count(store) == 0
    assert "Telegram update" in caplog.text and "skipped" in caplog.text
    assert post_tg(client, tg_update(tg_message(777, "halo", message_id=1))).status_code == 200 and count(store) == 1


def test_telegram_body_that_is_no_json_is_400(gw):
    client, store = gw
    r = client.post("/webhooks/telegram", content=b"nope", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert r.status_code == 400 and count(store) == 0


def _deep(depth: int = 200_000) -> bytes:
    return b'{"object":"page","entry":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("channel", ["whatsapp", "messenger", "telegram"])
def test_json_nested_too_deep_is_400_not_500(gw, channel):
    client, store = gw
    raw = _deep()
    headers = ({"X-Telegram-Bot-Api-Secret-Token": TG_SECRET} if channel == "telegram"
               else meta_headers(WA_SECRET if channel == "whatsapp" else MS_SECRET, raw))
    r = client.post(f"/webhooks/{channel}", content=raw, headers=headers)
    assert r.status_code == 400 and count(store) == 0
    assert post_wa(client, wa_webhook([wa_message()])).status_code == 200 and count(store) == 1  # still serving


@pytest.mark.parametrize("nonsense", [1e20, "1e20", -1e20, 4102444800])
def test_a_nonsense_timestamp_stores_the_message_at_now_on_every_channel(gw, nonsense):
    """Out of range, not a number, or (the last) the year 2100 in seconds:
    the message is kept, timed when it arrived."""
    client, store = gw
    wa = wa_message("6281277770000", "wa", mid="wamid.T1")
    wa["timestamp"] = nonsense
    ms = ms_event("PSIDT", "ms", mid="m_T1")
    ms["timestamp"] = nonsense if isinstance(nonsense, str) else nonsense * 1000
    tg = tg_message(4242, "tg", message_id=77)
    tg["date"] = nonsense
    before = utcnow()
    assert post_wa(client, wa_webhook([wa])).status_code == 200
    assert post_ms(client, ms_webhook([ms])).status_code == 200
    assert post_tg(client, tg_update(tg)).status_code == 200
    rows = store.all("SELECT body, sent_at FROM messages WHERE direction = 'in' ORDER BY body")
    assert [b for b, _ in rows] == ["ms", "tg", "wa"]
    assert all(before - timedelta(seconds=1) <= at <= utcnow() for _, at in rows), rows


def test_inbound_contact_names_are_one_line_of_at_most_100_characters(gw):
    client, store = gw
    huge = "Rina\t\n  Kusuma " + "a" * 100_000
    assert post_wa(client, wa_webhook([wa_message("6281211110000")], names={"6281211110000": huge})).status_code == 200
    assert post_tg(client, tg_update(tg_message(31337, first=huge, last="Z"))).status_code == 200
    assert post_wa(client, wa_webhook([wa_message("6281211110001")], names={"6281211110001": " \n "})).status_code == 200
    names = dict(store.all("SELECT channel_user_id, contact_name FROM chats"))
    for user in ("6281211110000", "31337"):
        assert len(names[user]) == 100 and names[user].startswith("Rina Kusuma aaa") and "\n" not in names[user]
    assert names["6281211110001"] == "+6281211110001"  # a blank name falls back to the number
    assert dict(store.all("SELECT c.channel_user_id, k.name FROM chats c JOIN contacts k ON k.id = c.contact_id")) == names


def test_messenger_wrong_shape_is_400(gw):
    client, store = gw
    assert post_ms(client, {"object": "page", "entry": "not a list"}).status_code == 400
    assert post_ms(client, wa_webhook([wa_message()])).status_code == 400  # a WhatsApp body on the Messenger route
    assert count(store) == 0


def test_same_webhook_twice_stores_one_message(gw):
    client, store = gw
    payload = wa_webhook([wa_message(mid="wamid.DUP", kind="image", id="M1", mime_type="image/png")])
    assert post_wa(client, payload).status_code == 200
    assert post_wa(client, payload).status_code == 200
    assert count(store) == 1
    assert store.one("SELECT unread FROM chats")[0] == 1
    assert store.one("SELECT count(*) FROM pending_media")[0] == 1
    upd = tg_update(tg_message(42, "once", message_id=9))
    assert post_tg(client, upd).status_code == 200 and post_tg(client, upd).status_code == 200
    assert count(store, "SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'") == 1


def test_duplicate_inside_one_webhook_stores_one(gw):
    client, store = gw
    m = wa_message(mid="wamid.TWICE")
    assert post_wa(client, wa_webhook([m, dict(m)])).status_code == 200
    assert count(store) == 1


def test_unknown_phone_number_id_is_ignored_with_200_and_a_log_line(gw, caplog):
    client, store = gw
    with caplog.at_level(logging.WARNING, logger="maxchat_data.channels.whatsapp"):
        r = post_wa(client, wa_webhook([wa_message()], pnid="SOMEONE-ELSE"))
    assert r.status_code == 200
    assert count(store) == 0
    assert any("SOMEONE-ELSE" in rec.getMessage() for rec in caplog.records)
    assert PNID != "SOMEONE-ELSE"


def test_webhook_without_app_secret_configured_is_refused(gw, monkeypatch):
    client, store = gw
    monkeypatch.delenv("WHATSAPP_APP_SECRET")
    body = body_of(wa_webhook([wa_message()]))
    assert client.post("/webhooks/whatsapp", content=body, headers=meta_headers("", body)).status_code == 403
    assert count(store) == 0


def test_many_messages_in_one_webhook_share_one_commit(gw):
    client, store = gw
    before = store.version
    msgs = [wa_message(f"62800{i:04d}", f"msg {i}") for i in range(50)]
    assert post_wa(client, wa_webhook(msgs)).status_code == 200
    assert count(store) == 50
    assert store.version - before <= 2  # group commit: not one commit per message


def test_oversized_body_is_refused_before_anything_else(gw):
    client, store = gw
    huge = body_of(wa_webhook([wa_message(text="x" * (3 * 1024 * 1024))]))
    assert client.post("/webhooks/whatsapp", content=huge, headers=meta_headers(WA_SECRET, huge)).status_code == 413
    r = client.post("/webhooks/telegram", content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                    headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert r.status_code == 413
    assert count(store) == 0


def test_messenger_several_attachments_become_several_messages(gw):
    client, store = gw
    atts = [{"type": "image", "payload": {"url": f"http://x/cdn/{i}.jpg"}} for i in range(3)]
    assert post_ms(client, ms_webhook([ms_event("PSID3", text="three photos", mid="m_multi", attachments=atts)])).status_code == 200
    rows = store.all("SELECT provider_message_id, kind, caption FROM messages WHERE direction = 'in' ORDER BY id")
    assert rows == [("m_multi", "image", "three photos"), ("m_multi#1", "image", None), ("m_multi#2", "image", None)]
    assert store.one("SELECT count(*) FROM pending_media")[0] == 3


def test_whatsapp_button_and_list_replies_are_text(gw):
    client, store = gw
    button = wa_message(mid="wamid.B", kind="button", text="x")
    button["button"] = {"text": "Yes, ship it", "payload": "YES"}
    listed = wa_message(mid="wamid.L", kind="interactive")
    listed["interactive"] = {"type": "list_reply", "list_reply": {"id": "r1", "title": "Order status"}}
    assert post_wa(client, wa_webhook([button, listed])).status_code == 200
    assert dict(store.all("SELECT provider_message_id, body FROM messages WHERE direction = 'in'")) == {
        "wamid.B": "Yes, ship it", "wamid.L": "Order status"}


def _mutations(payload):
    """Every way of replacing one node of the payload by a value of another type."""
    odd = [None, 0, "x", [], {}, [1], {"a": 1}, True]
    if isinstance(payload, dict):
        for k, v in payload.items():
            for o in odd:
                yield {**payload, k: o}
            for sub in _mutations(v):
                yield {**payload, k: sub}
    elif isinstance(payload, list):
        for i, v in enumerate(payload):
            for o in odd:
                yield payload[:i] + [o] + payload[i + 1:]
            for sub in _mutations(v):
                yield payload[:i] + [sub] + payload[i + 1:]


@pytest.mark.slow
def test_no_shape_of_body_gives_a_500(gw):
    client, store = gw
    checks = [("/webhooks/whatsapp", wa_webhook([wa_message(kind="image", id="M", mime_type="image/png")],
                                               statuses=[wa_status("wamid.x", "failed", code=131047)])),
              ("/webhooks/messenger", ms_webhook([ms_event(text="t", attachments=[{"type": "image", "payload": {"url": "u"}}]),
                                                  ms_receipt("P", "delivery", 1000, ["m"])])),
              ("/webhooks/telegram", tg_update(tg_message(photo=[{"file_id": "f"}], document={"file_id": "d"})))]
    seen = 0
    for path, payload in checks:
        for bad in _mutations(payload):
            seen += 1
            if path == "/webhooks/telegram":
                r = post_tg(client, bad)
            else:
                r = (post_wa if "whatsapp" in path else post_ms)(client, bad)
            assert r.status_code in (200, 400), (path, bad, r.status_code)
    assert seen > 300
    assert client.get("/healthz").status_code == 200


def test_tcp_nodelay_is_set_on_listening_sockets_and_inherited():
    import os
    import socket
    listener = socket.socket()  # proto 0, as Streamlit creates it
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    fds_before = len(os.listdir("/proc/self/fd"))
    try:
        assert lifespan.tcp_nodelay_on_listeners() >= 1
        assert len(os.listdir("/proc/self/fd")) == fds_before  # no descriptor leaked
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        accepted.close()
        client.close()
    finally:
        listener.close()


def test_what_the_server_loaded_at_start_is_out_of_the_collectors_sight(gw):
    """A full garbage collection walks every object the process holds and
    stops every thread meanwhile; what start-up loaded lives as long as the
    process, so it is frozen once the server is up."""
    import asyncio
    import gc

    async def serve():
        async with lifespan.lifespan(None):
            return gc.get_freeze_count()

    gc.unfreeze()
    try:
        assert asyncio.run(serve()) > 10_000
    finally:
        gc.unfreeze()


def test_chunked_bodies_are_read_and_bounded(gw):
    client, store = gw
    body = body_of(wa_webhook([wa_message(mid="wamid.CH")]))
    r = client.post("/webhooks/whatsapp", content=iter([body[:10], body[10:]]), headers=meta_headers(WA_SECRET, body))
    assert r.status_code == 200 and count(store) == 1
    r = client.post("/webhooks/whatsapp", content=(b"x" * 65536 for _ in range(40)), headers=meta_headers(WA_SECRET, b""))
    assert r.status_code == 413


# ---- the fast path in front of Streamlit's middleware (issue 19) ------------------------------------
class _Behind:
    """What WebhooksFirst stands in front of (Streamlit's middleware and
    router): the same routes, and a record of every request that got here."""

    def __init__(self):
        self.app, self.seen = Starlette(routes=webhooks.routes()), []

    async def __call__(self, scope, receive, send):
        self.seen.append((scope["type"], scope.get("method"), scope["path"]))
        await self.app(scope, receive, send)


def test_webhooks_go_straight_to_their_route_everything_else_passes_through(gw):
    _, store = gw
    behind = _Behind()
    client = TestClient(webhooks.WebhooksFirst(behind))
    # Each route answers as before, in front of everything else.
    assert post_wa(client, wa_webhook([wa_message(mid="wamid.FAST")])).status_code == 200
    assert post_wa(client, wa_webhook([wa_message(mid="wamid.X")]), secret="wrong").status_code == 401
    assert post_ms(client, ms_webhook([ms_event(text="cepat", mid="m_FAST")])).status_code == 200
    assert post_tg(client, tg_update(tg_message(text="cepat"))).status_code == 200
    hello = client.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY,
                                                     "hub.challenge": "42"})
    assert hello.text == "42" and client.get("/healthz").json()["status"] == "ok"
    assert behind.seen == []
    assert count(store) == 3 and count(store, "SELECT count(*) FROM messages WHERE provider_message_id = 'wamid.X'") == 0
    # Not exactly a route's path and method: Streamlit's stack sees it, as before.
    assert client.put("/webhooks/whatsapp").status_code == 405
    client.post("/webhooks/whatsapp/", content=b"{}")
    assert client.get("/somewhere-else").status_code == 404
    assert behind.seen == [("http", "PUT", "/webhooks/whatsapp"), ("http", "POST", "/webhooks/whatsapp/"),
                           ("http", "GET", "/somewhere-else")]


# ---- a customer changes only their own messages (issue 17, item 3) ---------------------------------
def _wa_change(sender, mid, kind, target, **extra):
    part = {"message_id": target, "emoji": "😡"} if kind == "reaction" else {"original_message_id": target}
    if kind == "edit":
        part["message"] = {"type": "text", "text": {"body": extra.get("body", "diganti")}}
    return {"from": sender, "id": mid, "timestamp": str(int(__import__("time").time())), "type": kind, kind: part}


def _row(store, pmid):
    return store.dicts("SELECT body, reaction, edited_at, deleted_at FROM messages WHERE provider_message_id = ?",
                       [pmid])[0]


def test_whatsapp_changes_reach_only_the_senders_own_chat_and_edits_only_their_own_messages(gw, caplog):
    client, store = gw
    caplog.set_level(logging.WARNING)
    alice, mallory = "6281200000001", "6281200000666"
    assert post_wa(client, wa_webhook([wa_message(alice, "nomor rekening 123", mid="wamid.A"),
                                       wa_message(mallory, "halo", mid="wamid.M")])).status_code == 200
    _outbound(store, "whatsapp", alice, "wamid.TO-ALICE")      # e.g. a broadcast template in Alice's chat
    _outbound(store, "whatsapp", mallory, "wamid.TO-MALLORY")
    untouched = {p: _row(store, p) for p in ("wamid.A", "wamid.TO-ALICE", "wamid.TO-MALLORY")}
    # Mallory reacts to, edits and deletes Alice's message and our message to Alice, and edits and
    # deletes our message to herself; beside them in the same webhook, one real message of hers.
    attacks = [_wa_change(mallory, f"wamid.X{n}", kind, target)
               for n, (kind, target) in enumerate([(k, t) for t in ("wamid.A", "wamid.TO-ALICE")
                                                   for k in ("reaction", "edit", "revoke")]
                                                  + [("edit", "wamid.TO-MALLORY"), ("revoke", "wamid.TO-MALLORY")])]
    assert post_wa(client, wa_webhook(attacks + [wa_message(mallory, "masih di sini", mid="wamid.M2")])).status_code == 200
    assert {p: _row(store, p) for p in untouched} == untouched
    assert store.one("SELECT count(*) FROM message_changes")[0] == 0
    assert store.one("SELECT body FROM messages WHERE provider_message_id = 'wamid.M2'")[0] == "masih di sini"
    assert caplog.text.count("in another customer's chat skipped") == 6
    assert caplog.text.count("of our message wamid.TO-MALLORY skipped") == 2
    # What a customer may do still works: react to our message in her own chat, edit and delete her own.
    assert post_wa(client, wa_webhook([_wa_change(mallory, "wamid.OK1", "reaction", "wamid.TO-MALLORY"),
                                       _wa_change(mallory, "wamid.OK2", "edit", "wamid.M", body="halo kak"),
                                       _wa_change(mallory, "wamid.OK3", "revoke", "wamid.M2")])).status_code == 200
    assert _row(store, "wamid.TO-MALLORY")["reaction"] == "😡"
    assert _row(store, "wamid.M")["body"] == "halo kak" and _row(store, "wamid.M2")["deleted_at"] is not None


def test_messenger_reactions_reach_only_the_senders_own_chat(gw, caplog):
    client, store = gw
    caplog.set_level(logging.WARNING)
    assert post_ms(client, ms_webhook([ms_event("PSID-A", text="hi", mid="m_A"),
                                       ms_event("PSID-M", text="hi", mid="m_M")])).status_code == 200
    _outbound(store, "messenger", "PSID-A", "m_TO-A")
    _outbound(store, "messenger", "PSID-M", "m_TO-M")

    def react(psid, mid, n):
        return {"sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": 1_700_000_000_000 + n,
                "reaction": {"mid": mid, "action": "react", "emoji": "👎", "reaction": "other"}}
    payload = ms_webhook([react("PSID-M", "m_A", 1), react("PSID-M", "m_TO-A", 2), react("PSID-M", "m_TO-M", 3),
                          ms_event("PSID-M", text="lagi", mid="m_M2")])
    assert post_ms(client, payload).status_code == 200
    assert store.all("SELECT provider_message_id, reaction FROM messages WHERE reaction IS NOT NULL") == [("m_TO-M", "👎")]
    assert store.one("SELECT count(*) FROM messages WHERE provider_message_id = 'm_M2'")[0] == 1
    assert caplog.text.count("in another customer's chat skipped") == 2


def test_telegram_edits_only_the_customers_own_messages_reactions_any_in_their_chat(gw, caplog):
    client, store = gw
    caplog.set_level(logging.WARNING)
    assert post_tg(client, tg_update(tg_message(42, "Alamat: Jl. Mawar 1", message_id=10))).status_code == 200
    _outbound(store, "telegram", "42", "42:11")  # our reply: Telegram numbers both directions in one chat
    edit = {"update_id": 900, "edited_message": {"message_id": 11, "chat": {"id": 42, "type": "private"},
                                                 "date": 1, "edit_date": 2, "text": "Diskon 90% untuk semua"}}
    react = {"update_id": 901, "message_reaction": {"chat": {"id": 42, "type": "private"}, "message_id": 11,
                                                    "user": {"id": 42}, "date": 3, "old_reaction": [],
                                                    "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}
    assert post_tg(client, edit).status_code == 200 and post_tg(client, react).status_code == 200
    assert store.one("SELECT body, reaction, edited_at FROM messages WHERE provider_message_id = '42:11'") == (
        "reply", "👍", None)
    assert "of our message 42:11 skipped" in caplog.text
