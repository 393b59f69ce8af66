"""Reaching customers first (SPEC §12): a new chat by initiate template, a
broadcast paced through the outbox, templates synced with WhatsApp, the
Channels page's facts and `Send test`. Against the fake providers over
real HTTP on 127.0.0.1, checking the bodies they receive."""
from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

from maxchat_data import (actions, broadcasts, channel_health, i18n, labels, new_chat, outbox, system, template_sync,
                          templates)
from maxchat_data.broadcasts import Audience
from maxchat_data.channels import Permanent, clients, whatsapp
from maxchat_data.errors import NotAllowed, ValidationError
from maxchat_data.ingest import store_parsed
from maxchat_data.retry import RetryPolicy
from maxchat_data.store import Store
from server.delivery import DeliveryWorker
from tests.conftest import QUICK_DELIVERY, customer_writes, wait_until
from tests.fakes import FakeWhatsApp, graph_error, listed_template, rate_limited, server_error
from tests.fakes.helpers import PNID, env_for, wa_template_update
from tests.live_server import live_server
from tests.test_channels import chat_on, fakes, settled  # fakes is a fixture

pytestmark = pytest.mark.both_backends  # the same rules on DuckDB and PostgreSQL

def initiate_template(store, body="Halo {{1}}, pesanan {{2}} siap.", name="promo", channel="whatsapp",
                      accepted=True, initiate=True) -> int:
    tid = system.create_template(store, channel=channel, name=name, language="id", category="MARKETING",
                                 body=body, initiate=initiate)
    if accepted:
        system.review_template(store, tid, "Accepted")
    return tid


def counts(store) -> tuple:
    return store.one("SELECT (SELECT count(*) FROM chats), (SELECT count(*) FROM messages WHERE direction = 'out'),"
                     " (SELECT count(*) FROM outbox), (SELECT count(*) FROM contacts)")


def delivered_to(wa) -> Counter:
    """Numbers the fake accepted a message for (answered 200), with how many."""
    return Counter(c.json["to"] for c in wa.calls("messages", "POST") if c.reply and c.reply.status == 200)


@pytest.fixture
def worker(store, fakes):
    w = DeliveryWorker(store, clients(), poll=0.02, policy=QUICK_DELIVERY).start()
    yield w
    w.stop()


# ---- N1 new chat ---------------------------------------------------------------------------
@pytest.mark.parametrize("typed, number", [
    ("0812-3456-7890", "+6281234567890"), ("+62 812 3456 7890", "+6281234567890"),
    ("6281234567890", "+6281234567890"), ("(0812) 3456.7890", "+6281234567890"),
    ("+1 415 555 0100", "+14155550100"), ("0044 20 7946 0958", "+442079460958")])
def test_numbers_are_normalised_to_e164(typed, number):
    assert new_chat.normalize_number(typed) == number


@pytest.mark.parametrize("typed, says", [
    ("", "Type a WhatsApp number"), ("0212345678", "not a mobile number"), ("+62 812 abc", "digits 0-9 only"),
    ("+1234", "8 to 15 digits"), ("+6221555123", "Indonesian mobile"), ("+0812345678", "digits only"),
    ("12345678901234567", "8 to 15 digits")])
def test_bad_numbers_are_refused_with_the_reason(typed, says):
    with pytest.raises(ValidationError, match=says):
        new_chat.normalize_number(typed)


# Issue 17: str.isdigit() took these for digits, and made a number nobody had blocked.
LOOKALIKE_DIGITS = {"arabic-indic": "+٦٢٨١٢٠٠٠٠٠٠٠١", "eastern-arabic": "۰۸۱۲۰۰۰۰۰۰۰۱",
                    "fullwidth": "０８１２-０００-０００-０１", "superscript": "+⁶²81200000001",
                    "one-fullwidth-digit": "+62812000000０1"}


