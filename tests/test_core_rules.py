"""Every chat rule of SPEC.md §1-§8 on a real temporary DuckDB file."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from conftest import customer_writes
from maxchat_data import accounts, actions, i18n, inbox, labels, system, templates
from maxchat_data.errors import NotAllowed, NotFound, ValidationError
from maxchat_data.inbox import InboxQuery, find_chats
from maxchat_data.ingest import Inbound, receive
from maxchat_data.store import utcnow

from tests.fakes.helpers import BROKEN_GIF, PDF, PNG, picture

pytestmark = pytest.mark.both_backends  # the same rules on DuckDB and PostgreSQL


def chat_of(store, chat_id):
    return inbox.get_chat(store, chat_id)


def activity(store, chat_id):
    return [i18n.shown(m["body"]) for m in inbox.thread(store, chat_id) if m["direction"] == "activity"]


def statuses_consistent(store):
    bad = store.all("SELECT id, status, assignee_id FROM chats WHERE NOT ("
                    "(status = 'Open' AND assignee_id IS NULL) OR (status = 'Answered' AND assignee_id IS NOT NULL)"
                    " OR (status = 'Resolved' AND assignee_id IS NULL))")
    return bad == []


# ---- C1-C6: chats, sessions, status -------------------------------------------
def test_c1_one_chat_per_contact_and_channel(store):
    a = customer_writes(store, user="62811", text="one")
    b = customer_writes(store, user="62811", text="two")
    c = customer_writes(store, user="62811", text="on telegram", channel="telegram")
    assert a.chat_id == b.chat_id != c.chat_id
    assert store.one("SELECT count(*) FROM chats")[0] == 2
    assert [m["body"] for m in inbox.thread(store, a.chat_id) if m["direction"] == "in"] == ["one", "two"]


def test_c2_sessions_user_and_business_initiate(store, team):
    r = customer_writes(store, text="hi")
    chat = chat_of(store, r.chat_id)
    assert chat["initiated_by"] == "User initiate"
    customer_writes(store, text="again")  # same session
    assert store.one("SELECT count(*) FROM sessions WHERE chat_id = ?", [r.chat_id])[0] == 1
    actions.resolve(store, r.chat_id, team["budi"])
    tpl = templates.create_template(store, team["admin"], channel="whatsapp", name="hello", language="en",
                                    category="UTILITY", body="Hi {{1}}", initiate=True)
    system.review_template(store, tpl, "Accepted")
    actions.send_template(store, r.chat_id, team["budi"], tpl, ["Rina"])
    chat = chat_of(store, r.chat_id)
    assert chat["initiated_by"] == "Business initiate"
    assert store.all("SELECT initiated_by FROM sessions WHERE chat_id = ? ORDER BY id", [r.chat_id]) == [
        ("User initiate",), ("Business initiate",)]


def test_c3_status_follows_assignment_and_resolution(store, team):
    r = customer_writes(store)
    assert chat_of(store, r.chat_id)["status"] == "Open"
    assert actions.assign(store, r.chat_id, team["budi"], team["sari"]) == "Answered"
    actions.resolve(store, r.chat_id, team["budi"])
    chat = chat_of(store, r.chat_id)
    assert (chat["status"], chat["assignee_id"]) == ("Resolved", None)
    assert statuses_consistent(store)


def test_c4_inbound_on_resolved_starts_new_open_session_and_unarchives(store, team):
    r = customer_writes(store)
    actions.assign(store, r.chat_id, team["budi"], team["admin"])
    actions.resolve(store, r.chat_id, team["budi"])
    actions.archive(store, r.chat_id, team["budi"])
    customer_writes(store, text="saya kembali")
    chat = chat_of(store, r.chat_id)
    assert (chat["status"], chat["assignee_id"], chat["archived"]) == ("Open", None, False)
    assert store.one("SELECT count(*) FROM sessions WHERE chat_id = ?", [r.chat_id])[0] == 2
    assert "Customer wrote again: new session, chat Open" in activity(store, r.chat_id)


def test_c4_inbound_on_archived_active_chat_unarchives(store, team):
    r = customer_writes(store)
    actions.archive(store, r.chat_id, team["budi"])
    customer_writes(store, text="halo?")
    assert chat_of(store, r.chat_id)["archived"] is False


def test_c5_reply_takes_an_open_chat(store, team):
    r = customer_writes(store)
    actions.reply(store, r.chat_id, team["budi"], "Halo kak")
    chat = chat_of(store, r.chat_id)
    assert (chat["status"], chat["assignee_id"]) == ("Answered", team["budi"])
    # Someone else replying to an Answered chat does not steal it.
    actions.reply(store, r.chat_id, team["sari"], "Saya bantu juga")
    assert chat_of(store, r.chat_id)["assignee_id"] == team["budi"]
    out = [m for m in inbox.thread(store, r.chat_id) if m["direction"] == "out"]
    assert [(m["body"], m["status"], m["sender_name"]) for m in out] == [
        ("Halo kak", "pending", "Budi Santoso"), ("Saya bantu juga", "pending", "Sari Wulandari")]
    assert store.one("SELECT count(*) FROM outbox")[0] == 2


def test_c6_every_change_is_an_event_and_an_activity_line(store, team):
    r = customer_writes(store)
    label = labels.create_label(store, "VIP", "Purple", team["admin"])
    actions.assign(store, r.chat_id, team["budi"], team["sari"])
    actions.assign(store, r.chat_id, team["sari"], team["sari"])
    labels.set_label(store, r.chat_id, label, True, team["budi"])
    actions.resolve(store, r.chat_id, team["sari"])
    actions.archive(store, r.chat_id, team["sari"])
    actions.block(store, r.chat_id, team["admin"])
    lines = activity(store, r.chat_id)
    assert lines == [
        "Sari Wulandari assigned the chat to Budi Santoso",
        "Sari Wulandari reassigned the chat from Budi Santoso to Sari Wulandari",
        "Budi Santoso added label VIP",
        "Sari Wulandari resolved the chat",
        "Sari Wulandari archived the chat",
        "Admin blocked the contact",
    ]
    actions_logged = [e["action"] for e in inbox.events(store, r.chat_id)]
    assert actions_logged == ["chat_created", "assign", "assign", "label_added", "resolve", "archived", "blocked"]
    assert all(e["created_at"] is not None for e in inbox.events(store, r.chat_id))


# ---- L2-L5: the finder -------------------------------------------------------------
@pytest.fixture
def inbox_data(store, team):
    """Six chats over three channels in every state."""
    made = {}
    for key, (channel, name) in {
        "open_wa": ("whatsapp", "Rina Kusuma"), "mine_wa": ("whatsapp", "Désirée Müller"),
        "sari_fb": ("messenger", "Agus Pratama"), "resolved_tg": ("telegram", "Budi Halim"),
        "archived_wa": ("whatsapp", "Citra Lubis"), "open_tg": ("telegram", "😀 Emoji Fan"),
    }.items():
        made[key] = customer_writes(store, user=f"u-{key}", channel=channel, name=name).chat_id
    actions.assign(store, made["mine_wa"], team["budi"], team["admin"])
    actions.assign(store, made["sari_fb"], team["sari"], team["admin"])
    actions.resolve(store, made["resolved_tg"], team["admin"])
    actions.archive(store, made["archived_wa"], team["admin"])
    vip = labels.create_label(store, "VIP", "Purple", team["admin"])
    labels.set_label(store, made["mine_wa"], vip, True, team["admin"])
    labels.set_label(store, made["open_tg"], vip, True, team["admin"])
    made["vip"] = vip
    return made


def ids(page):
    return {c["id"] for c in page.chats}


def test_l2_tabs_and_counts(store, team, inbox_data):
    d = inbox_data
    page = find_chats(store, team["budi"], InboxQuery(tab="My Chat"))
    assert ids(page) == {d["mine_wa"]}
    assert page.counts == {"My Chat": 1, "All": 5, "Unassigned": 3, "Archived": 1}
    unassigned = find_chats(store, team["budi"], InboxQuery(tab="Unassigned"))
    assert ids(unassigned) == {d["open_wa"], d["resolved_tg"], d["open_tg"]}  # resolved ones too


def test_l1_newest_activity_first_and_paged(store, team):
    base = utcnow() - timedelta(hours=1)
    for i in range(7):
        customer_writes(store, user=f"p{i}", name=f"Pelanggan {i}", sent_at=base + timedelta(minutes=i))
    first = find_chats(store, team["budi"], InboxQuery(page=1, page_size=3))
    third = find_chats(store, team["budi"], InboxQuery(page=3, page_size=3))
    assert [c["contact_name"] for c in first.chats] == ["Pelanggan 6", "Pelanggan 5", "Pelanggan 4"]
    assert [c["contact_name"] for c in third.chats] == ["Pelanggan 0"]
    assert first.pages == 3 and first.total == 7


def test_l3_search_by_name_case_accents_emoji(store, team, inbox_data):
    d = inbox_data
    assert ids(find_chats(store, team["budi"], InboxQuery(search="desiree"))) == {d["mine_wa"]}
    assert ids(find_chats(store, team["budi"], InboxQuery(search="MÜLL"))) == {d["mine_wa"]}
    assert ids(find_chats(store, team["budi"], InboxQuery(search="😀"))) == {d["open_tg"]}
    assert ids(find_chats(store, team["budi"], InboxQuery(search="kusu"))) == {d["open_wa"]}
    assert find_chats(store, team["budi"], InboxQuery(search="nobody")).counts["All"] == 0


def test_l4_filters_combine(store, team, inbox_data):
    d = inbox_data
    q = InboxQuery(statuses=("Open",))
    assert ids(find_chats(store, team["budi"], q)) == {d["open_wa"], d["open_tg"]}
    q = InboxQuery(statuses=("Open", "Answered"), channels=("whatsapp",))
    assert ids(find_chats(store, team["budi"], q)) == {d["open_wa"], d["mine_wa"]}
    q = InboxQuery(label_ids=(d["vip"],))
    assert ids(find_chats(store, team["budi"], q)) == {d["mine_wa"], d["open_tg"]}
    q = InboxQuery(tab="Unassigned", label_ids=(d["vip"],), channels=("telegram",), search="emoji")
    page = find_chats(store, team["budi"], q)
    assert ids(page) == {d["open_tg"]}
    assert page.counts == {"My Chat": 0, "All": 1, "Unassigned": 1, "Archived": 0}
    assert len(find_chats(store, team["budi"], InboxQuery()).chats) == 5  # Reset: no filters


def test_l4_bad_filters_are_refused(store, team):
    with pytest.raises(ValidationError):
        find_chats(store, team["budi"], InboxQuery(tab="Mine"))
    with pytest.raises(ValidationError):
        find_chats(store, team["budi"], InboxQuery(statuses=("Closed",)))
    with pytest.raises(ValidationError):
        find_chats(store, team["budi"], InboxQuery(channels=("sms",)))


def test_l5_archived_only_in_archived(store, team, inbox_data):
    d = inbox_data
    for tab in ("My Chat", "All", "Unassigned"):
        assert d["archived_wa"] not in ids(find_chats(store, team["admin"], InboxQuery(tab=tab)))
    assert ids(find_chats(store, team["admin"], InboxQuery(tab="Archived"))) == {d["archived_wa"]}
    actions.unarchive(store, d["archived_wa"], team["admin"])
    assert d["archived_wa"] in ids(find_chats(store, team["admin"], InboxQuery(tab="All")))


def test_change_version_moves_on_every_commit(store, team):
    v = store.version
    customer_writes(store)
    assert store.version > v
    v = store.version
    inbox.find_chats(store, team["budi"], InboxQuery())
    assert store.version == v  # reads do not move it


def test_unread_counts_and_mark_read(store, team):
    r = customer_writes(store)
    customer_writes(store, text="?")
    assert chat_of(store, r.chat_id)["unread"] == 2
    actions.mark_read(store, r.chat_id, team["budi"])
    assert chat_of(store, r.chat_id)["unread"] == 0


# ---- T3-T5: attachments, window, templates --------------------------------------------
def test_t3_attachment_sent_and_typed_from_content(store, team):
    r = customer_writes(store)
    mid = actions.send_attachment(store, r.chat_id, team["budi"], "foto.png", PNG, "Ini fotonya")
    m = [x for x in inbox.thread(store, r.chat_id) if x["id"] == mid][0]
    assert (m["kind"], m["caption"], m["mime"], m["filename"]) == ("image", "Ini fotonya", "image/png", "foto.png")
    assert (store.media_dir / m["attachment_path"]).read_bytes() == PNG
    mid = actions.send_attachment(store, r.chat_id, team["budi"], "invoice.pdf", PDF)
    assert store.one("SELECT kind FROM messages WHERE id = ?", [mid])[0] == "document"


@pytest.mark.parametrize("name,data,message", [
    ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024), "at most 1 MB"),
    ("virus.png", b"MZ\x90\x00\x03" + b"\x00" * 100, "not a document, image or video"),
    ("photo.jpg", PDF, "named like an image but its content is a document"),
    ("song.mp3", b"ID3\x03\x00" + b"\x00" * 100, "not a document, image or video"),
    ("empty.pdf", b"", "is empty"),
    ("photo.gif", BROKEN_GIF, "looks like an image but cannot be opened"),
    ("photo.png", PNG[:40], "looks like an image but cannot be opened"),  # cut short
    ("bomb.png", picture("PNG", (6000, 5000), mode="1"), "looks like an image but cannot be opened"),
])
def test_t3_refused_files_leave_nothing(store, team, name, data, message):
    r = customer_writes(store)
    before = (store.one("SELECT count(*) FROM messages")[0], store.one("SELECT count(*) FROM attachments")[0])
    with pytest.raises(ValidationError, match=message):
        actions.send_attachment(store, r.chat_id, team["budi"], name, data)
    after = (store.one("SELECT count(*) FROM messages")[0], store.one("SELECT count(*) FROM attachments")[0])
    assert before == after
    assert not any(p.is_file() for p in store.media_dir.rglob("*"))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_t3_every_image_type_that_decodes_is_sent_as_an_image(store, team, fmt):
    r = customer_writes(store)
    mid = actions.send_attachment(store, r.chat_id, team["budi"], f"pic.{fmt.lower()}", picture(fmt))
    assert store.one("SELECT kind FROM messages WHERE id = ?", [mid])[0] == "image"


def test_t3_a_media_folder_that_refuses_the_file_is_a_clear_message(store, team):
    r = customer_writes(store)
    shutil.rmtree(store.media_dir, ignore_errors=True)
    store.media_dir.write_text("not a folder")  # unwritable even for root, unlike chmod
    with pytest.raises(ValidationError, match="could not be stored on the server"):
        actions.send_attachment(store, r.chat_id, team["budi"], "invoice.pdf", PDF)
    assert store.one("SELECT count(*) FROM attachments")[0] == 0
    assert store.one("SELECT count(*) FROM messages WHERE direction = 'out'")[0] == 0


def test_t4_window_closes_after_24h_of_provider_time(store, team):
    old = customer_writes(store, user="w1", sent_at=utcnow() - timedelta(hours=25))
    fresh = customer_writes(store, user="w2", sent_at=utcnow() - timedelta(hours=23))
    tg = customer_writes(store, user="t1", channel="telegram", sent_at=utcnow() - timedelta(days=9))
    fb = customer_writes(store, user="f1", channel="messenger", sent_at=utcnow() - timedelta(hours=24, minutes=1))
    w = chat_of(store, fresh.chat_id)["window"]
    assert w.open and 3500 < w.seconds_left <= 3600
    assert chat_of(store, tg.chat_id)["window"].seconds_left is None
    for closed in (old, fb):
        assert not chat_of(store, closed.chat_id)["window"].open
        with pytest.raises(NotAllowed, match="24-hour window is closed"):
            actions.reply(store, closed.chat_id, team["budi"], "halo")
        with pytest.raises(NotAllowed):
            actions.send_attachment(store, closed.chat_id, team["budi"], "a.png", PNG)
    actions.reply(store, fresh.chat_id, team["budi"], "halo")
    actions.reply(store, tg.chat_id, team["budi"], "telegram has no window")
    assert store.one("SELECT count(*) FROM messages WHERE direction = 'out'")[0] == 2


def test_t5_template_eligibility_and_variables(store, team):
    r = customer_writes(store, sent_at=utcnow() - timedelta(days=2))
    mk = lambda name, initiate: templates.create_template(
        store, team["admin"], channel="whatsapp", name=name, language="id", category="UTILITY",
        body="Halo {{1}}, pesanan {{2}} dikirim", initiate=initiate)
    accepted, no_initiate, pending = mk("kirim", True), mk("kirim_lain", False), mk("promo", True)
    system.review_template(store, accepted, "Accepted")
    system.review_template(store, no_initiate, "Accepted")
    offered = [t["id"] for t in templates.initiate_templates(store, "whatsapp")]
    assert offered == [accepted]
    for tid in (no_initiate, pending):
        with pytest.raises(NotAllowed):
            actions.send_template(store, r.chat_id, team["budi"], tid, ["Rina", "A1"])
    with pytest.raises(ValidationError, match="needs 2 value"):
        actions.send_template(store, r.chat_id, team["budi"], accepted, ["Rina"])
    with pytest.raises(ValidationError, match="Fill in value"):
        actions.send_template(store, r.chat_id, team["budi"], accepted, ["Rina", " "])
    mid = actions.send_template(store, r.chat_id, team["budi"], accepted, ["Rina", "INV-7"])
    m = store.dicts("SELECT kind, body, template_params, status FROM messages WHERE id = ?", [mid])[0]
    assert m == {"kind": "template", "body": "Halo Rina, pesanan INV-7 dikirim",
                 "template_params": ["Rina", "INV-7"], "status": "pending"}
    chat = chat_of(store, r.chat_id)
    assert (chat["status"], chat["assignee_id"], chat["initiated_by"]) == ("Answered", team["budi"], "Business initiate")
    with pytest.raises(NotFound):
        actions.send_template(store, r.chat_id, team["budi"], 999, [])


def test_t6_retry_requeues_a_failed_message(store, team):
    from maxchat_data import outbox
    r = customer_writes(store)
    mid = actions.reply(store, r.chat_id, team["budi"], "halo")
    with pytest.raises(NotAllowed):
        actions.retry(store, mid, team["budi"])  # still pending
    outbox.mark_failed(store, mid, "24-hour window closed — send a template")
    assert store.one("SELECT status, error FROM messages WHERE id = ?", [mid]) == (
        "failed", "24-hour window closed — send a template")
    assert outbox.pending_count(store) == 0
    actions.retry(store, mid, team["budi"])
    assert store.one("SELECT status, error FROM messages WHERE id = ?", [mid]) == ("pending", None)
    assert [d["message_id"] for d in outbox.due(store)] == [mid]


def test_t2_emoji_shortcodes(store, team):
    r = customer_writes(store)
    mid = actions.reply(store, r.chat_id, team["budi"], "Siap :thumbsup: :nope:")
    assert store.one("SELECT body FROM messages WHERE id = ?", [mid])[0] == "Siap 👍 :nope:"
    with pytest.raises(ValidationError):
        actions.reply(store, r.chat_id, team["budi"], "   ")


# ---- B2-B4: labels -------------------------------------------------------------------
def test_b2_label_names_unique_case_insensitive_and_palette(store, team):
    labels.create_label(store, "Order", "Blue", team["admin"])
    with pytest.raises(ValidationError, match="already exists"):
        labels.create_label(store, "  ORDER ", "Red", team["admin"])
    with pytest.raises(ValidationError, match="palette"):
        labels.create_label(store, "Other", "#123456", team["admin"])
    with pytest.raises(ValidationError):
        labels.create_label(store, " ", "Red", team["admin"])
    assert [l["name"] for l in labels.list_labels(store)] == ["Order"]


def test_b3_check_attaches_to_contact_uncheck_detaches(store, team):
    r = customer_writes(store)
    vip = labels.create_label(store, "VIP", "Purple", team["admin"])
    assert labels.set_label(store, r.chat_id, vip, True, team["budi"]) is True
    assert labels.set_label(store, r.chat_id, vip, True, team["budi"]) is False
    assert inbox.chat_label_ids(store, r.chat_id) == [vip]
    assert store.all("SELECT label_id FROM contact_labels") == [(vip,)]
    labels.set_label(store, r.chat_id, vip, False, team["budi"])
    assert inbox.chat_label_ids(store, r.chat_id) == []
    with pytest.raises(NotFound):
        labels.set_label(store, r.chat_id, 999, True, team["budi"])


def test_b4_delete_label_removes_it_everywhere(store, team):
    a, b = customer_writes(store, user="a"), customer_writes(store, user="b")
    vip = labels.create_label(store, "VIP", "Purple", team["admin"])
    keep = labels.create_label(store, "Keep", "Green", team["admin"])
    for r in (a, b):
        labels.set_label(store, r.chat_id, vip, True, team["admin"])
    labels.set_label(store, a.chat_id, keep, True, team["admin"])
    labels.delete_label(store, vip, team["admin"])
    assert inbox.chat_label_ids(store, a.chat_id) == [keep]
    assert inbox.chat_label_ids(store, b.chat_id) == []
    assert [l["name"] for l in labels.list_labels(store)] == ["Keep"]
    # C6: each chat that lost the label shows it in its thread.
    for r in (a, b):
        assert activity(store, r.chat_id)[-1] == "Admin deleted the label VIP"
    with pytest.raises(NotFound):
        labels.delete_label(store, vip, team["admin"])


def test_b4_an_agent_cannot_delete_a_label_for_everyone(store, team):
    r = customer_writes(store)
    vip = labels.create_label(store, "VIP", "Purple", team["budi"])  # agents may create
    labels.set_label(store, r.chat_id, vip, True, team["budi"])
    with pytest.raises(NotAllowed, match="supervisor or an admin"):
        labels.delete_label(store, vip, team["budi"])
    assert [l["name"] for l in labels.list_labels(store)] == ["VIP"]
    assert inbox.chat_label_ids(store, r.chat_id) == [vip]
    labels.delete_label(store, vip, team["sari"])  # a supervisor may
    assert labels.list_labels(store) == [] and inbox.chat_label_ids(store, r.chat_id) == []


# ---- A1-A5: assign and resolve ----------------------------------------------------------
def test_a1_a2_only_active_agents_and_reassign(store, team):
    r = customer_writes(store)
    actions.assign(store, r.chat_id, team["budi"], team["admin"])
    assert ids(find_chats(store, team["budi"], InboxQuery(tab="My Chat"))) == {r.chat_id}
    actions.assign(store, r.chat_id, team["sari"], team["admin"])
    assert ids(find_chats(store, team["budi"], InboxQuery(tab="My Chat"))) == set()
    assert ids(find_chats(store, team["sari"], InboxQuery(tab="My Chat"))) == {r.chat_id}
    accounts.update_agent(store, team["budi"], team["admin"], display_name="Budi Santoso", role="agent", active=False)
    with pytest.raises(NotAllowed, match="deactivated"):
        actions.assign(store, r.chat_id, team["budi"], team["admin"])
    with pytest.raises(NotFound):
        actions.assign(store, r.chat_id, 404, team["admin"])
    with pytest.raises(NotFound):
        actions.assign(store, 404, team["sari"], team["admin"])
    assert [a["username"] for a in accounts.list_agents(store, active_only=True)] == ["admin", "sari"]


def test_a3_resolve_unassigns_and_leaves_my_chat(store, team):
    r = customer_writes(store)
    actions.assign(store, r.chat_id, team["budi"], team["budi"])
    assert actions.resolve(store, r.chat_id, team["budi"]) is True
    assert ids(find_chats(store, team["budi"], InboxQuery(tab="My Chat"))) == set()
    assert r.chat_id in ids(find_chats(store, team["budi"], InboxQuery(tab="Unassigned")))
    session = store.one("SELECT resolved_by, resolved_at IS NOT NULL FROM sessions WHERE chat_id = ?", [r.chat_id])
    assert session == (team["budi"], True)


def test_a5_two_agents_at_once_one_outcome_both_events(store, team):
    r = customer_writes(store)
    actions.assign(store, r.chat_id, team["budi"], team["admin"])
    f1 = store.submit(actions._resolve, r.chat_id, team["budi"])
    f2 = store.submit(actions._resolve, r.chat_id, team["sari"])
    assert sorted([f1.result(), f2.result()]) == [False, True]
    resolves = [e for e in inbox.events(store, r.chat_id) if e["action"] == "resolve"]
    assert {e["actor_id"] for e in resolves} == {team["budi"], team["sari"]}
    f3 = store.submit(actions._assign, r.chat_id, team["budi"], team["budi"])
    f4 = store.submit(actions._assign, r.chat_id, team["sari"], team["sari"])
    f3.result(), f4.result()
    chat = chat_of(store, r.chat_id)
    assert chat["assignee_id"] == team["sari"] and chat["status"] == "Answered"
    assert statuses_consistent(store)


# ---- P2-P6: profile, notes, archive, block ---------------------------------------------
def test_p2_contact_detail_validated(store, team):
    r = customer_writes(store)
    actions.update_contact(store, r.chat_id, team["budi"], name="Rina K.", email="rina@example.co.id", company="PT Maju")
    chat = chat_of(store, r.chat_id)
    assert (chat["contact_name"], chat["email"], chat["company"]) == ("Rina K.", "rina@example.co.id", "PT Maju")
    assert ids(find_chats(store, team["budi"], InboxQuery(search="rina k"))) == {r.chat_id}
    for bad in ("rina@", "not an email", "a@b", "rina@@x.com"):
        with pytest.raises(ValidationError, match="not a valid email"):
            actions.update_contact(store, r.chat_id, team["budi"], name="X", email=bad)
    with pytest.raises(ValidationError):
        actions.update_contact(store, r.chat_id, team["budi"], name=" ")
    assert chat_of(store, r.chat_id)["contact_name"] == "Rina K."


def test_p3_notes_with_author_and_time(store, team):
    r = customer_writes(store)
    actions.add_note(store, r.chat_id, team["budi"], "Pelanggan setia")
    actions.add_note(store, r.chat_id, team["sari"], "Minta telepon sore")
    got = inbox.notes(store, r.chat_id)
    assert [(n["body"], n["author"]) for n in got] == [("Minta telepon sore", "Sari Wulandari"),
                                                       ("Pelanggan setia", "Budi Santoso")]
    with pytest.raises(ValidationError):
        actions.add_note(store, r.chat_id, team["budi"], "  ")


def test_p4_archive_and_unarchive(store, team):
    r = customer_writes(store)
    assert actions.archive(store, r.chat_id, team["budi"]) is True
    assert actions.archive(store, r.chat_id, team["budi"]) is False
    assert chat_of(store, r.chat_id)["archived"] is True
    actions.unarchive(store, r.chat_id, team["budi"])
    assert chat_of(store, r.chat_id)["archived"] is False


def test_p5_p6_blocked_contact_stored_but_silent(store, team):
    r = customer_writes(store)
    actions.resolve(store, r.chat_id, team["budi"])
    actions.archive(store, r.chat_id, team["budi"])
    actions.block(store, r.chat_id, team["budi"])
    seen = inbox.latest_message_id(store)
    unread = chat_of(store, r.chat_id)["unread"]
    later = customer_writes(store, text="spam spam")
    chat = chat_of(store, r.chat_id)
    assert later.chat_id == r.chat_id
    assert (chat["status"], chat["archived"], chat["blocked"], chat["unread"]) == ("Resolved", True, True, unread)
    assert "spam spam" in [m["body"] for m in inbox.thread(store, r.chat_id)]  # nothing lost
    assert inbox.new_inbound_since(store, seen) == []  # no notification
    with pytest.raises(NotAllowed, match="blocked"):
        actions.reply(store, r.chat_id, team["budi"], "halo")
    actions.unblock(store, r.chat_id, team["budi"])
    customer_writes(store, text="maaf")
    assert [m["body"] for m in inbox.new_inbound_since(store, seen)] == ["maaf"]
    assert chat_of(store, r.chat_id)["status"] == "Open"


# ---- M1: templates; U1-U2: accounts; L7 ---------------------------------------------------
def test_m1_templates_created_with_variables(store, team):
    tid = templates.create_template(store, team["admin"], channel="whatsapp", name="order_update", language="id",
                                    category="UTILITY", body="Halo {{1}}, pesanan {{2}}", initiate=True)
    tg = templates.create_template(store, team["admin"], channel="telegram", name="welcome", language="en",
                                   category="MARKETING", body="Welcome back!")
    got = {t["id"]: t for t in templates.list_templates(store)}
    assert (got[tid]["variables"], got[tid]["status"], got[tid]["initiate"]) == (2, "Pending", True)
    assert (got[tg]["variables"], got[tg]["status"]) == (0, "Accepted")  # M2: non-WhatsApp accepts on save
    for bad in ({"name": "Bad Name"}, {"body": "Hi {{2}}"}, {"category": "SPAM"}, {"language": "xx"}):
        args = dict(channel="whatsapp", name="ok_name", language="id", category="UTILITY", body="Hi") | bad
        with pytest.raises(ValidationError):
            templates.create_template(store, team["admin"], **args)
    with pytest.raises(ValidationError, match="already exists"):
        templates.create_template(store, team["admin"], channel="whatsapp", name="order_update", language="id",
                                  category="UTILITY", body="x")


def test_u1_passwords_hashed_and_checked(store, team):
    stored = store.one("SELECT password_hash FROM agents WHERE username = 'budi'")[0]
    assert "budi-pass-1" not in stored and stored.startswith("$argon2")
    assert accounts.authenticate(store, "BUDI", "budi-pass-1")["id"] == team["budi"]
    assert accounts.authenticate(store, "budi", "wrong") is None
    assert accounts.authenticate(store, "nobody", "budi-pass-1") is None


def test_u2_roles_and_deactivation(store, team):
    with pytest.raises(ValidationError, match="taken"):
        accounts.create_agent(store, "Budi", "Budi 2", "another-pass", "agent", actor_id=team["admin"])
    with pytest.raises(ValidationError, match="Role"):
        accounts.create_agent(store, "x1", "X", "another-pass", "boss", actor_id=team["admin"])
    with pytest.raises(ValidationError, match="8 characters"):
        accounts.create_agent(store, "x2", "X", "short", "agent", actor_id=team["admin"])
    r = customer_writes(store)
    actions.assign(store, r.chat_id, team["budi"], team["admin"])
    accounts.update_agent(store, team["budi"], team["admin"], display_name="Budi", role="agent", active=False)
    assert accounts.authenticate(store, "budi", "budi-pass-1") is None
    assert chat_of(store, r.chat_id)["status"] == "Open"  # back to the queue
    with pytest.raises(ValidationError, match="at least one active admin"):
        accounts.update_agent(store, team["admin"], team["admin"], display_name="Admin", role="agent", active=True)
    assert accounts.has_role("admin", "supervisor") and not accounts.has_role("agent", "supervisor")


def test_u1_bootstrap_admin_only_on_empty_database(store):
    assert accounts.bootstrap_admin(store, "root", "root-password") is not None
    assert accounts.bootstrap_admin(store, "root2", "root-password") is None
    assert accounts.authenticate(store, "root", "root-password")["role"] == "admin"


def test_l7_notification_preference_persists(store, team, tmp_path):
    actions.set_notify(store, team["budi"], False)
    assert accounts.get_agent(store, team["budi"])["notify"] is False
    actions.set_notify(store, team["budi"], True)
    assert accounts.get_agent(store, team["budi"])["notify"] is True


# ---- inbound idempotency and bad input -----------------------------------------------------
def test_same_provider_id_twice_is_one_message(store):
    a = customer_writes(store, pmid="wamid.same", text="halo")
    b = customer_writes(store, pmid="wamid.same", text="halo")
    assert b.duplicate and a.message_id == b.message_id
    assert store.one("SELECT count(*) FROM messages WHERE direction = 'in'")[0] == 1
    assert chat_of(store, a.chat_id)["unread"] == 1


def test_duplicates_inside_one_group_commit(store):
    futures = [store.submit(__import__("maxchat_data.ingest", fromlist=["x"])._receive_batch,
                            Inbound("whatsapp", "62899", f"wamid.{i % 3}", "Dup", body=f"m{i % 3}"))
               for i in range(9)]
    results = [f.result() for f in futures]
    assert len({r.message_id for r in results}) == 3
    assert store.one("SELECT count(*) FROM messages WHERE direction = 'in'")[0] == 3


def test_inbound_bad_input_refused(store):
    for bad in (Inbound("sms", "1", "x"), Inbound("whatsapp", "", "x"), Inbound("whatsapp", "1", ""),
                Inbound("whatsapp", "1", "x", kind="hologram")):
        with pytest.raises(ValidationError):
            receive(store, bad)
    assert store.one("SELECT count(*) FROM messages")[0] == 0


def test_unsupported_message_is_visible(store):
    r = receive(store, Inbound("telegram", "77", "tg.1", "Ana", kind="unsupported"))
    assert inbox.thread(store, r.chat_id)[-1]["body"] == (
        "The customer sent something this inbox cannot show: open it in the customer's app.")


def test_unknown_ids_are_clear_errors(store, team):
    for call in (lambda: actions.resolve(store, 404, team["budi"]), lambda: actions.archive(store, 404, team["budi"]),
                 lambda: actions.reply(store, 404, team["budi"], "x"), lambda: inbox.get_chat(store, 404),
                 lambda: actions.add_note(store, 404, team["budi"], "x"), lambda: actions.retry(store, 404, 1)):
        with pytest.raises(NotFound):
            call()


# ---- issue 17: a customer's change lands only in their own chat ---------------------------------
@pytest.mark.parametrize("channel", ["whatsapp", "messenger", "telegram"])
def test_a_change_from_another_customer_or_to_our_message_is_skipped(store, team, channel):
    from maxchat_data import outbox
    from maxchat_data.ingest import Change, Parsed, store_parsed
    mine = customer_writes(store, user="A", text="punya A", channel=channel, pmid="A:1")
    customer_writes(store, user="M", text="punya M", channel=channel, pmid="M:1")
    ours = actions.reply(store, mine.chat_id, team["admin"], "balasan kami")
    outbox.mark_sent(store, ours, "A:2")

    def change(sender, target, what, n):
        return Change(channel, target, what, f"c{n}", sender=sender, emoji="🙂" if what == "reaction" else None,
                      body="ditimpa" if what == "edited" else None)
    attacks = [change("M", t, w, n) for n, (t, w) in enumerate(
        (t, w) for t in ("A:1", "A:2") for w in ("reaction", "edited", "deleted"))]
    attacks += [change("A", "A:2", "edited", 10), change("A", "A:2", "deleted", 11)]
    store_parsed(store, Parsed(changes=attacks))
    rows = store.all("SELECT provider_message_id, body, reaction, edited_at, deleted_at FROM messages"
                     " WHERE provider_message_id IN ('A:1', 'A:2') ORDER BY 1")
    assert rows == [("A:1", "punya A", None, None, None), ("A:2", "balasan kami", None, None, None)]
    assert store.one("SELECT count(*) FROM message_changes")[0] == 0
    # The customer's own: a reaction to our message in their chat, an edit of their own message.
    store_parsed(store, Parsed(changes=[change("A", "A:2", "reaction", 20), change("A", "A:1", "edited", 21)]))
    assert store.one("SELECT reaction FROM messages WHERE provider_message_id = 'A:2'")[0] == "🙂"
    assert store.one("SELECT body FROM messages WHERE provider_message_id = 'A:1'")[0] == "ditimpa"
