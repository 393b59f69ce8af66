"""The customer simulator: domain function and the Streamlit page."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import point_runtime_at
from maxchat_data import NotAllowed, ValidationError
from server import runtime
from maxchat_data.simulator import simulate
from tests.fakes.helpers import PNG

ADMIN = {"id": 1, "username": "admin", "display_name": "Admin", "role": "admin"}


@pytest.fixture
def admin(store, team, monkeypatch):
    """An admin, in demo mode: who may use the simulator."""
    monkeypatch.setenv("MAXCHAT_DEMO", "1")
    return team["admin"]


def test_simulated_message_takes_the_inbound_path(store, admin):
    r1 = simulate(store, "telegram", "Budi", "777", "Halo *bold* <script>", actor_id=admin)
    r2 = simulate(store, "telegram", "Budi", "777", "lagi", actor_id=admin)
    assert r1.chat_id == r2.chat_id and not r2.duplicate
    chat = store.dicts("SELECT * FROM chats")[0]
    assert (chat["channel"], chat["contact_name"], chat["unread"], chat["status"]) == ("telegram", "Budi", 2, "Open")
    assert store.one("SELECT body FROM messages WHERE id = ?", [r1.message_id])[0] == "Halo *bold* <script>"


def test_simulated_file_with_caption(store, admin):
    r = simulate(store, "whatsapp", "Rina", "+6281200001111", "fotonya", "p.png", PNG, actor_id=admin)
    row = store.dicts("SELECT m.kind, m.caption, f.mime, c.channel_user_id FROM messages m JOIN attachments f"
                      " ON f.id = m.attachment_id JOIN chats c ON c.id = m.chat_id WHERE m.id = ?", [r.message_id])[0]
    assert row == {"kind": "image", "caption": "fotonya", "mime": "image/png", "channel_user_id": "6281200001111"}


@pytest.mark.parametrize("args,match", [(("fax", "A", "1", "x"), "Unknown channel"),
                                        (("telegram", "A", "", "x"), "customer's id"),
                                        (("whatsapp", "A", "abc", "x"), "phone number"),
                                        (("telegram", "A", "1", ""), "Type a message"),
                                        (("telegram", "A", "1 2", "x"), "letters, digits")])
def test_simulator_refuses_bad_input(store, admin, args, match):
    with pytest.raises(ValidationError, match=match):
        simulate(store, *args, actor_id=admin)
    assert store.one("SELECT count(*) FROM messages")[0] == 0


def test_simulator_only_in_demo_mode_and_for_admins(store, team, admin, monkeypatch):
    with pytest.raises(NotAllowed, match="Only an admin"):
        simulate(store, "telegram", "A", "1", "x", actor_id=team["budi"])
    monkeypatch.setenv("MAXCHAT_DEMO", "0")
    with pytest.raises(NotAllowed, match="only available in demo mode"):
        simulate(store, "telegram", "A", "1", "x", actor_id=admin)
    assert store.one("SELECT count(*) FROM messages")[0] == 0


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    point_runtime_at(tmp_path / "page.duckdb", monkeypatch, demo=True)
    yield
    runtime.close()


def test_page_sends_as_customer_and_shows_success(page_env):
    at = AppTest.from_file("../app_pages/simulator.py", default_timeout=30)
    at.session_state["agent"] = ADMIN
    at.run()
    assert not at.exception
    at.selectbox(key="sim_channel").set_value("messenger").run()
    at.text_input[0].set_value("Maria Lopez")
    at.text_input[1].set_value("PSID-42")
    at.text_area[0].set_value("Is the blue one in stock?")
    at.button[0].click().run()
    assert not at.exception
    assert any("Delivered to the inbox" in s.value for s in at.success)
    s = runtime.store()
    assert s.one("SELECT contact_name FROM chats WHERE channel = 'messenger' AND channel_user_id = 'PSID-42'")[0] == "Maria Lopez"
    assert s.one("SELECT body FROM messages WHERE body = 'Is the blue one in stock?'") is not None


def test_page_shows_a_refusal(page_env):
    at = AppTest.from_file("../app_pages/simulator.py", default_timeout=30)
    at.session_state["agent"] = ADMIN
    at.run()
    at.selectbox(key="sim_channel").set_value("whatsapp").run()
    at.text_input[1].set_value("not-a-number")
    at.text_area[0].set_value("x")
    at.button[0].click().run()
    assert at.error and "phone number" in at.error[0].value
    assert not at.success


def test_page_is_for_admins_only(page_env):
    at = AppTest.from_file("../app_pages/simulator.py", default_timeout=30)
    at.session_state["agent"] = {**ADMIN, "role": "agent"}
    at.run()
    assert at.error and "admins only" in at.error[0].value
    assert not at.button


def test_the_customers_phone_shows_the_teams_reply_with_its_ticks(page_env):
    from maxchat_data import accounts, actions
    s = runtime.store()
    agent = next(a["id"] for a in accounts.list_agents(s) if a["username"] == "budi")  # a demo agent
    received = simulate(s, "telegram", "Tono", "5550123", "Halo, ada promo?", actor_id=ADMIN["id"])
    reply = actions.reply(s, received.chat_id, agent, "Ada kak, diskon 10%")
    s.write(lambda w: w.execute("UPDATE messages SET status = 'read' WHERE id = ?", [reply]))
    at = AppTest.from_file("../app_pages/simulator.py", default_timeout=30)
    at.session_state["agent"] = ADMIN
    at.run()
    at.selectbox(key="sim_channel").set_value("telegram").run()
    at.text_input(key="sim_customer_telegram").set_value("5550123").run()
    assert not at.exception
    assert [t.value for t in at.text] == ["Halo, ada promo?", "Ada kak, diskon 10%"]
    assert any("The team" in c.value and "read" in c.value for c in at.caption)
