"""The analyst role (SPEC §0, U4): reads chats, acts on none. Every chat
action is refused in the domain API itself, with a clear message, and
leaves the database exactly as it was."""
from __future__ import annotations

import pytest

from conftest import customer_writes
from maxchat_data import NotAllowed, accounts, actions, labels, roles, system, templates
from maxchat_data.store import utcnow
from streamlit.testing.v1 import AppTest

from maxchat_data import login
from tests.fakes.helpers import PNG
from ui_support import ROOT, agent_named, app, as_session_agent, set_cookie, texts, ui_store

pytestmark = pytest.mark.both_backends  # the same rules on DuckDB and PostgreSQL



def snapshot(store) -> dict:
    """Every row an action could touch."""
    return {t: sorted(store.all(f"SELECT * FROM {t}"), key=repr) for t in
            ("chats", "sessions", "messages", "outbox", "events", "notes", "contacts", "contact_labels", "labels",
             "attachments")}


@pytest.fixture
def world(store, team):
    lina = system.create_account(store, "lina", "Lina Marlina", "lina-pass-1", "analyst")
    chat = customer_writes(store, "6281", "Halo kak", name="Rina Kusuma").chat_id
    other = customer_writes(store, "6282", "Hi", name="Joko").chat_id
    actions.assign(store, other, team["budi"], team["admin"])
    failed = actions.reply(store, other, team["budi"], "On it")
    store.write(lambda w: w.execute("UPDATE messages SET status = 'failed' WHERE id = ?", [failed]))
    vip = labels.create_label(store, "VIP", "Red", team["admin"])
    tpl = templates.create_template(store, team["admin"], channel="telegram", name="hello", language="en",
                                    category="UTILITY", body="Hi {{1}}", initiate=True)
    return {"lina": lina, "chat": chat, "other": other, "failed": failed, "vip": vip, "tpl": tpl, **team}


def every_chat_action(w):
    """(name, call) for every public function that acts on a chat, as the analyst."""
    lina, chat = w["lina"], w["chat"]
    return [
        ("assign", lambda s: actions.assign(s, chat, w["budi"], lina)),
        ("assign to BOT", lambda s: actions.assign(s, w["other"], None, lina)),
        ("resolve", lambda s: actions.resolve(s, chat, lina)),
        ("archive", lambda s: actions.archive(s, chat, lina)),
        ("unarchive", lambda s: actions.unarchive(s, chat, lina)),
        ("block", lambda s: actions.block(s, chat, lina)),
        ("unblock", lambda s: actions.unblock(s, chat, lina)),
        ("reply", lambda s: actions.reply(s, chat, lina, "hello")),
        ("send_attachment", lambda s: actions.send_attachment(s, chat, lina, "a.png", PNG, "pic")),
        ("send_template", lambda s: actions.send_template(s, chat, lina, w["tpl"], ["Rina"])),
        ("retry", lambda s: actions.retry(s, w["failed"], lina)),
        ("add_note", lambda s: actions.add_note(s, chat, lina, "a note")),
        ("update_contact", lambda s: actions.update_contact(s, chat, lina, name="Someone Else")),
        ("set_label on", lambda s: labels.set_label(s, chat, w["vip"], True, lina)),
        ("set_label off", lambda s: labels.set_label(s, w["other"], w["vip"], False, lina)),
        ("create_label", lambda s: labels.create_label(s, "Spam", "Blue", lina)),
        ("delete_label", lambda s: labels.delete_label(s, w["vip"], lina)),
        ("mark_read", lambda s: actions.mark_read(s, chat, lina)),
    ]


def test_every_chat_action_is_refused_for_an_analyst_and_changes_nothing(store, world):
    calls = every_chat_action(world)
    # The list covers every public action of the actions module (a new one must be added here).
    covered = {name.split()[0] for name, _ in calls}
    public = {n for n, f in vars(actions).items() if callable(f) and not n.startswith("_")
              and getattr(f, "__module__", "") == actions.__name__}
    assert public - covered == {"set_notify"}  # the own bell: not a chat action
    before = snapshot(store)
    for name, call in calls:
        with pytest.raises(NotAllowed, match="An analyst can read chats but not act on them."):
            call(store)
        assert snapshot(store) == before, name


def test_the_same_actions_work_for_an_agent(store, world):
    """The check refuses the role, not the action: Budi may do them."""
    assert actions.resolve(store, world["chat"], world["budi"])
    labels.set_label(store, world["chat"], world["vip"], True, world["budi"])
    actions.add_note(store, world["chat"], world["budi"], "fine")


def test_an_analyst_cannot_be_given_a_chat_and_is_not_offered(store, world):
    with pytest.raises(NotAllowed, match="analyst"):
        actions.assign(store, world["chat"], world["lina"], world["admin"])
    assert "lina" not in [a["username"] for a in accounts.assignable_agents(store)]
    assert "lina" in [a["username"] for a in accounts.list_agents(store, active_only=True)]


def test_an_analyst_keeps_their_own_notification_bell(store, world):
    actions.set_notify(store, world["lina"], False)
    assert accounts.get_agent(store, world["lina"])["notify"] is False


def test_roles_are_capabilities_not_a_rank():
    assert roles.can_act("agent") and roles.can_act("admin") and not roles.can_act("analyst")
    assert [r for r in roles.ROLES if roles.can_see_reports(r)] == ["admin", "supervisor", "analyst"]
    assert [r for r in roles.ROLES if roles.can_use_sql(r)] == ["admin", "analyst"]
    assert not roles.has_role("analyst", "agent") and not roles.has_role("analyst", "admin")
    assert roles.has_role("admin", "supervisor") and roles.has_role("analyst", "analyst")


# ---- pages ------------------------------------------------------------------------------
def test_admin_creates_an_analyst_who_can_log_in(ui_store):
    at = app("app_pages/agents.py", agent=agent_named(ui_store, "admin"))
    at.text_input(key="agent_new_username").input("lina")
    at.text_input(key="agent_new_display").input("Lina Marlina")
    at.selectbox(key="agent_new_role").set_value("analyst")
    at.text_input(key="agent_new_password").input("lina-pass-1")
    at.button(key="FormSubmitter:agent_add-Add agent").click().run()
    assert not at.exception
    assert accounts.authenticate(ui_store, "lina", "lina-pass-1")["role"] == "analyst"


def test_an_analyst_reads_a_chat_without_any_control(ui_store):
    lina = accounts.get_agent(ui_store, system.create_account(ui_store, "lina", "Lina", "lina-pass-1", "analyst"))
    chat = customer_writes(ui_store, "6281", "Halo, pesanan saya?", name="Rina Kusuma").chat_id
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    set_cookie(login.start_session(ui_store, lina["id"]))  # logged in: the cookie is what counts
    at.session_state["agent"] = as_session_agent(lina)
    at.query_params["chat"] = str(chat)  # the link the Monitor gives: /?chat=ID
    at.run()
    assert not at.exception
    shown = texts(at)
    assert "Rina Kusuma" in shown and "Halo, pesanan saya?" in shown and "Read only" in shown
    keys = {w.key for w in (*at.button, *at.selectbox, *at.text_area, *at.text_input) if w.key}
    assert not {k for k in keys if k.startswith(("resolve_", "assign_", "chat_send", "chat_draft"))}, keys
    assert not at.chat_input
    # Reading does not mark the chat read for the agents.
    assert ui_store.one("SELECT unread FROM chats WHERE id = ?", [chat])[0] == 1
    # Navigation: Monitor, Reports and the SQL console, no admin page.
    for page in ("app_pages/agents.py", "app_pages/labels.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