@pytest.mark.parametrize("typed", LOOKALIKE_DIGITS.values(), ids=LOOKALIKE_DIGITS.keys())
def test_a_blocked_contacts_number_in_lookalike_digits_is_refused_everywhere(store, team, fakes, worker, typed):
    wa = fakes[0]
    tid = initiate_template(store)
    blocked = chat_on(store, "whatsapp")  # +6281200000001
    actions.block(store, blocked, team["admin"])
    before = counts(store)
    with pytest.raises(ValidationError, match="digits 0-9 only"):
        new_chat.normalize_number(typed)
    with pytest.raises(ValidationError, match="digits 0-9 only"):
        new_chat.start(store, team["budi"], tid, ["Rina", "A"], number=typed)
    found = broadcasts.read_csv(f"phone,name,var1,var2\n{typed},Rina,Rina,A\n081234567890,Budi,Budi,B\n".encode(), 2)
    assert [r.number for r in found.rows] == ["+6281234567890"]
    assert len(found.errors) == 1 and found.errors[0][0] == 2 and "digits 0-9 only" in found.errors[0][1]
    assert counts(store) == before
    time.sleep(0.2)
    assert wa.sent() == []


def test_new_chat_to_a_number_sends_the_template_and_opens_a_business_initiate_chat(store, team, fakes, worker):
    wa = fakes[0]
    tid = initiate_template(store)
    chat_id, mid = new_chat.start(store, team["budi"], tid, ["Rina", "A-17"], number="0812-3456-7890", name="Rina")
    assert settled(store, mid)["status"] == "sent"
    (call,) = wa.calls("messages")
    assert call.path == f"/{PNID}/messages"
    assert call.json == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "6281234567890",
                         "type": "template", "template": {
                             "name": "promo", "language": {"code": "id"},
                             "components": [{"type": "body", "parameters": [{"type": "text", "text": "Rina"},
                                                                            {"type": "text", "text": "A-17"}]}]}}
    chat = store.dicts("SELECT c.channel, c.channel_user_id, c.contact_name, c.status, c.assignee_id, s.initiated_by,"
                       " ct.phone FROM chats c JOIN sessions s ON s.id = c.session_id JOIN contacts ct"
                       " ON ct.id = c.contact_id WHERE c.id = ?", [chat_id])[0]
    assert chat == {"channel": "whatsapp", "channel_user_id": "6281234567890", "contact_name": "Rina",
                    "status": "Answered", "assignee_id": team["budi"], "initiated_by": "Business initiate",
                    "phone": "+6281234567890"}
    body = store.one("SELECT body FROM messages WHERE id = ?", [mid])[0]
    assert body == "Halo Rina, pesanan A-17 siap."
    # The customer's reply lands in that chat (C1), in the same session.
    reply = customer_writes(store, user="6281234567890", text="Terima kasih")
    assert reply.chat_id == chat_id
    assert store.one("SELECT initiated_by FROM sessions WHERE id = (SELECT session_id FROM chats WHERE id = ?)",
                     [chat_id])[0] == "Business initiate"


def test_new_chat_to_an_existing_contact_uses_their_chat(store, team, fakes, worker):
    wa = fakes[0]
    chat = chat_on(store, "whatsapp")
    actions.resolve(store, chat, team["budi"])
    tid = initiate_template(store, body="Halo {{1}}")
    chat_id, mid = new_chat.start(store, team["budi"], tid, ["Rina"], chat_id=chat)
    assert chat_id == chat and settled(store, mid)["status"] == "sent"
    assert wa.sent()[0]["to"] == "6281200000001"
    # a number typed for that same contact finds the same chat
    again, _ = new_chat.start(store, team["budi"], tid, ["Rina"], number="+6281200000001")
    assert again == chat and store.one("SELECT count(*) FROM chats")[0] == 1


