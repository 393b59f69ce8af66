"""Issue 14: the corpus of real webhook payloads written by other projects
(tests/fixtures/real-payloads, see its SOURCES.md), each posted signed
through the real route, with what each one must leave in the store: kind,
text, file, reaction, edit history, ticks. Plus the rules around them:
unknown parts are skipped one by one, reactions and edits are no new
messages, repeated deliveries change nothing."""
from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from maxchat_data import actions, config, i18n, inbox, system
from maxchat_data.channels import clients
from maxchat_data.ingest import Inbound, receive
from maxchat_data.store import utcnow
from server import runtime, webhooks
from server.fetcher import Fetcher
from tests.fakes import FakeMessenger, FakeTelegram, FakeWhatsApp
from tests.fakes.helpers import (AAC, DOC, JPEG, MP4, MS_SECRET, OGG_OPUS, PDF, PNG, TG_SECRET, TG_TOKEN, WA_SECRET,
                                 WEBP, animated_webp, body_of, env_for, meta_headers)

import pg_cluster  # the same module as conftest's: one cluster per run

pytestmark = pytest.mark.both_backends

# Every column of messages but reacted_at (the time a repeat is received), on both engines.
ALL_BUT_REACTED_AT = ("id, chat_id, session_id, channel, direction, sender_agent_id, kind, body, caption, attachment_id,"
                      " template_id, template_params, provider_message_id, status, error, notify, sent_at, created_at,"
                      " details, reaction, edited_at, deleted_at")
CORPUS = Path(__file__).parent / "fixtures" / "real-payloads"
PNID, WABA = "1099887766", "2088776655"  # what the corpus's WhatsApp payloads carry (SOURCES.md)
WA_FILES = {"image": (JPEG, "image/jpeg"), "video": (MP4, "video/mp4"), "document": (PDF, "application/pdf"),
            "audio": (OGG_OPUS, "audio/ogg"), "sticker": (animated_webp(), "image/webp")}
MS_FILES = {"image": (JPEG, "image/jpeg"), "video": (MP4, "video/mp4"), "audio": (AAC, "audio/aac"),
            "file": (DOC, "application/msword")}
TG_FILES = {"photo": JPEG, "document": PDF, "animation": MP4, "video": MP4, "voice": OGG_OPUS, "sticker": WEBP}


@pytest.fixture
def gw(tmp_path, monkeypatch, backend):
    wa, ms, tg = FakeWhatsApp(phone_number_id=PNID), FakeMessenger(), FakeTelegram(token=TG_TOKEN)
    env = env_for(wa, ms, tg, telegram_webhook=True)
    env.update(WHATSAPP_PHONE_NUMBER_ID=PNID, WHATSAPP_WABA_ID=WABA, MAXCHAT_DB=str(tmp_path / "corpus.duckdb"),
               MAXCHAT_MEDIA_DIR=str(tmp_path / "media"), MAXCHAT_DEMO="0")
    url = pg_cluster.fresh_database() if backend == "postgresql" else None
    if url:
        env["MAXCHAT_DATABASE_URL"] = url
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config._secrets.cache_clear()
    runtime.close()
    yield TestClient(Starlette(routes=webhooks.routes())), runtime.store(), (wa, ms, tg)
    runtime.close()
    config._secrets.cache_clear()
    if url:
        pg_cluster.drop_database(url)
    for f in (wa, ms, tg):
        f.close()


