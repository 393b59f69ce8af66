"""The pages of reaching customers first, through AppTest on a real store:
the Chat page's `New chat` pop-up, the Broadcasts page (CSV preview, bad
rows, confirm, live progress), the Channels page and the templates Sync."""
from __future__ import annotations

import pytest

from maxchat_data import broadcasts, config, system
from ui_support import agent_named, app, texts, ui_store, visible


@pytest.fixture
def team(ui_store):
    return {name: agent_named(ui_store, name) for name in ("admin", "budi", "sari")}


def initiate(store, body="Halo {{1}}, kode {{2}}", name="promo"):
    tid = system.create_template(store, channel="whatsapp", name=name, language="id", category="MARKETING",
                                 body=body, initiate=True)
    system.review_template(store, tid, "Accepted")
    return tid


def test_new_chat_pop_up_sends_to_a_number_and_opens_the_chat(team, ui_store):
    tid = initiate(ui_store)
    at = app("dashboard.py", team["budi"])
    at.button(key="new_chat_btn").click().run()
    assert "Messenger and Telegram do not let a business write first" in visible(texts(at))
    at.text_input(key="new_chat_number").input("0812 3456 7890").run()
    assert "Sends to +6281234567890" in visible(texts(at))
    at.text_input(key=f"new_chat_{tid}_1").input("Rina").run()
    assert at.text_area(key="new_chat_preview").value == "Halo Rina, kode {{2}}"
    at.button(key="new_chat_send").click().run()
    assert "Fill in value {{2}}" in visible(texts(at))          # a missing value: said, nothing sent
    assert ui_store.one("SELECT count(*) FROM messages WHERE direction = 'out'")[0] == 0
    at.text_input(key=f"new_chat_{tid}_2").input("X9").run()
    at.button(key="new_chat_send").click().run()
    assert not at.exception
    chat_id = ui_store.one("SELECT id FROM chats WHERE channel_user_id = '6281234567890'")[0]
    assert at.session_state["chat_open"] == chat_id
    assert ui_store.one("SELECT s.initiated_by, c.assignee_id FROM chats c JOIN sessions s ON s.id = c.session_id"
                        " WHERE c.id = ?", [chat_id]) == ("Business initiate", team["budi"]["id"])
    assert "Halo Rina, kode X9" in visible(texts(at))


@pytest.mark.parametrize("typed, says", [("021 555", "is not a mobile number"),
                                         # a blocked contact's number in Arabic-Indic digits (issue 17)
                                         ("٠٨١٢٠٠٠٠٠٠٠١", "type it with the digits 0-9 only")])
def test_new_chat_pop_up_refuses_a_bad_number(team, ui_store, typed, says):
    from maxchat_data import actions
    from conftest import customer_writes
    initiate(ui_store)
    blocked = customer_writes(ui_store, user="6281200000001").chat_id
    actions.block(ui_store, blocked, team["admin"]["id"])
    at = app("dashboard.py", team["budi"])
    at.button(key="new_chat_btn").click().run()
    at.text_input(key="new_chat_number").input(typed).run()
    assert says in visible(texts(at))
    at.button(key="new_chat_send").click().run()
    assert "Type a valid WhatsApp number" in visible(texts(at))
    assert ui_store.one("SELECT count(*) FROM messages WHERE direction = 'out'")[0] == 0
    assert ui_store.one("SELECT count(*) FROM chats")[0] == 1


def test_new_chat_pop_up_offers_an_agent_only_chats_they_may_write_in(team, ui_store):
    """W3 on (issue 17): a chat another agent holds is not offered."""
    from maxchat_data import actions, team as team_rules
    from conftest import customer_writes
    initiate(ui_store)
    admin, budi = team["admin"]["id"], team["budi"]["id"]
    mine, theirs, _ = (customer_writes(ui_store, user=f"628120000000{i}", name=name).chat_id
                       for i, name in enumerate(("Rina Mine", "Rina Theirs", "Rina Free")))
    actions.assign(ui_store, mine, budi, admin)
    actions.assign(ui_store, theirs, admin, admin)
    team_rules.save_settings(ui_store, admin, auto_assign="off", capacity=10, offline_returns=False,
                             agents_see_own=True)

    def offered(agent):
        at = app("dashboard.py", agent)
        at.button(key="new_chat_btn").click().run()
        at.radio(key="new_chat_to").set_value("contact").run()
        at.text_input(key="new_chat_q").input("rina").run()
        assert not at.exception
        return {o.split(" · ")[0] for o in at.selectbox(key="new_chat_contact").options}
    assert offered(team["budi"]) == {"Rina Mine", "Rina Free"}
    assert offered(team["sari"]) == {"Rina Mine", "Rina Theirs", "Rina Free"}  # a supervisor sees every chat