def test_new_chat_bad_input_is_refused_and_nothing_is_sent(store, team, fakes, worker):
    wa = fakes[0]
    good = initiate_template(store)
    pending = initiate_template(store, name="pending_one", accepted=False)
    plain = initiate_template(store, name="not_initiate", initiate=False)
    ms_tpl = initiate_template(store, name="ms_one", channel="messenger")
    ms_chat, tg_chat = chat_on(store, "messenger"), chat_on(store, "telegram")
    before = counts(store)
    cases = [
        (dict(template_id=good, values=["Rina", "A"], number="0812"), ValidationError, "8 to 15 digits"),
        (dict(template_id=good, values=["Rina", "A"], number="021 555 1234"), ValidationError, "not a mobile"),
        (dict(template_id=pending, values=["Rina", "A"], number="081234567890"), NotAllowed, "is Pending"),
        (dict(template_id=plain, values=["Rina", "A"], number="081234567890"), NotAllowed, "not set as an initiate"),
        (dict(template_id=good, values=["Rina", " "], number="081234567890"), ValidationError, r"Fill in value \{\{2\}\}"),
        (dict(template_id=good, values=["Rina"], number="081234567890"), ValidationError, "needs 2 value"),
        (dict(template_id=ms_tpl, values=["Rina", "A"], chat_id=ms_chat), NotAllowed, "Messenger and Telegram do not"),
        (dict(template_id=good, values=["Rina", "A"], chat_id=tg_chat), NotAllowed, "Messenger and Telegram do not"),
        (dict(template_id=good, values=["Rina", "A"]), ValidationError, "Choose a contact or type"),
    ]
    for kw, error, says in cases:
        tid, values = kw.pop("template_id"), kw.pop("values")
        with pytest.raises(error, match=says):
            new_chat.start(store, team["budi"], tid, values, **kw)
    assert counts(store) == before
    time.sleep(0.2)
    assert wa.sent() == []