# ---- the run-time changes SOURCES.md describes ---------------------------------------
def _whatsapp(payload, tag, wa):
    now = str(int(time.time()))
    for entry in payload["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            for m in value.get("messages", []):
                m["id"] += tag
                m["timestamp"] = now
                kind = m.get("type")
                part = m.get(kind) if isinstance(m.get(kind), dict) else {}
                if kind == "text":
                    part["body"] += tag
                if "caption" in part:
                    part["caption"] += tag
                if kind in WA_FILES:
                    part["id"] += tag
                    wa.add_media(part["id"], *WA_FILES[kind])
                for key in ("message_id", "original_message_id"):
                    if key in part:
                        part[key] += tag
                if kind == "edit":
                    new = part["message"][part["message"]["type"]]
                    new["caption"] += tag
            for s in value.get("statuses", []):
                s["id"] += tag
                s["timestamp"] = now
    return payload


def _messenger(payload, tag, ms):
    now = int(time.time() * 1000)
    for entry in payload["entry"]:
        entry["time"] = now
        for event in entry.get("messaging", []) + entry.get("standby", []):
            event["timestamp"] = now
            m = event.get("message") or {}
            if "mid" in m:
                m["mid"] += tag
            if "text" in m and not m.get("is_echo"):
                m["text"] += tag
            for att in m.get("attachments", []):
                if isinstance(att.get("payload"), dict) and "url" in att["payload"]:
                    url = urlsplit(att["payload"]["url"])
                    data, mime = MS_FILES[att["type"]] if "sticker_id" not in m else (PNG, "image/png")
                    local = ms.file_url(Path(url.path).name + tag, data, mime)
                    att["payload"]["url"] = local + (f"?{url.query}" if url.query else "")
            if "reaction" in event:
                event["reaction"]["mid"] += tag
            if "delivery" in event:
                event["delivery"]["mids"] = [mid + tag for mid in event["delivery"]["mids"]]
            for receipt in ("delivery", "read"):
                if receipt in event:
                    event[receipt]["watermark"] = now
    return payload


def _telegram(update, tag, n, tg):
    now = int(time.time())
    update["update_id"] = 5_000_000 + n
    for key in ("message", "edited_message", "channel_post", "message_reaction"):
        m = update.get(key)
        if not isinstance(m, dict):
            continue
        m["message_id"] = 900_000 + n  # unique across the corpus
        m["date"] = now
        if "edit_date" in m:
            m["edit_date"] = now
        for field in ("text", "caption"):
            if isinstance(m.get(field), str) and not m[field].startswith("/"):  # a command stays a command
                m[field] += tag
        for field, data in TG_FILES.items():
            files = m.get(field)
            for f in files if isinstance(files, list) else [files] if isinstance(files, dict) else []:
                f["file_id"] += tag
                tg.add_file(f["file_id"], data, f"{field}/{f['file_id']}")
    return update


def _post(client, channel, payload):
    if channel == "telegram":
        return client.post("/webhooks/telegram", json=payload, headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    body = body_of(payload)
    secret = WA_SECRET if channel == "whatsapp" else MS_SECRET
    return client.post(f"/webhooks/{channel}", content=body, headers=meta_headers(secret, body))


# ---- what each payload must leave ------------------------------------------------------
def msg(kind, body=None, caption=None, file=None, details=None, name=None):
    """One new inbound message: body/caption exact (``{t}`` = the run's tag
    appended), file = (attachment kind, mime), details a subset."""
    return {"expect": "message", "kind": kind, "body": body, "caption": caption, "file": file,
            "details": details or {}, "name": name}


NOTHING = {"expect": "nothing"}
NOT_SHOWN = "not shown here: open it in"

EXPECT = {
    # WhatsApp
    "wa_button_reply_captured": msg("text", "Yes", details={"tapped": "button"}),
    "wa_contacts": msg("contact", details={"contacts": [
        {"name": "Chandler Bing", "phones": [{"phone": "+1 555-555-5555", "wa_id": "972987654321"}], "emails": []},
        {"name": "Monica", "phones": [{"phone": "+1 666-666-6666", "wa_id": "972987654321"}], "emails": []},
        {"name": "Rachel Green", "phones": [{"phone": "+1 777-777-7777", "wa_id": "972987654321"}], "emails": []}]}),
    "wa_document_caption": msg("document", caption="caption{t}", file=("document", "application/pdf"), name="filename.pdf"),
    "wa_edit_caption": {"expect": "edited", "caption": "Updated image caption{t}", "was": (None, "old caption")},
    "wa_image": msg("image", file=("image", "image/jpeg")),
    "wa_interactive_without_body": msg("unsupported", "The customer sent a reply to a button that WhatsApp did not "
                                                      "describe — not shown here: open it in WhatsApp."),
    "wa_list_reply": msg("text", "title", details={"tapped": "list"}),
    "wa_location": msg("location", details={"lat": 12.25089, "lon": 43.90539}),
    "wa_order": msg("unsupported", "The customer sent an order from the catalog (3 × HAMBURGER, 2 × FRENCH_FRIES, "
                                   "2 × SODA) — prices and totals are not shown here: open it in WhatsApp."),
    "wa_reaction": {"expect": "reaction", "emoji": "😮"},
    "wa_revoke": {"expect": "deleted"},
    "wa_smb_echo_text": NOTHING,
    "wa_status_delivered_meta_example": {"expect": "tick", "status": "delivered"},
    "wa_status_failed": {"expect": "tick", "status": "failed", "error": "User's number is part of an experiment"},
    "wa_status_group_read": {"expect": "tick", "status": "read"},
    "wa_status_played": {"expect": "tick", "status": "read"},
    "wa_status_read": {"expect": "tick", "status": "read"},
    "wa_status_sent_captured": {"expect": "tick", "status": "sent"},
    "wa_sticker_animated": msg("sticker", file=("sticker", "image/webp"), details={"animated": True}),
    "wa_system_number_change": msg("unsupported", "The customer changed their WhatsApp number to +972912345678."),
    "wa_template_quick_reply": msg("text", "title", details={"tapped": "button"}),
    "wa_template_rejected": {"expect": "template", "status": "Rejected"},
    "wa_text_ad_referral": msg("text", "BODY{t}"),
    "wa_text_meta_example": msg("text", "this is a text message{t}"),
    "wa_text_reply": msg("text", "replied text{t}"),
    "wa_unsupported": msg("unsupported", "The customer sent a poll — not shown here: open it in WhatsApp."),
    "wa_video_caption": msg("video", caption="caption{t}", file=("video", "video/mp4")),
    "wa_voice": msg("audio", file=("audio", "audio/ogg"), details={"voice": True}),
    # Messenger
    "fb_audio": msg("audio", file=("audio", "audio/aac"), details={"voice": True}),
    "fb_delivery": {"expect": "tick", "status": "delivered"},
    "fb_echo": NOTHING,
    "fb_fallback_link": msg("text", "Check us out! — https://www.facebook.com/Thisisus/"),
    "fb_file": msg("document", file=("document", "application/msword")),
    "fb_image": msg("image", file=("image", "image/jpeg")),
    "fb_like_sticker": msg("sticker", file=("sticker", "image/png"), details={"emoji": "👍"}),
    "fb_location": msg("location", details={"lat": 52.376232, "lon": 4.838296, "name": "Someone's Location"}),
    "fb_postback": msg("text", "Aan de slag", details={"tapped": "button"}),
    "fb_quick_reply": msg("text", "CLICK HERE{t}", details={"tapped": "quick reply"}),
    "fb_reaction": {"expect": "reaction", "emoji": "❤️"},
    "fb_read": {"expect": "tick", "status": "read"},
    "fb_standby": msg("text", "This is a text message{t}"),
    "fb_text": msg("text", "This is a text message{t}"),
    "fb_text_prior_message": msg("text", "Thanks for messaging me!{t}"),
    "fb_video": msg("video", file=("video", "video/mp4")),
    # Telegram
    "tg_animation": msg("video", file=("video", "video/mp4"), name="lol.mp4"),
    "tg_callback_query": NOTHING,
    "tg_channel_post": NOTHING,
    "tg_contact": msg("contact", details={"contacts": [{"name": "911", "phones": [{"phone": "911"}], "emails": []}]}),
    "tg_document": msg("document", file=("document", "application/pdf"), name="document.pdf"),
    "tg_edited_message": {"expect": "edited", "body": "Editing this message{t}", "was": ("This message", None)},
    "tg_inline_query": NOTHING,
    "tg_location": msg("location", details={"lat": 41.899977, "lon": 12.501028}),
    "tg_message_reaction": {"expect": "reaction", "emoji": "❤️🤡"},  # the custom emoji is Telegram's to draw
    "tg_my_chat_member": NOTHING,
    "tg_photo_album_captured": msg("image", file=("image", "image/jpeg")),
    "tg_photo_caption": msg("image", caption="asdasdasdasdasdasd{t}", file=("image", "image/jpeg")),
    "tg_start_command": msg("text", "/start", details={"started": ""}),
    "tg_sticker": msg("sticker", file=("sticker", "image/webp"), details={"emoji": "🤣", "animated": False}),
    "tg_text": msg("text", "aaaaaaaaaa{t}"),
    "tg_text_cyrillic_captured": msg("text", "just text{t}"),
    "tg_video_forwarded_captured": msg("video", file=("video", "video/mp4")),
    "tg_voice": msg("audio", file=("audio", "audio/ogg"), details={"voice": True, "duration": 2}),
}


def _target(payload, channel, kind):
    """The provider id and customer of the message a change or tick is about."""
    if channel == "whatsapp":
        value = payload["entry"][0]["changes"][0]["value"]
        if kind == "tick":
            s = value["statuses"][0]
            return s["id"], s["recipient_id"]
        m = value["messages"][0]
        part = m[m["type"]]
        return part.get("message_id") or part["original_message_id"], m["from"]
    if channel == "messenger":
        event = payload["entry"][0]["messaging"][0]
        if "reaction" in event:
            return event["reaction"]["mid"], event["sender"]["id"]
        return (event.get("delivery") or {}).get("mids", ["m_OUT"])[0] + "-out", event["sender"]["id"]
    m = payload.get("edited_message") or payload.get("message_reaction")
    return f"{m['chat']['id']}:{m['message_id']}", str(m["chat"]["id"])


def _outbound(store, channel, user, pmid):
    """An earlier reply of ours, sent a minute ago: the message a tick is for."""
    def fn(w):
        chat_id = w.one("SELECT id FROM chats WHERE channel = ? AND channel_user_id = ?", [channel, user])[0]
        sent = utcnow().replace(microsecond=0) - __import__("datetime").timedelta(minutes=1)
        w.execute("INSERT INTO messages (id, chat_id, channel, direction, kind, body, provider_message_id, status,"
                  " sent_at, created_at) VALUES (?, ?, ?, 'out', 'text', 'our reply', ?, 'sent', ?, ?)",
                  [w.ids.next("messages"), chat_id, channel, pmid, sent, utcnow()])
    store.write(fn)


def _prepare(store, name, channel, payload, expect):
    """What must be there before the payload: the message a reaction, edit,
    deletion or tick is about; the template a verdict is for."""
    kind = expect["expect"]
    if kind == "template":
        system.create_template(store, channel="whatsapp", name="abandoned_cart", language="en",
                               category="MARKETING", body="You left something in your cart")
    if kind not in ("reaction", "edited", "deleted", "tick"):
        return
    pmid, user = _target(payload, channel, kind)
    was_body, was_caption = expect.get("was", ("what the customer said first", None))
    receive(store, Inbound(channel=channel, channel_user_id=user, provider_message_id=f"{name}-before",
                           body=was_body if was_caption is None else None, caption=was_caption,
                           kind="text" if was_caption is None else "image"))
    if kind == "tick":
        _outbound(store, channel, user, pmid)
        if channel == "messenger":  # Messenger's receipts name no message we know: the watermark decides
            return
    else:
        receive(store, Inbound(channel=channel, channel_user_id=user, provider_message_id=pmid,
                               body=was_body if was_caption is None else None, caption=was_caption,
                               kind="text" if was_caption is None else "image"))


def _check_now(store, name, channel, payload, expect, before):
    """Checked right after the payload (the next one may move the same ticks)."""
    kind = expect["expect"]
    new = store.dicts("SELECT * FROM messages WHERE id > ? AND direction = 'in'", [before])
    if kind in ("nothing", "reaction", "edited", "deleted", "tick", "template"):
        assert new == [], (name, new)
        assert store.one("SELECT count(*) FROM messages WHERE id > ? AND direction = 'activity'", [before])[0] == 0, name
    if kind == "nothing":
        return None
    if kind == "tick":
        pmid, user = _target(payload, channel, kind)
        row = store.dicts("SELECT status, error FROM messages WHERE direction = 'out' AND provider_message_id = ?",
                          [pmid])[0]
        assert row["status"] == expect["status"], (name, row)
        if expect.get("error"):
            assert expect["error"] in i18n.shown(row["error"]), (name, row)
    elif kind in ("reaction", "edited", "deleted"):
        pmid, _ = _target(payload, channel, kind)
        row = store.dicts("SELECT * FROM messages WHERE channel = ? AND provider_message_id = ?", [channel, pmid])[0]
        if kind == "reaction":
            assert row["reaction"] == expect["emoji"], (name, row)
        elif kind == "deleted":
            assert row["deleted_at"] is not None and row["body"] == "what the customer said first", (name, row)
        else:
            tag = payload_tag(name)
            assert row["edited_at"] is not None, name
            if "body" in expect:
                assert row["body"] == expect["body"].replace("{t}", tag), (name, row)
            if "caption" in expect:
                assert row["caption"] == expect["caption"].replace("{t}", tag), (name, row)
            history = store.all("SELECT change, old_body, old_caption FROM message_changes WHERE message_id = ?", [row["id"]])
            assert history == [("edited", *expect["was"])], (name, history)
    elif kind == "template":
        assert store.one("SELECT status FROM templates WHERE name = 'abandoned_cart'")[0] == expect["status"]
    else:
        assert len(new) == 1, (name, new)
        return new[0]["id"]
    return None


def payload_tag(name: str) -> str:
    return f"~{name[:2]}{sorted(EXPECT).index(name)}"


def test_every_payload_of_the_corpus_is_stored_as_what_it_is(gw, caplog):
    client, store, (wa, ms, tg) = gw
    files = sorted(CORPUS.glob("*/*.json"))
    assert {f.stem for f in files} == set(EXPECT)  # every payload of the corpus has its expectation
    assert len(files) == 62
    stored = {}
    caplog.set_level(logging.INFO)
    for n, path in enumerate(files):
        name, channel = path.stem, {"wa": "whatsapp", "fb": "messenger", "tg": "telegram"}[path.stem[:2]]
        expect, tag = EXPECT[name], payload_tag(name)
        payload = json.loads(path.read_text())
        payload = {"whatsapp": lambda p: _whatsapp(p, tag, wa), "messenger": lambda p: _messenger(p, tag, ms),
                   "telegram": lambda p: _telegram(p, tag, n, tg)}[channel](payload)
        _prepare(store, name, channel, payload, expect)
        before = store.one("SELECT coalesce(max(id), 0) FROM messages")[0]
        r = _post(client, channel, payload)
        assert r.status_code == 200, (name, r.status_code, r.text)
        found = _check_now(store, name, channel, payload, expect, before)
        if found is not None:
            stored[name] = found
        # Delivered again, as providers do: nothing more is stored, nothing changes.
        snapshot = store.all(f"SELECT {ALL_BUT_REACTED_AT} FROM messages ORDER BY id")
        assert _post(client, channel, payload).status_code == 200
        assert store.all(f"SELECT {ALL_BUT_REACTED_AT} FROM messages ORDER BY id") == snapshot, name

    fetcher = Fetcher(store, clients())
    for _ in range(10):
        if not store.one("SELECT count(*) FROM pending_media")[0]:
            break
        fetcher.run_once()
    assert store.one("SELECT count(*) FROM pending_media")[0] == 0

    for name, message_id in stored.items():
        expect, tag = EXPECT[name], payload_tag(name)
        row = store.dicts("SELECT m.*, f.kind AS file_kind, f.mime, f.filename FROM messages m"
                          " LEFT JOIN attachments f ON f.id = m.attachment_id WHERE m.id = ?", [message_id])[0]
        assert row["kind"] == expect["kind"], (name, row)
        for field in ("body", "caption"):
            want = expect[field]
            assert row[field] == (want.replace("{t}", tag) if want else None), (name, field, row[field])
        assert (row["file_kind"], row["mime"]) == (expect["file"] or (None, None)), (name, row)
        assert row["error"] is None, (name, row["error"])
        if expect["name"]:
            assert row["filename"] == expect["name"], (name, row["filename"])
        details = json.loads(row["details"]) if row["details"] else {}
        assert {k: details.get(k) for k in expect["details"]} == expect["details"], (name, details)
        if expect["kind"] == "unsupported":
            assert NOT_SHOWN in row["body"] or "changed their WhatsApp number" in row["body"], name
    # Unknown parts left a line in the log saying what was skipped.
    assert "WhatsApp webhook field 'smb_message_echoes' skipped" in caplog.text
    assert "Telegram update ['inline_query'] skipped" in caplog.text


def _wa(messages=(), statuses=(), extra_changes=()):
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1555", "phone_number_id": PNID},
             "contacts": [{"profile": {"name": "Rina"}, "wa_id": "6281200000001"}],
             "messages": list(messages), "statuses": list(statuses)}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA, "changes": [{"field": "messages", "value": value}, *extra_changes]}]}