def test_broadcasts_page_is_for_supervisors_and_admins(team):
    at = app("app_pages/broadcasts.py", team["budi"])
    assert "This page is for supervisors and admins only." in [e.value for e in at.error]


def test_broadcast_by_channel_preview_then_confirm_then_live_progress(team, ui_store):
    from tests.conftest import customer_writes
    tid = initiate(ui_store)
    for i in range(3):
        customer_writes(ui_store, user=f"62812000000{i:02d}", name=f"Cust {i}")
    at = app("app_pages/broadcasts.py", team["sari"])
    at.radio(key="bc_how").set_value("channel").run()
    at.text_input(key=f"bc_val_{tid}_2").input("LEBARAN").run()
    assert "3 recipient(s)" in visible(texts(at))
    first = at.dataframe[0].value  # the value each variable gets, per recipient
    assert list(first.columns) == ["Line", "To", "Name", "{{1}}", "{{2}}"]
    assert list(first["{{1}}"]) == list(first["Name"]) and set(first["{{2}}"]) == {"LEBARAN"}
    # the messages as each customer reads them: text, never markup
    assert [t.value for t in at.text] == [f"Halo {n}, kode LEBARAN" for n in first["Name"]]
    assert ui_store.one("SELECT count(*) FROM broadcasts")[0] == 0  # nothing until confirmed
    at.button(key="bc_send").click().run()
    assert not at.exception
    (bid,) = ui_store.one("SELECT id FROM broadcasts")
    assert f"Broadcast #{bid} queued" in visible(texts(at))
    assert at.session_state["bc_pick"] == bid
    assert "0 of 3 handled" in [p.proto.text for p in at.get("progress")][0]
    at.button(key=f"bc_pause_{bid}").click().run()
    assert broadcasts.progress(ui_store, bid)["state"] == "paused"
    # Cancel asks first (issue 18.6): the first click changes nothing, "Don't cancel" neither.
    at.button(key=f"bc_cancel_{bid}").click().run()
    assert f"Cancel broadcast #{bid}? The 3 recipient(s) not yet sent will not get it." in visible(texts(at))
    assert broadcasts.progress(ui_store, bid)["state"] == "paused"
    at.button(key=f"bc_cancel_no_{bid}").click().run()
    assert not at.exception and f"Cancel broadcast #{bid}?" not in visible(texts(at))
    assert broadcasts.progress(ui_store, bid)["counts"]["queued"] == 3
    at.button(key=f"bc_cancel_{bid}").click().run()
    at.button(key=f"bc_cancel_yes_{bid}").click().run()
    assert not at.exception
    p = broadcasts.progress(ui_store, bid)
    assert p["state_label"] == "Cancelled" and p["counts"]["failed"] == 3
    assert f"Cancel broadcast #{bid}?" not in visible(texts(at))


def test_channels_page_shows_webhook_urls_facts_and_masked_secrets(team, monkeypatch):
    monkeypatch.setenv("MAXCHAT_PUBLIC_URL", "https://chat.toko.id")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ-secret")
    config._secrets.cache_clear()
    at = app("app_pages/channels.py", team["admin"])
    assert not at.exception
    codes = [c.value for c in at.code]
    assert codes == ["https://chat.toko.id/webhooks/whatsapp", "https://chat.toko.id/webhooks/messenger",
                     "https://chat.toko.id/webhooks/telegram"]
    shown = str([d.value.to_dict() for d in at.dataframe]) + texts(at)
    assert "ABCDEFGHIJKLMNOPQRSTUVWXYZ" not in shown and "…cret (40 characters)" in shown
    assert "Not connected: set WHATSAPP_TOKEN" in visible(texts(at))