# ---- N2 broadcast ----------------------------------------------------------------------------
def csv_of(n: int, start: int = 0) -> bytes:
    lines = ["phone,name,var1,var2"] + [f"0812{start + i:08d},Cust {i},Cust {i},ORD-{i}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def test_csv_bad_rows_are_reported_with_line_and_reason():
    data = ("phone,name,var1,var2\n"
            "081234567890,Rina,Rina,A1\n"
            "0812,Too short,x,y\n"
            "081234567890,Twice,Rina,A2\n"
            "081299999999,No value,Budi,\n"
            "081288888888,Extra,a,b,c\n"
            "\n"
            '081277777777,"Quoted, name",Sari,"A,3"\n').encode()
    found = broadcasts.read_csv(data, 2)
    assert [(r.line, r.number, r.name, r.values) for r in found.rows] == [
        (2, "+6281234567890", "Rina", ["Rina", "A1"]), (8, "+6281277777777", "Quoted, name", ["Sari", "A,3"])]
    assert [(line, reason.split(":")[0]) for line, reason in found.errors] == [
        (3, "'0812' is not a valid number"), (4, "+6281234567890 is already on line 2"), (5, "var2 is empty"),
        (6, "5 values where the header has 4")]
    # the name column may be left out
    assert broadcasts.read_csv(b"phone,var1\n+14155550100,Al\n", 1).rows[0].values == ["Al"]


def test_csv_preview_shows_how_columns_fill_the_template_and_the_first_messages_as_sent(store, team):
    """Issue 18.6: before sending, which column fills which variable, and the
    first recipients' messages exactly as each customer reads them; markup
    in a value stays text. Nothing is written."""
    tid = initiate_template(store, body="Halo {{1}}, pesanan {{2}} siap.")
    assert [(m["Column"], m["Becomes"].split(" ")[0]) for m in broadcasts.csv_mapping(2)] == [
        ("phone", "the"), ("name", "the"), ("var1", "{{1}}"), ("var2", "{{2}}")]
    data = "phone,name,var1,var2\n" + "".join(f"0812000000{i:02d},Pelanggan {i},Kak {i},<b>A{i}</b>\n"
                                              for i in range(7))
    rows = tuple(broadcasts.read_csv(data.encode(), 2).rows)
    before = counts(store)
    plan = broadcasts.preview(store, team["sari"], tid, Audience("csv", rows=rows))
    assert plan["recipients"] == 7 and plan["variables"] == ["{{1}} ← var1", "{{2}} ← var2"]
    assert [(r["line"], r["to"], r["name"], r["values"]) for r in plan["first"][:2]] == [
        (2, "+6281200000000", "Pelanggan 0", ["Kak 0", "<b>A0</b>"]),
        (3, "+6281200000001", "Pelanggan 1", ["Kak 1", "<b>A1</b>"])]
    assert len(plan["first"]) == broadcasts.PREVIEW_ROWS == 5
    assert plan["first"][4]["message"] == "Halo Kak 4, pesanan <b>A4</b> siap."
    assert counts(store) == before and store.one("SELECT count(*) FROM broadcasts")[0] == 0
    # What the preview shows is what is sent.
    bid = broadcasts.create(store, team["sari"], tid, Audience("csv", rows=rows), rate=50)
    sent = [b for (b,) in store.all("SELECT m.body FROM broadcast_recipients r JOIN messages m ON m.id = r.message_id"
                                    " WHERE r.broadcast_id = ? ORDER BY r.line LIMIT 5", [bid])]
    assert sent == [r["message"] for r in plan["first"]]


@pytest.mark.parametrize("data, says", [
    (b"number,var1,var2\n081234567890,a,b\n", "The first line must name the columns phone,name,var1,var2"),
    (b"phone,name,var1\n081234567890,a,b\n", "The first line must name the columns"),
    (b"", "The file is empty"),
    (b"phone,name,var1,var2\n0812345678,Ren\xe9,a,b\n", r"not UTF-8 text \(line 2\)"),
    (b"phone,name,var1,var2\n" + b"081234567890,a,b,c\n" * 600_000, "a CSV can be at most 1 MB"),
])
def test_unreadable_csv_is_refused_as_a_whole(data, says):
    with pytest.raises(ValidationError, match=says):
        broadcasts.read_csv(data, 2)


def test_ten_megabyte_csv_is_refused():
    with pytest.raises(ValidationError, match=r"The file is 10.0 MB"):
        broadcasts.read_csv(b"x" * (10 * 1024 * 1024), 2)


def test_broadcast_bad_input_changes_nothing(store, team, fakes, worker):
    wa = fakes[0]
    good = initiate_template(store)
    pending = initiate_template(store, name="pending_one", accepted=False)
    plain = initiate_template(store, name="not_initiate", initiate=False)
    ms_tpl = initiate_template(store, name="ms_one", channel="messenger")
    vip = labels.create_label(store, "VIP", next(iter(labels.PALETTE)), team["admin"])
    blocked_chat = chat_on(store, "whatsapp")
    labels.set_label(store, blocked_chat, vip, True, team["admin"])
    actions.block(store, blocked_chat, team["admin"])
    rows = tuple(broadcasts.read_csv(csv_of(3), 2).rows)
    before = counts(store)
    cases = [
        (team["budi"], good, Audience("csv", rows=rows), [], NotAllowed, "Only supervisors and admins"),
        (team["sari"], pending, Audience("csv", rows=rows), [], NotAllowed, "is Pending"),
        (team["sari"], plain, Audience("csv", rows=rows), [], NotAllowed, "not set as an initiate"),
        (team["sari"], ms_tpl, Audience("channel"), ["a", "b"], NotAllowed, "Messenger and Telegram do not"),
        (team["sari"], good, Audience("channel"), ["{{contact.name}}"], ValidationError, "needs 2 value"),
        (team["sari"], good, Audience("channel"), ["{{contact.name}}", ""], ValidationError, r"Fill in value \{\{2\}\}"),
        (team["sari"], good, Audience("csv", rows=()), [], ValidationError, "no row that can be sent"),
        (team["sari"], good, Audience("label", label_ids=()), ["a", "b"], ValidationError, "Choose at least one label"),
        (team["sari"], good, Audience("channel"), ["a", "b"], ValidationError, "all 1 are blocked contacts"),
    ]
    cases.append((team["sari"], good, Audience("label", label_ids=(vip,)), ["a", "b"], ValidationError,
                  "all 1 are blocked"))
    for actor, tid, audience, values, error, says in cases:
        with pytest.raises(error, match=says):
            broadcasts.create(store, actor, tid, audience, values, rate=50)
    with pytest.raises(ValidationError, match="between 0.1 and 1,000"):
        broadcasts.create(store, team["sari"], good, Audience("csv", rows=rows), rate=5000)
    assert counts(store) == before and store.one("SELECT count(*) FROM broadcasts")[0] == 0
    time.sleep(0.2)
    assert wa.sent() == []


@pytest.mark.slow
def test_broadcast_of_500_at_the_set_rate_through_a_429_and_a_500(store, team, fakes, worker):
    wa = fakes[0]
    tid = initiate_template(store)
    rate = 100.0
    rows = tuple(broadcasts.read_csv(csv_of(500), 2).rows)
    started = time.monotonic()
    bid = broadcasts.create(store, team["sari"], tid, Audience("csv", rows=rows), rate=rate)
    assert time.monotonic() - started < 5  # one set-based write
    wait_until(lambda: len(wa.sent()) >= 200, 20)
    wa.script("messages", rate_limited(retry_after=1), server_error())
    assert wait_until(lambda: broadcasts.progress(store, bid)["done"], 40), broadcasts.progress(store, bid)
    p = broadcasts.progress(store, bid)
    assert p["counts"] == {"queued": 0, "sent": 500, "delivered": 0, "read": 0, "failed": 0}
    assert p["state_label"] == "Finished" and p["total"] == 500
    got = delivered_to(wa)
    assert len(got) == 500 and set(got.values()) == {1}  # everyone exactly once
    sent = [c for c in wa.calls("messages") if c.reply and c.reply.status == 200]
    wanted = {r.number[1:]: r.values for r in rows}
    for call in sent:  # each got their own row's values, in order
        params = call.json["template"]["components"][0]["parameters"]
        assert [p["text"] for p in params] == wanted[call.json["to"]]
    # The pace: never faster than the rate (plus the bucket's quarter-second burst) …
    span = sent[-1].at - sent[0].at
    assert span >= (500 - rate * 0.25 - 2) / rate, span
    # … and the 429's Retry-After held the whole broadcast for its second
    # (but for the calls already on the wire, one per sending thread).
    refused = next(c for c in wa.calls("messages") if c.reply and c.reply.status == 429)
    within = [c for c in wa.calls("messages") if refused.at < c.at < refused.at + 0.9]
    assert len(within) <= 4, len(within)
    # outside the paused second the pace is not far below the rate: a pacer
    # that waits more than its step shows here. (Not closer: on a loaded
    # 2-core CI run the sending itself, not the pacer, managed 57/s of 100.)
    busy = span - 1.0 - QUICK_DELIVERY.base * 1.2  # the 429's wait and the 500's back-off (at most, with jitter)
    assert 500 / busy >= rate * 0.45, (500 / busy, rate)


def test_an_agent_reply_goes_before_a_broadcast_on_the_same_channel(store, team, fakes, worker):
    wa = fakes[0]
    tid = initiate_template(store)
    bid = broadcasts.create(store, team["sari"], tid, Audience("csv", rows=tuple(broadcasts.read_csv(csv_of(60), 2).rows)),
                            rate=2)
    wait_until(lambda: len(wa.sent()) >= 1, 5)
    chat = customer_writes(store, user="6281999999999", text="Halo").chat_id
    mid = actions.reply(store, chat, team["budi"], "Siap, kami bantu")
    t0 = time.monotonic()
    assert settled(store, mid, timeout=5)["status"] == "sent"
    assert time.monotonic() - t0 < 1.5
    assert broadcasts.progress(store, bid)["counts"]["queued"] > 40  # the broadcast is still going, slowly
    broadcasts.cancel(store, bid, team["sari"])


def test_pause_and_cancel(store, team, fakes, worker):
    wa = fakes[0]
    tid = initiate_template(store)
    bid = broadcasts.create(store, team["sari"], tid, Audience("csv", rows=tuple(broadcasts.read_csv(csv_of(100), 2).rows)),
                            rate=20)
    wait_until(lambda: len(wa.sent()) >= 10, 10)
    broadcasts.pause(store, bid, team["sari"])
    time.sleep(0.5)  # what was in flight ends
    paused_at = len(wa.sent())
    time.sleep(1.0)
    assert len(wa.sent()) == paused_at < 100
    assert broadcasts.progress(store, bid)["state_label"] == "Paused"
    with pytest.raises(NotAllowed, match="cannot be paused"):
        broadcasts.pause(store, bid, team["sari"])
    broadcasts.resume(store, bid, team["sari"])
    wait_until(lambda: len(wa.sent()) >= paused_at + 10, 10)
    ended = broadcasts.cancel(store, bid, team["sari"])
    time.sleep(0.5)
    final = len(wa.sent())
    time.sleep(0.8)
    assert len(wa.sent()) == final < 100
    p = broadcasts.progress(store, bid)
    assert p["state_label"] == "Cancelled" and p["done"]
    assert p["counts"]["failed"] == ended and p["counts"]["sent"] == final == 100 - ended
    failed = broadcasts.recipients(store, bid, status="failed", limit=5)
    assert failed and all(r["error"] == broadcasts.CANCELLED for r in failed)
    assert set(delivered_to(wa).values()) == {1}
    with pytest.raises(NotAllowed, match="cannot be resumed"):
        broadcasts.resume(store, bid, team["sari"])


def test_broadcast_by_label_skips_blocked_contacts_and_replies_land_as_chats(store, team, fakes, worker):
    wa = fakes[0]
    tid = initiate_template(store, body="Halo {{1}}, promo {{2}}")
    vip = labels.create_label(store, "VIP", next(iter(labels.PALETTE)), team["admin"])
    chats = [customer_writes(store, user=f"62812000000{i:02d}", name=f"Cust {i}").chat_id for i in range(5)]
    for chat in chats[:4]:
        labels.set_label(store, chat, vip, True, team["admin"])
    actions.resolve(store, chats[0], team["admin"])
    actions.block(store, chats[1], team["admin"])
    actions.assign(store, chats[2], team["budi"], team["admin"])
    bid = broadcasts.create(store, team["sari"], tid, Audience("label", label_ids=(vip,)),
                            ["{{contact.name}}", "Lebaran"], rate=50)
    assert wait_until(lambda: broadcasts.progress(store, bid)["done"], 10)
    p = broadcasts.progress(store, bid)
    assert p["total"] == 3 and p["skipped_blocked"] == 1 and p["counts"]["sent"] == 3
    assert sorted(c["to"] for c in wa.sent()) == ["6281200000000", "6281200000002", "6281200000003"]
    texts = {c["to"]: c["template"]["components"][0]["parameters"][0]["text"] for c in wa.sent()}
    assert texts["6281200000000"] == "Cust 0"
    state = {r[0]: r[1:] for r in store.all(
        "SELECT c.id, c.status, c.assignee_id, s.initiated_by FROM chats c JOIN sessions s ON s.id = c.session_id")}
    assert state[chats[0]] == ("Open", None, "Business initiate")      # resolved: a new session, held by the BOT
    assert state[chats[2]] == ("Answered", team["budi"], "User initiate")  # active: keeps its session and agent
    reply = customer_writes(store, user="6281200000000", text="Mau promo")
    assert reply.chat_id == chats[0]
    assert store.one("SELECT status FROM chats WHERE id = ?", [chats[0]])[0] == "Open"


# ---- N3 template sync ------------------------------------------------------------------------
def test_template_sync_follows_paging_and_marks_deleted_templates(store, team, fakes):
    wa = fakes[0]
    wa.page_size = 2
    wa.listed = [listed_template("promo_a", "Halo {{1}}", tid="11"),
                 listed_template("promo_b", "Hi {{1}} {{2}}", language="en", category="UTILITY", tid="12"),
                 listed_template("promo_c", "No", status="REJECTED", reason="INVALID_FORMAT", tid="13")]
    local = initiate_template(store, name="promo_a", body="old body")  # matched by name + language
    result = template_sync.sync(store, whatsapp.Client())
    assert (result.added, result.updated, result.deleted) == (2, 1, 0)
    pages = wa.calls("message_templates", "GET")
    assert len(pages) == 2 and pages[0].query["fields"] == whatsapp.Client.TEMPLATE_FIELDS
    assert pages[1].query["after"] == "2"
    rows = {t["name"]: t for t in templates.list_templates(store, "whatsapp")}
    assert rows["promo_a"]["id"] == local and rows["promo_a"]["body"] == "Halo {{1}}"
    assert rows["promo_a"]["initiate"] and rows["promo_a"]["provider_template_id"] == "11"  # ours stays ours
    assert (rows["promo_b"]["status"], rows["promo_b"]["variables"], rows["promo_b"]["category"]) == ("Accepted", 2, "UTILITY")
    assert (rows["promo_c"]["status"], rows["promo_c"]["status_reason"]) == ("Rejected", "INVALID_FORMAT")
    # deleted on WhatsApp: shown as such, no longer offered or sendable
    wa.listed = wa.listed[1:]
    assert template_sync.sync(store, whatsapp.Client()).deleted == 1
    assert store.one("SELECT deleted_at IS NOT NULL FROM templates WHERE id = ?", [local])[0]
    assert [t["name"] for t in templates.initiate_templates(store, "whatsapp")] == []
    with pytest.raises(NotAllowed, match="deleted on WhatsApp"):
        new_chat.start(store, team["budi"], local, ["Rina"], number="081234567890")


def test_review_webhooks_keep_templates_current_deleted_included(store, fakes):
    tid = initiate_template(store, name="order_update", body="Halo {{1}}", accepted=False)
    store_parsed(store, whatsapp.parse(wa_template_update("APPROVED", "order_update", "id", "9001")))
    assert templates.initiate_templates(store, "whatsapp")[0]["id"] == tid
    store_parsed(store, whatsapp.parse(wa_template_update("DISABLED", "order_update", "id", "9001")))
    assert store.one("SELECT status FROM templates WHERE id = ?", [tid])[0] == "Rejected"
    store_parsed(store, whatsapp.parse(wa_template_update("REINSTATED", "order_update", "id", "9001")))
    store_parsed(store, whatsapp.parse(wa_template_update("DELETED", "order_update", "id", "9001")))
    assert templates.initiate_templates(store, "whatsapp") == []


def test_template_sync_errors_are_sentences(store, fakes, monkeypatch):
    wa = fakes[0]
    wa.script("message_templates", graph_error(400, 100, "(#100) Invalid WABA id"))
    with pytest.raises(Permanent, match="Invalid WABA id"):
        template_sync.sync(store, whatsapp.Client())
    monkeypatch.delenv("WHATSAPP_WABA_ID")
    with pytest.raises(ValidationError, match="Set WHATSAPP_WABA_ID"):
        template_sync.sync(store, whatsapp.Client())


# ---- N3 channels page facts and Send test -----------------------------------------------------
def test_channel_overview_and_send_test(store, team, fakes, monkeypatch):
    wa, ms, tg = fakes
    monkeypatch.setenv("WHATSAPP_TOKEN", "EAAG-a-long-secret-token-1234")
    chat_on(store, "whatsapp")
    items = {i["channel"]: i for i in channel_health.overview(store, host="inbox.example.com", proto="https")}
    assert items["whatsapp"]["webhook_url"] == "https://inbox.example.com/webhooks/whatsapp"
    assert items["whatsapp"]["connected"] and items["whatsapp"]["last_inbound_at"] is not None
    assert items["messenger"]["last_inbound_at"] is None
    shown = " ".join(v for i in items.values() for _, v in i["settings"])
    for secret in ("EAAG-a-long-secret-token-1234", "wa-app-secret", "page-token", "123:ABC", "tg-secret"):
        assert secret not in shown
    assert ("WHATSAPP_TOKEN", "…1234 (29 characters)") in items["whatsapp"]["settings"]
    monkeypatch.setenv("MAXCHAT_PUBLIC_URL", "https://chat.toko.id/")
    assert channel_health.overview(store)[2]["webhook_url"] == "https://chat.toko.id/webhooks/telegram"
    monkeypatch.setenv("WHATSAPP_TOKEN", "wa-token")
    assert channel_health.send_test(store, "whatsapp", team["admin"]) == "Phone number +62 811-0000-000 (Toko Maju), quality GREEN"
    assert wa.calls(PNID, "GET")[0].headers["authorization"] == "Bearer wa-token"
    assert channel_health.send_test(store, "messenger", team["admin"]) == "Page Toko Maju Page (id PAGE1)"
    assert ms.calls("me", "GET")[0].query["access_token"] == "page-token"
    assert channel_health.send_test(store, "telegram", team["admin"]) == "Bot @tokomaju_bot (Toko Maju)"
    assert tg.calls("getMe")
    monkeypatch.setenv("WHATSAPP_TOKEN", "wrong")
    with pytest.raises(Permanent) as refused:
        channel_health.send_test(store, "whatsapp", team["admin"])
    assert i18n.shown(str(refused.value)) == "WhatsApp refused the access token: check WHATSAPP_TOKEN"


def test_last_delivery_error_is_shown_per_channel(store, team, fakes, worker):
    wa = fakes[0]
    wa.script("messages", graph_error(400, 131026, "Undeliverable"))
    mid = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "hi")
    assert settled(store, mid)["status"] == "failed"
    item = channel_health.overview(store)[0]
    assert item["last_error"] == "The customer cannot receive WhatsApp messages on this number"


