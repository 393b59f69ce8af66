"""The Chat page in AppTest: a real page run against a real temporary
DuckDB (the runtime singleton), seeded through the domain API."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import customer_writes, point_runtime_at
from maxchat_data import accounts, actions, inbox, labels, system, team
from server import runtime
from tests.fakes.helpers import BROKEN_GIF, PNG
from maxchat_data.store import utcnow

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "chat.py")


@pytest.fixture
def env(tmp_path, monkeypatch):
    point_runtime_at(tmp_path / "page.duckdb", monkeypatch)
    monkeypatch.setenv("MAXCHAT_ADMIN_PASSWORD", "admin-pass-1")
    # Every channel connected (nothing is sent: no delivery worker runs in a page test).
    for name, value in (("WHATSAPP_TOKEN", "t"), ("WHATSAPP_PHONE_NUMBER_ID", "1"), ("MESSENGER_PAGE_TOKEN", "t"),
                        ("TELEGRAM_BOT_TOKEN", "1:t")):
        monkeypatch.setenv(name, value)
    store = runtime.store()
    ids = {"budi": system.create_account(store, "budi", "Budi Santoso", "budi-pass-1"),
           "sari": system.create_account(store, "sari", "Sari Wulandari", "sari-pass-1", "supervisor")}
    yield store, ids
    runtime.close()


def run_as(store, agent_id, query=None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    agent = accounts.get_agent(store, agent_id)
    at.session_state["agent"] = {k: agent[k] for k in ("id", "username", "display_name", "role", "notify")}
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def listed(at: AppTest) -> set[int]:
    """Chat ids whose list item is on screen."""
    return {int(b.key.rsplit("_", 1)[1]) for b in at.button if b.key and b.key.startswith("chat_open_")}


def open_labels(at: AppTest, *where: str) -> AppTest:
    """Open the label pop-ups (drawn only while open), as a click on [+] does."""
    for w in where:
        at.session_state[f"chat_labels_pop_{w}"] = True
    return ok(at.run())


def htmls(at: AppTest) -> list[str]:
    """What the run drew with st.html (our own markup: label chips, status lines)."""
    return [e.proto.body for e in at.get("html")]


def open_chat(at: AppTest, chat_id: int) -> AppTest:
    if f"chat_open_{chat_id}" not in {b.key for b in at.button}:
        at.segmented_control(key="chat_tab").set_value("All").run()
    return ok(at.button(key=f"chat_open_{chat_id}").click().run())


@pytest.fixture
def three(env):
    store, ids = env
    rina = customer_writes(store, "6281", "Halo kak", name="Rina Kusuma").chat_id
    joko = customer_writes(store, "777", "Hi there", channel="telegram", name="Joko Anwar").chat_id
    desi = customer_writes(store, "6283", "Order?", name="Désirée Halim").chat_id
    actions.assign(store, rina, ids["budi"], ids["sari"])
    return store, ids, {"rina": rina, "joko": joko, "desi": desi}


def test_tabs_show_counts_and_my_chat_lists_only_mine(three):
    store, ids, c = three
    at = ok(run_as(store, ids["budi"]))
    assert at.subheader[0].value == "Chat"
    assert at.segmented_control(key="chat_tab").options == ["My Chat (1)", "All (3)", "Unassigned (2)"]
    assert listed(at) == {c["rina"]}
    ok(at.segmented_control(key="chat_tab").set_value("Unassigned").run())
    assert listed(at) == {c["joko"], c["desi"]}
    assert at.query_params["tab"] == "Unassigned"
    # Sari has nothing in My Chat.
    assert listed(ok(run_as(store, ids["sari"]))) == set()


def test_search_by_name_is_case_and_accent_insensitive(three):
    store, ids, c = three
    at = ok(run_as(store, ids["budi"], {"tab": "All"}))
    ok(at.text_input(key="chat_q").input("DESIREE").run())
    assert listed(at) == {c["desi"]}
    assert at.query_params["q"] == "DESIREE"
    assert at.segmented_control(key="chat_tab").options == ["My Chat (0)", "All (1)", "Unassigned (1)"]


def test_filters_status_label_channel_combine_and_reset(three):
    store, ids, c = three
    vip = labels.create_label(store, "VIP", "Purple", ids["sari"])
    labels.set_label(store, c["joko"], vip, True, ids["sari"])
    at = ok(run_as(store, ids["budi"], {"tab": "All"}))
    ok(at.pills(key="chat_status").set_value(["Open"]).run())
    assert listed(at) == {c["joko"], c["desi"]}
    ok(at.toggle(key="chat_ch_telegram").set_value(True).run())
    assert listed(at) == {c["joko"]}
    ok(at.multiselect(key="chat_labels").set_value([vip]).run())
    assert listed(at) == {c["joko"]}
    assert at.query_params["ch"] == "telegram" and at.query_params["labels"] == str(vip)
    ok(at.pills(key="chat_status").set_value(["Answered"]).run())
    assert listed(at) == set()
    ok(at.button(key="chat_reset").click().run())
    assert listed(at) == set(c.values())
    assert at.toggle(key="chat_ch_telegram").value is False
    assert "status" not in at.query_params and "ch" not in at.query_params


def test_url_seeds_the_view_for_a_shared_link(three):
    store, ids, c = three
    at = ok(run_as(store, ids["sari"], {"tab": "All", "ch": "telegram", "chat": str(c["joko"])}))
    assert listed(at) == {c["joko"]}
    assert "Joko Anwar" in " ".join(m.value for m in at.markdown)
    assert "Info Profile" in [h.value for h in at.subheader]


def test_opening_a_chat_marks_it_read_and_shows_customer_text_literally(env):
    store, ids = env
    chat = customer_writes(store, "6281", "<img src=x onerror=alert(1)>").chat_id
    customer_writes(store, "6281", "**bold** and :red[x] $x$")
    assert inbox.get_chat(store, chat)["unread"] == 2
    at = open_chat(ok(run_as(store, ids["budi"])), chat)
    texts = [t.value for t in at.text]
    assert "<img src=x onerror=alert(1)>" in texts and "**bold** and :red[x] $x$" in texts
    assert inbox.get_chat(store, chat)["unread"] == 0
    assert at.query_params["chat"] == str(chat)
    assert not at.get("html") or all("onerror" not in h.proto.body for h in at.get("html"))


def test_assign_from_header_dropdown_moves_chat_to_that_agents_my_chat(three):
    store, ids, c = three
    team.heartbeat(store, ids["sari"], "sari-tab")  # Sari's browser polls and she chose Online (W1)
    team.set_availability(store, ids["sari"], "Online")
    at = open_chat(ok(run_as(store, ids["budi"])), c["joko"])
    box = at.selectbox(key=f"assign_hdr_{c['joko']}")
    assert box.value == 0 and box.format_func(0) == "BOT (unassigned)"
    assert box.format_func(ids["sari"]) == "🟢 Sari Wulandari · Online"  # availability beside every name
    assert box.format_func(ids["budi"]) == "⚪ Budi Santoso · Offline"
    ok(box.set_value(ids["sari"]).run())
    assert inbox.get_chat(store, c["joko"])["assignee_id"] == ids["sari"]
    assert listed(ok(run_as(store, ids["sari"]))) == {c["joko"]}
    # The profile's dropdown is the second place (A1) and shows the new assignee too.
    assert at.selectbox(key=f"assign_prof_{c['joko']}").value == ids["sari"]
    # Back to the BOT from the profile's dropdown.
    ok(at.selectbox(key=f"assign_prof_{c['joko']}").set_value(0).run())
    chat = inbox.get_chat(store, c["joko"])
    assert (chat["assignee_id"], chat["status"]) == (None, "Open")


def test_resolve_asks_for_ok_then_unassigns_and_greys_out(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["rina"])
    assert at.button(key="resolve_hdr").proto.type == "primary" and not at.button(key="resolve_hdr").disabled
    ok(at.button(key="resolve_hdr").click().run())
    assert inbox.get_chat(store, c["rina"])["status"] == "Answered"  # nothing before OK
    ok(at.button(key="chat_confirm_ok").click().run())
    chat = inbox.get_chat(store, c["rina"])
    assert chat["status"] == "Resolved" and chat["assignee_id"] is None
    assert at.button(key="resolve_hdr").disabled and at.button(key="resolve_prof").disabled
    assert at.segmented_control(key="chat_tab").options[0] == "My Chat (0)"


def test_the_second_of_two_agents_resolving_at_once_is_told_who_was_first(three):
    store, ids, c = three
    budi = open_chat(ok(run_as(store, ids["budi"])), c["rina"])
    ok(budi.button(key="resolve_hdr").click().run())           # Budi's pop-up is open …
    actions.resolve(store, c["rina"], ids["sari"])             # … when Sari resolves it
    ok(budi.button(key="chat_confirm_ok").click().run())
    said = [i.value for i in budi.info]
    assert any("Sari Wulandari had already resolved this chat" in v for v in said), said
    assert not any("Chat resolved." in t.value for t in budi.toast)
    resolved = [m for m in inbox.thread(store, c["rina"]) if m["direction"] == "activity" and "resolved" in m["body"]]
    assert len(resolved) == 1  # one change, one activity line (A5)


def test_a_channel_that_is_not_connected_says_so_before_the_agent_types(three, monkeypatch):
    store, ids, c = three
    monkeypatch.delenv("WHATSAPP_TOKEN")
    at = open_chat(ok(run_as(store, ids["budi"])), c["rina"])
    assert any("WhatsApp is not connected" in w.value and "Channels page" in w.value for w in at.warning)
    assert f"chat_draft_{c['rina']}" not in {t.key for t in at.text_area} and "chat_send" not in {b.key for b in at.button}
    at = open_chat(ok(run_as(store, ids["budi"])), c["joko"])  # Telegram is connected: its composer is there
    assert f"chat_draft_{c['joko']}" in {t.key for t in at.text_area}
    monkeypatch.setenv("MAXCHAT_DEMO", "1")  # demo mode: the sandbox takes the replies
    at = open_chat(ok(run_as(store, ids["budi"])), c["rina"])
    assert f"chat_draft_{c['rina']}" in {t.key for t in at.text_area}


def test_resolve_cancel_changes_nothing(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["rina"])
    ok(at.button(key="resolve_prof").click().run())
    ok(at.button(key="chat_confirm_cancel").click().run())
    assert inbox.get_chat(store, c["rina"])["status"] == "Answered"
    assert "chat_confirm_ok" not in {b.key for b in at.button}


def test_archive_and_unarchive_with_confirmation(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["desi"])
    ok(at.button(key="chat_archive").click().run())
    ok(at.button(key="chat_confirm_ok").click().run())
    assert inbox.get_chat(store, c["desi"])["archived"]
    assert c["desi"] not in listed(at)
    ok(at.button(key="chat_archived_btn").click().run())
    assert listed(at) == {c["desi"]} and at.query_params["archived"] == "1"
    # The view is unmistakable: no tab is shown as chosen, the way back is in their place.
    assert "chat_tab" not in {b.key for b in at.get("button_group")}
    assert any("Archived chats" in m.value for m in at.markdown)
    ok(at.button(key="chat_unarchive").click().run())
    ok(at.button(key="chat_confirm_ok").click().run())
    assert not inbox.get_chat(store, c["desi"])["archived"]
    ok(at.button(key="chat_archived_back").click().run())
    assert "archived" not in at.query_params and c["desi"] in listed(at)
    assert not any("Archived chats" in m.value for m in at.markdown)


def test_block_locks_composer_and_unblock_unlocks(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["joko"])
    assert at.text_area(key=f"chat_draft_{c['joko']}")
    ok(at.button(key="chat_block").click().run())
    ok(at.button(key="chat_confirm_ok").click().run())
    assert inbox.get_chat(store, c["joko"])["blocked"]
    assert any("blocked" in w.value for w in at.warning)
    assert f"chat_draft_{c['joko']}" not in {t.key for t in at.text_area}
    ok(at.button(key="chat_unblock").click().run())
    ok(at.button(key="chat_confirm_ok").click().run())
    assert not inbox.get_chat(store, c["joko"])["blocked"]
    assert at.text_area(key=f"chat_draft_{c['joko']}")


def test_labels_popup_agent_creates_checks_unchecks_supervisor_deletes(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["joko"])
    assert not [c for c in at.checkbox if (c.key or "").startswith("chat_lbl_")]  # closed: not drawn
    open_labels(at, "hdr", "prof")
    at.text_input(key="chat_newlabel_name_hdr").input("Reseller")
    at.pills(key="chat_newlabel_color_hdr").set_value("Teal")
    ok(at.button(key="chat_newlabel_add_hdr").click().run())
    (label,) = labels.list_labels(store)
    assert label["name"] == "Reseller" and label["color"] == "Teal"
    ok(at.checkbox(key=f"chat_lbl_hdr_{c['joko']}_{label['id']}").check().run())
    assert inbox.chat_label_ids(store, c["joko"]) == [label["id"]]
    assert at.checkbox(key=f"chat_lbl_hdr_{c['joko']}_{label['id']}").value
    # Shown in its exact colour (Teal, not the Green a markdown badge would give), in the list and the profile.
    chip = f'<span class="mc-label" style="background:{labels.PALETTE["Teal"]}">Reseller</span>'
    assert sum(chip in h for h in htmls(at)) == 2
    # Managed from Info Profile too (P2): the same checkboxes, under their own keys.
    ok(at.checkbox(key=f"chat_lbl_prof_{c['joko']}_{label['id']}").uncheck().run())
    assert inbox.chat_label_ids(store, c["joko"]) == []
    assert not any(chip in h for h in htmls(at))
    # A duplicate name is refused with the domain's message.
    at.text_input(key="chat_newlabel_name_hdr").input("reseller")
    at.pills(key="chat_newlabel_color_hdr").set_value("Red")
    ok(at.button(key="chat_newlabel_add_hdr").click().run())
    assert any("already exists" in e.value for e in at.error)
    # An agent has no trash can: deleting takes the label off every contact.
    assert not [b.key for b in at.button if (b.key or "").startswith("chat_lbl_del")]
    at = open_labels(open_chat(ok(run_as(store, ids["sari"])), c["joko"]), "hdr")
    ok(at.button(key=f"chat_lbl_del_hdr_{label['id']}").click().run())
    assert labels.list_labels(store)  # not before OK
    ok(at.button(key=f"chat_lbl_delok_hdr_{label['id']}").click().run())
    assert labels.list_labels(store) == []


def test_a_label_name_is_text_in_its_chip(three):
    store, ids, c = three
    lid = labels.create_label(store, '<img src=x onerror=alert(1)> "VIP"', "Indigo", ids["budi"])
    labels.set_label(store, c["rina"], lid, True, ids["budi"])
    at = open_chat(ok(run_as(store, ids["budi"])), c["rina"])
    shown = [h for h in htmls(at) if 'class="mc-label"' in h]
    assert shown and all("&lt;img src=x onerror=alert(1)&gt; &quot;VIP&quot;" in h and "<img" not in h for h in shown)


def test_notes_are_added_and_listed_and_empty_is_refused(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["rina"])
    ok(at.button(key="chat_note_add").click().run())
    assert any("cannot be empty" in e.value for e in at.error)
    at.text_area(key=f"chat_note_{c['rina']}").input("Prefers **English**")
    ok(at.button(key="chat_note_add").click().run())
    assert [n["body"] for n in inbox.notes(store, c["rina"])] == ["Prefers **English**"]
    assert "Prefers **English**" in [t.value for t in at.text]
    assert at.text_area(key=f"chat_note_{c['rina']}").value == ""


def test_contact_detail_refuses_a_bad_email_and_saves_a_good_one(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["rina"])
    at.text_input(key=f"chat_ct_email_{c['rina']}").input("not-an-email")
    ok(at.button(key="FormSubmitter:chat_contact_%d-Save" % c["rina"]).click().run())
    assert any("not a valid email" in e.value for e in at.error)
    assert inbox.get_chat(store, c["rina"])["email"] is None
    at.text_input(key=f"chat_ct_email_{c['rina']}").input("rina@example.com")
    at.text_input(key=f"chat_ct_company_{c['rina']}").input("Toko Rina")
    ok(at.button(key="FormSubmitter:chat_contact_%d-Save" % c["rina"]).click().run())
    chat = inbox.get_chat(store, c["rina"])
    assert (chat["email"], chat["company"]) == ("rina@example.com", "Toko Rina")
    assert at.text_input(key=f"chat_ct_channel_{c['rina']}").disabled


def test_reply_with_emoji_picker_and_shortcode(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["desi"])
    at.text_area(key=f"chat_draft_{c['desi']}").input("Siap kak :thumbsup:")
    ok(at.button(key="chat_emoji_0").click().run())
    assert at.text_area(key=f"chat_draft_{c['desi']}").value == "Siap kak :thumbsup:😊"
    ok(at.button(key="chat_send").click().run())
    last = inbox.thread(store, c["desi"])[-1]
    assert (last["direction"], last["body"]) == ("out", "Siap kak 👍😊")
    assert at.text_area(key=f"chat_draft_{c['desi']}").value == ""
    assert inbox.get_chat(store, c["desi"])["assignee_id"] == ids["budi"]  # C5: replying takes it
    assert any("Budi Santoso" in cap.value and "sending" in cap.value for cap in at.caption)


def test_window_closed_locks_composer_and_template_dialog_sends(env):
    store, ids = env
    old = utcnow() - timedelta(days=2)
    chat = customer_writes(store, "6289", "Halo", name="Lama Sekali", sent_at=old).chat_id
    good = system.create_template(store, channel="whatsapp", name="order_update", language="id",
                                  category="UTILITY", body="Halo {{1}}, pesanan {{2}} dikirim.", initiate=True)
    system.review_template(store, good, "Accepted")
    other = system.create_template(store, channel="whatsapp", name="reminder", language="id",
                                   category="UTILITY", body="Tagihan {{1}}", initiate=False)
    system.review_template(store, other, "Accepted")
    system.create_template(store, channel="whatsapp", name="pending_one", language="id",
                           category="UTILITY", body="Hi", initiate=True)
    at = open_chat(ok(run_as(store, ids["budi"])), chat)
    assert f"chat_draft_{chat}" not in {t.key for t in at.text_area}
    assert any("24-hour window is closed" in w.value for w in at.warning)
    assert any("window closed" in cap.value for cap in at.caption)
    ok(at.button(key="chat_tpl_open").click().run())
    pick = at.selectbox(key="chat_tpl_pick")
    assert pick.options == ["order_update (Indonesian)"]  # only Accepted + initiate, this channel
    assert at.text_input(key=f"chat_tpl_{good}_1").value == "Lama Sekali"
    at.text_input(key=f"chat_tpl_{good}_2").input("INV-42")
    ok(at.run())
    assert "Halo Lama Sekali, pesanan INV-42 dikirim." in [t.value for t in at.text_area]
    ok(at.button(key="chat_tpl_send").click().run())
    last = inbox.thread(store, chat)[-1]
    assert (last["kind"], last["body"]) == ("template", "Halo Lama Sekali, pesanan INV-42 dikirim.")
    assert inbox.get_chat(store, chat)["initiated_by"] == "Business initiate"
    assert "chat_tpl_send" not in {b.key for b in at.button}


def test_attachment_too_large_is_refused_with_message_and_nothing_sent(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["joko"])
    before = len(inbox.thread(store, c["joko"]))
    # What the uploader tells the agent ("1MB per file") is the real limit (.streamlit/config.toml).
    assert at.file_uploader(key=f"chat_upload_{c['joko']}_0").proto.max_upload_size_mb == 1
    at.file_uploader(key=f"chat_upload_{c['joko']}_0").upload("big.pdf", b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024))
    ok(at.button(key="chat_send_file").click().run())
    assert any("at most 1 MB" in e.value for e in at.error)
    assert len(inbox.thread(store, c["joko"])) == before
    assert not list(Path(store.media_dir).rglob("*.pdf")) and not any(Path(store.media_dir).rglob("*"))


def test_image_with_caption_is_sent_and_shown_inline(three):
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["joko"])
    at.file_uploader(key=f"chat_upload_{c['joko']}_0").upload("pic.png", PNG, "image/png")
    at.text_input(key=f"chat_caption_{c['joko']}_0").input("Ini fotonya :smile:")
    ok(at.button(key="chat_send_file").click().run())
    last = inbox.thread(store, c["joko"])[-1]
    assert (last["kind"], last["caption"], last["filename"]) == ("image", "Ini fotonya 😊", "pic.png")
    assert len(at.image) == 1 and "Ini fotonya 😊" in [t.value for t in at.text]
    assert at.file_uploader(key=f"chat_upload_{c['joko']}_1").value is None  # a fresh uploader


def test_failed_message_shows_reason_and_retry_requeues(three):
    store, ids, c = three
    mid = actions.reply(store, c["joko"], ids["budi"], "hello")
    store.write(lambda w: w.execute("UPDATE messages SET status='failed', error='Bot was blocked by the user'"
                                    " WHERE id = ?", [mid]))
    at = open_chat(ok(run_as(store, ids["budi"])), c["joko"])
    assert any("Bot was blocked by the user" in e.value for e in at.error)
    ok(at.button(key=f"chat_retry_{mid}").click().run())
    assert inbox.thread(store, c["joko"])[-1]["status"] == "pending"


def test_new_inbound_raises_toast_when_bell_on_and_nothing_when_off(three):
    store, ids, c = three
    at = ok(run_as(store, ids["budi"]))
    assert at.toggle(key="chat_bell").value is True
    customer_writes(store, "6281", "Masih ada stok?", name="Rina Kusuma")
    ok(at.run())
    # The pop-up is drawn in the page (st.toast from a fragment would close an open dialog).
    assert any(t.value == "Masih ada stok?" for t in at.text)
    assert any("Rina Kusuma" in m.value and ":material/chat:" in m.value for m in at.markdown)
    assert not at.toast
    assert len(at.get("audio")) == 1
    ok(at.toggle(key="chat_bell").set_value(False).run())
    assert accounts.get_agent(store, ids["budi"])["notify"] is False  # persisted
    customer_writes(store, "6281", "Halo?", name="Rina Kusuma")
    ok(at.run())
    assert not any(t.value == "Halo?" for t in at.text) and not at.get("audio")
    # A new browser session reads the persisted preference.
    assert ok(run_as(store, ids["budi"])).toggle(key="chat_bell").value is False


def test_paging_through_a_long_list(env):
    store, ids = env
    for i in range(35):
        customer_writes(store, f"62{i:04d}", f"msg {i}", name=f"Customer {i:02d}")
    at = ok(run_as(store, ids["budi"], {"tab": "Unassigned"}))
    first = listed(at)
    assert len(first) == 30
    ok(at.button(key="chat_next").click().run())
    assert len(listed(at)) == 5 and not listed(at) & first
    assert at.query_params["page"] == "2"


def test_received_media_is_shown_inline(env):
    from maxchat_data.ingest import Inbound, receive
    from maxchat_data.media import save
    store, ids = env
    pdf = save(store.media_dir, "invoice.pdf", b"%PDF-1.4 invoice", "application/pdf", "document")
    mp4 = save(store.media_dir, "clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4", "video")
    png = save(store.media_dir, "photo.png", PNG, "image/png", "image")
    chat = None
    for i, (kind, a, caption) in enumerate([("document", pdf, "the invoice"), ("video", mp4, None),
                                            ("image", png, "**look**")]):
        chat = receive(store, Inbound(channel="whatsapp", channel_user_id="6285", provider_message_id=f"m{i}",
                                      contact_name="Media Person", kind=kind, attachment=a, caption=caption)).chat_id
    at = open_chat(ok(run_as(store, ids["budi"])), chat)
    (dl,) = [b for b in at.get("download_button")]
    assert "invoice" in dl.proto.label
    assert len(at.get("video")) == 1 and len(at.image) == 1
    assert "the invoice" in [t.value for t in at.text] and "**look**" in [t.value for t in at.text]


def test_a_broken_image_an_old_database_holds_does_not_break_the_chat(env):
    """Bytes that start like a GIF but do not decode, put straight into the
    media folder and the database (as an older version accepted them)."""
    from maxchat_data.ingest import Inbound, receive
    from maxchat_data.media import Attachment
    store, ids = env
    (Path(store.media_dir) / "ba").mkdir(parents=True, exist_ok=True)
    (Path(store.media_dir) / "ba" / "broken").write_bytes(BROKEN_GIF)
    broken = Attachment("ba" * 32, "photo.gif", "image/gif", "image", len(BROKEN_GIF), "ba/broken")
    chat = receive(store, Inbound(channel="whatsapp", channel_user_id="6286", provider_message_id="m-broken",
                                  contact_name="Broken Photo", kind="image", attachment=broken)).chat_id
    for who in ("budi", "sari"):
        at = open_chat(ok(run_as(store, ids[who])), chat)
        assert "This image could not be shown" in "\n".join(c.value for c in at.caption)
        (dl,) = at.get("download_button")
        assert "photo" in dl.proto.label
        # the profile and the composer are there
        assert "Info Profile" in [h.value for h in at.subheader] and at.text_input(key=f"chat_ct_name_{chat}").value
        assert at.button(key="chat_send") and at.text_area(key=f"chat_draft_{chat}")


def test_a_media_folder_that_refuses_the_upload_is_a_message_in_the_composer(three):
    import shutil
    store, ids, c = three
    at = open_chat(ok(run_as(store, ids["budi"])), c["joko"])
    shutil.rmtree(store.media_dir, ignore_errors=True)
    Path(store.media_dir).write_text("not a folder")  # unwritable even for root
    at.file_uploader(key=f"chat_upload_{c['joko']}_0").upload("pic.png", PNG, "image/png")
    ok(at.button(key="chat_send_file").click().run())
    assert any("could not be stored on the server" in e.value for e in at.error), [e.value for e in [*at.error, *at.success, *at.exception]]
    assert inbox.thread(store, c["joko"])[-1]["kind"] == "text"  # nothing was sent