def _text(mid, text, sender="6281200000001"):
    return {"from": sender, "id": mid, "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}


def test_unknown_statuses_fields_and_types_are_skipped_and_the_messages_beside_them_stored(gw, caplog):
    client, store, _ = gw
    caplog.set_level(logging.INFO)
    statuses = [{"id": "wamid.OURS", "status": "deleted", "timestamp": "1", "recipient_id": "6281200000001"},
                {"id": "wamid.OURS", "status": "warning", "timestamp": "1", "recipient_id": "6281200000001"}]
    odd = {"from": "6281200000001", "id": "wamid.ODD", "timestamp": str(int(time.time())), "type": "hologram",
           "hologram": {}}
    payload = _wa([_text("wamid.M1", "Kak, pesanan saya?"), odd, _text("wamid.M2", "Sudah transfer")], statuses,
                  [{"field": "account_alerts", "value": {"x": 1}}])
    r = _post(client, "whatsapp", payload)
    assert r.status_code == 200, r.text
    rows = dict(store.all("SELECT provider_message_id, body FROM messages WHERE direction = 'in'"))
    assert rows == {"wamid.M1": "Kak, pesanan saya?", "wamid.M2": "Sudah transfer",
                    "wamid.ODD": "The customer sent a kind of message — not shown here: open it in WhatsApp."}
    assert "WhatsApp status 'deleted' skipped" in caplog.text and "WhatsApp status 'warning' skipped" in caplog.text
    assert "WhatsApp webhook field 'account_alerts' skipped" in caplog.text


def test_a_reaction_attaches_to_its_message_and_reopens_nothing(gw):
    client, store, _ = gw
    assert _post(client, "whatsapp", _wa([_text("wamid.T", "Terima kasih")])).status_code == 200
    chat_id = store.one("SELECT chat_id FROM messages WHERE provider_message_id = 'wamid.T'")[0]
    admin = store.one("SELECT id FROM agents ORDER BY id LIMIT 1")[0]
    actions.resolve(store, chat_id, admin)
    actions.archive(store, chat_id, admin)
    actions.mark_read(store, chat_id, admin)
    before = store.dicts("SELECT status, archived, unread, last_preview, session_id FROM chats WHERE id = ?", [chat_id])
    last = store.one("SELECT max(id) FROM messages")[0]

    def react(rid, emoji, ts):
        return {"from": "6281200000001", "id": rid, "timestamp": str(ts), "type": "reaction",
                "reaction": {"message_id": "wamid.T", "emoji": emoji}}
    now = int(time.time())
    assert _post(client, "whatsapp", _wa([react("wamid.R1", "👍", now - 5)])).status_code == 200
    assert store.one("SELECT reaction FROM messages WHERE provider_message_id = 'wamid.T'")[0] == "👍"
    # Taken back (WhatsApp sends an empty emoji), then an older reaction delivered late changes nothing.
    assert _post(client, "whatsapp", _wa([react("wamid.R2", "", now)])).status_code == 200
    assert _post(client, "whatsapp", _wa([react("wamid.R1", "👍", now - 5)])).status_code == 200
    assert store.one("SELECT reaction FROM messages WHERE provider_message_id = 'wamid.T'")[0] is None
    # No new message, no activity line, no notification, chat still resolved and archived.
    assert store.one("SELECT max(id) FROM messages")[0] == last
    assert inbox.new_inbound_since(store, last) == []
    assert store.dicts("SELECT status, archived, unread, last_preview, session_id FROM chats WHERE id = ?",
                       [chat_id]) == before


def test_changes_about_a_message_we_do_not_have_are_skipped_with_200(gw, caplog):
    client, store, _ = gw
    caplog.set_level(logging.INFO)
    ts = str(int(time.time()))
    changes = [{"from": "628", "id": "wamid.C1", "timestamp": ts, "type": "reaction",
                "reaction": {"message_id": "wamid.NOPE", "emoji": "👍"}},
               {"from": "628", "id": "wamid.C2", "timestamp": ts, "type": "revoke",
                "revoke": {"original_message_id": "wamid.NOPE"}},
               {"from": "628", "id": "wamid.C3", "timestamp": ts, "type": "edit",
                "edit": {"original_message_id": "wamid.NOPE", "message": {"type": "text", "text": {"body": "x"}}}}]
    assert _post(client, "whatsapp", _wa(changes)).status_code == 200
    assert store.one("SELECT count(*) FROM messages")[0] == 0
    assert store.one("SELECT count(*) FROM chats")[0] == 0  # a reaction alone starts no chat
    for what in ("reaction", "deleted", "edited"):
        assert f"whatsapp {what} for unknown message wamid.NOPE skipped" in caplog.text


def test_edits_keep_every_earlier_text_and_a_deletion_keeps_the_original(gw):
    client, store, _ = gw
    assert _post(client, "telegram", {"update_id": 1, "message": {
        "message_id": 10, "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "first_name": "Ayu"},
        "date": int(time.time()), "text": "Alamat: Jl. Mawar 1"}}).status_code == 200
    for n, (text, at) in enumerate((("Alamat: Jl. Mawar 10", 100), ("Alamat: Jl. Mawar 12", 200))):
        edit = {"update_id": 2 + n, "edited_message": {"message_id": 10, "chat": {"id": 42, "type": "private"},
                                                       "date": 1, "edit_date": int(time.time()) - 1000 + at,
                                                       "text": text}}
        assert _post(client, "telegram", edit).status_code == 200
        assert _post(client, "telegram", edit).status_code == 200  # repeated: one history line
    row = store.dicts("SELECT id, body, edited_at FROM messages WHERE provider_message_id = '42:10'")[0]
    assert row["body"] == "Alamat: Jl. Mawar 12" and row["edited_at"] is not None
    assert store.one("SELECT last_preview FROM chats WHERE channel_user_id = '42'")[0] == "Alamat: Jl. Mawar 12"
    assert store.all("SELECT old_body FROM message_changes WHERE message_id = ? ORDER BY changed_at", [row["id"]]) == [
        ("Alamat: Jl. Mawar 1",), ("Alamat: Jl. Mawar 10",)]
    # WhatsApp: revoked; the text stays for the team, the message says it was deleted.
    assert _post(client, "whatsapp", _wa([_text("wamid.D", "nomor rekening 123")])).status_code == 200
    revoke = {"from": "6281200000001", "id": "wamid.RV", "timestamp": str(int(time.time())), "type": "revoke",
              "revoke": {"original_message_id": "wamid.D"}}
    assert _post(client, "whatsapp", _wa([revoke])).status_code == 200
    assert _post(client, "whatsapp", _wa([revoke])).status_code == 200
    row = store.dicts("SELECT id, body, deleted_at FROM messages WHERE provider_message_id = 'wamid.D'")[0]
    assert row["body"] == "nomor rekening 123" and row["deleted_at"] is not None
    assert store.all("SELECT change, old_body FROM message_changes WHERE message_id = ?", [row["id"]]) == [
        ("deleted", "nomor rekening 123")]
    assert store.one("SELECT last_preview FROM chats WHERE channel_user_id = '6281200000001'")[0] == \
        "Deleted by the customer"