# ---- a restart halfway --------------------------------------------------------------------------
def _server_pid(base_url: str) -> int:
    from tests.test_channels_e2e import _server_pid as pid
    return pid(base_url)


def test_broadcast_killed_halfway_resumes_and_nobody_gets_two(tmp_path):
    wa = FakeWhatsApp(phone_number_id=PNID)
    try:
        s = Store(tmp_path / "server.duckdb", tmp_path / "media")
        sari = system.create_account(s, "sari", "Sari", "sari-pass-1", "supervisor")
        tid = initiate_template(s)
        bid = broadcasts.create(s, sari, tid, Audience("csv", rows=tuple(broadcasts.read_csv(csv_of(300), 2).rows)),
                                rate=60)
        s.close()
        env = env_for(wa)
        with live_server(tmp_path, env=env) as base_url:
            wa.wait_for("messages", 100, timeout=30)
            os.kill(_server_pid(base_url), signal.SIGKILL)
        at_kill = len(wa.sent())
        assert at_kill < 300
        with live_server(tmp_path, env=env):
            end = time.monotonic() + 30
            while time.monotonic() < end and len(wa.sent()) < 300 - 8:
                time.sleep(0.2)
            time.sleep(1.0)
        s = Store(tmp_path / "server.duckdb", tmp_path / "media")
        try:
            p = broadcasts.progress(s, bid)
            unsure = {r["number"][1:] for r in broadcasts.recipients(s, bid, status="failed", limit=1000)}
            reasons = {r["error"] for r in broadcasts.recipients(s, bid, status="failed", limit=1000)}
        finally:
            s.close()
        got = delivered_to(wa)
        assert set(got.values()) == {1}  # nobody got two
        everyone = {r.number[1:] for r in broadcasts.read_csv(csv_of(300), 2).rows}
        # Everyone got exactly one, except a send cut off by the kill: never repeated, marked for a person.
        assert everyone - set(got) <= unsure and len(unsure) <= 4
        assert reasons <= {i18n.shown(outbox.UNSURE_AFTER_RESTART)}
        assert p["done"] and p["counts"]["queued"] == 0 and p["counts"]["sent"] == 300 - len(unsure)
    finally:
        wa.close()
