"""The login gate, navigation by role, and the admin pages (U1, U2, B2, B4,
M1, M2), driven through streamlit.testing.v1.AppTest on a real store."""
from __future__ import annotations

import pytest
from streamlit.runtime.pages_manager import PagesManager

from maxchat_data import accounts, labels, login, system, templates
from server import runtime
from ui_support import ADMIN_PASSWORD, ROOT, agent_named, app, set_cookie, texts, ui_store, visible

ADMIN_PAGES = ("app_pages/agents.py", "app_pages/labels.py", "app_pages/templates.py", "app_pages/channels.py")


def posted(at) -> str:
    """The form the run POSTs to one of our routes (the login's code, logout), or ""."""
    return "".join(h.proto.body for h in at.html if 'id="maxchat-post"' in h.proto.body)


@pytest.fixture
def team(ui_store):
    return {name: agent_named(ui_store, name) for name in ("admin", "budi", "sari")}


def log_in(at, username, password):
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key="login_submit").click().run()


def follow_hand_off(at):
    """What the browser does after a login: POST the code to /auth/session,
    get the cookie, reconnect with it."""
    code = posted(at).split('name="code" value="')[1].split('"')[0]
    set_cookie(login.CODES.redeem(code))
    return at.run()


# ---- login gate -------------------------------------------------------------
def test_without_login_only_the_login_form_is_rendered(team):
    at = app()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Log in"]
    assert len(at.sidebar) == 0                                # no navigation, no account box
    assert "Chat" not in texts(at) and "Agents" not in texts(at)
    assert "agent" not in at.session_state


def test_streamlit_finds_no_old_style_pages_folder(monkeypatch):
    """Until st.navigation first runs, Streamlit serves the files of a folder
    named pages/ beside the main script by their URL, around the login gate
    (test_browser_login tries it on a fresh server). The views live in
    app_pages/, so Streamlit decides on dashboard.py's navigation alone."""
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)  # as a new process starts
    PagesManager(str(ROOT / "dashboard.py"))
    assert PagesManager.uses_pages_directory is False


def test_wrong_password_gets_one_clear_message(team):
    at = log_in(app(), "admin", "not-the-password")
    assert [e.value for e in at.error] == ["Wrong username or password."]
    assert "agent" not in at.session_state
    assert at.text_input(key="login_username").value == "admin"   # typed once, kept for the next try
    assert at.text_input(key="login_password").value == ""
    at = log_in(at, "nobody", "whatever1")                     # unknown user: the same words
    assert [e.value for e in at.error] == ["Wrong username or password."]


def test_deactivated_agent_cannot_log_in_and_is_told_so_only_after_the_right_password(team, ui_store):
    budi = team["budi"]
    accounts.update_agent(ui_store, budi["id"], team["admin"]["id"], display_name=budi["display_name"], role="agent",
                          active=False)
    at = log_in(app(), "budi", "not-budis-password")
    assert [e.value for e in at.error] == ["Wrong username or password."]    # a guesser learns nothing
    at = log_in(at, "budi", "budi-pass-1")
    assert [e.value for e in at.error] == ["This account is deactivated."]
    assert "agent" not in at.session_state and not posted(at)


def test_repeated_failures_lock_the_login_for_a_while(team):
    at = app()
    for _ in range(login.THROTTLE.user_free + 1):
        at = log_in(at, "admin", "wrong-password")
    at = log_in(at, "admin", ADMIN_PASSWORD)                   # even the right password waits now
    assert at.error[0].value.startswith("Too many failed attempts. Try again in")
    assert "agent" not in at.session_state


def test_correct_login_sets_the_agent_and_hands_the_session_to_the_cookie_route(team, ui_store):
    at = log_in(app(), "ADMIN", ADMIN_PASSWORD)
    assert not at.error
    assert at.session_state["agent"] == {"id": team["admin"]["id"], "username": "admin",
                                         "display_name": "Administrator", "role": "admin", "notify": True,
                                         "language": None}
    handoff = posted(at)
    assert 'action="/auth/session"' in handoff and 'name="code"' in handoff
    code = handoff.split('name="code" value="')[1].split('"')[0]
    token = login.CODES.redeem(code)                           # what the route will set as the cookie
    assert login.read_token(login.secret_key(ui_store), token).agent_id == team["admin"]["id"]
    assert login.CODES.redeem(code) is None                    # one use only
    set_cookie(token)                                          # the route set it; the browser reconnects
    at.run()
    assert "Administrator (admin)" in texts(at) and "Password" not in [t.label for t in at.text_input]


def test_session_state_alone_does_not_keep_a_login(team):
    # A websocket that joins a logged-in Streamlit session by its id (as
    # copied from an upload URL) carries no cookie, or someone else's.
    at = app(agent=team["admin"])
    assert at.session_state["agent"]["username"] == "admin"
    set_cookie(None)
    at.run()
    assert "agent" not in at.session_state and "_auth_session" not in at.session_state
    assert "Your session has ended. Log in again." in texts(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    at = app(agent=team["admin"])
    set_cookie(login.start_session(runtime.store(), team["budi"]["id"]))   # another login's cookie
    at.run()
    assert "agent" not in at.session_state
    assert "Budi" not in texts(at) and "Administrator" not in texts(at)


def test_a_session_that_ends_meanwhile_logs_out_on_the_next_run(team):
    at = follow_hand_off(log_in(app(), "admin", ADMIN_PASSWORD))
    assert at.session_state["agent"]["username"] == "admin"
    login.revoke(runtime.store(), at.session_state["_auth_session"])   # e.g. logged out in another tab
    at.run()
    assert "agent" not in at.session_state
    assert "Your session has ended. Log in again." in texts(at)


def test_an_expired_hand_off_code_says_so(team):
    at = app()
    at.query_params["login"] = "expired"
    at.run()
    assert "That login took too long. Log in again." in texts(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_logout_returns_to_the_login_form_and_clears_the_cookie(team):
    at = app(agent=team["admin"])
    at.sidebar.button(key="logout").click().run()
    assert "agent" not in at.session_state
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert 'method="post" action="/auth/logout"' in posted(at)  # a POST, never a GET (issue 17)


def test_an_agent_deactivated_meanwhile_is_logged_out_on_the_next_run(team, ui_store):
    at = app(agent=team["budi"])
    assert "Budi Santoso (agent)" in texts(at)
    accounts.update_agent(ui_store, team["budi"]["id"], team["admin"]["id"], display_name="Budi Santoso",
                          role="agent", active=False)
    at.run()
    assert "agent" not in at.session_state
    assert "Your account is deactivated." in texts(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_a_password_reset_logs_the_agent_out_everywhere_on_the_next_run(team, ui_store):
    at = app(agent=team["budi"])
    assert "Budi Santoso (agent)" in texts(at)
    accounts.update_agent(ui_store, team["budi"]["id"], team["admin"]["id"], display_name="Budi Santoso",
                          role="agent", active=True, password="budi-new-pass")
    at.run()                                                   # the same cookie, one run later
    assert "agent" not in at.session_state
    assert "Your session has ended. Log in again." in texts(at)


# ---- navigation by role -----------------------------------------------------
@pytest.mark.parametrize("who", ["budi", "sari"])
def test_agents_and_supervisors_get_no_admin_pages(team, who):
    at = app(agent=team[who])
    assert not at.exception
    for page in ADMIN_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_admin_pages_refuse_a_non_admin_run_directly(team):
    at = app("app_pages/agents.py", agent=team["budi"])
    assert [e.value for e in at.error] == ["This page is for admins only."]
    assert not at.text_input


def test_admin_gets_every_admin_page(team):
    at = app(agent=team["admin"])
    for page, title in zip(ADMIN_PAGES, ("Agents", "Labels", "Templates", "Channels")):
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.title[0].value == title


def test_simulator_is_offered_to_admins_in_demo_mode_only(team, monkeypatch):
    at = app(agent=team["admin"])
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/simulator.py")
    monkeypatch.setenv("MAXCHAT_DEMO", "1")
    at.run()
    at.switch_page("app_pages/simulator.py").run()
    assert not at.exception and at.title[0].value == "Customer simulator"
    at = app(agent=team["sari"])
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/simulator.py")


# ---- agents page (U2) -------------------------------------------------------
def test_admin_creates_an_agent_who_can_then_log_in(team, ui_store):
    at = app("app_pages/agents.py", agent=team["admin"])
    at.text_input(key="agent_new_username").input("Dewi.L")
    at.text_input(key="agent_new_display").input("Dewi Lestari")
    at.selectbox(key="agent_new_role").set_value("supervisor")
    at.text_input(key="agent_new_password").input("dewi-pass-1")
    at.button(key="FormSubmitter:agent_add-Add agent").click().run()
    assert [visible(s.value) for s in at.success] == ["Agent dewi.l created."]
    assert at.text_input(key="agent_new_username").value == ""
    dewi = accounts.authenticate(ui_store, "dewi.l", "dewi-pass-1")
    assert dewi["role"] == "supervisor" and dewi["display_name"] == "Dewi Lestari"
    assert "dewi.l" in at.dataframe[0].value["Username"].tolist()


@pytest.mark.parametrize("username,display,password,message", [
    ("x", "X", "long-enough-1", "A username is 2-32"),
    ("budi", "Budi Two", "long-enough-1", "taken"),
    ("newbie", "Newbie", "short", "at least 8 characters"),
    ("newbie", "", "long-enough-1", "display name"),
])
def test_bad_agent_input_is_refused_with_a_message(team, ui_store, username, display, password, message):
    before = len(accounts.list_agents(ui_store))
    at = app("app_pages/agents.py", agent=team["admin"])
    at.text_input(key="agent_new_username").input(username)
    at.text_input(key="agent_new_display").input(display)
    at.text_input(key="agent_new_password").input(password)
    at.button(key="FormSubmitter:agent_add-Add agent").click().run()
    assert len(at.error) == 1 and message in at.error[0].value.replace("\\", "")
    assert len(accounts.list_agents(ui_store)) == before
    assert at.text_input(key="agent_new_username").value == username   # the input is kept to fix it


def test_admin_deactivates_an_agent(team, ui_store):
    budi = team["budi"]["id"]
    at = app("app_pages/agents.py", agent=team["admin"])
    at.selectbox(key="agent_edit_id").set_value(budi).run()
    at.toggle(key=f"agent_active_{budi}").set_value(False)
    at.button(key=f"FormSubmitter:agent_edit_{budi}-Save changes").click().run()
    assert "can no longer log in" in at.success[0].value.replace("\\", "")
    assert accounts.authenticate(ui_store, "budi", "budi-pass-1") is None
    assert "budi" not in [a["username"] for a in accounts.list_agents(ui_store, active_only=True)]
    table = at.dataframe[0].value
    assert table.loc[table["Username"] == "budi", "Status"].item() == "Deactivated"


def test_admin_changes_role_and_password(team, ui_store):
    sari = team["sari"]["id"]
    at = app("app_pages/agents.py", agent=team["admin"])
    at.selectbox(key="agent_edit_id").set_value(sari).run()
    at.selectbox(key=f"agent_role_{sari}").set_value("admin")
    at.text_input(key=f"agent_password_{sari}").input("new-sari-pass")
    at.button(key=f"FormSubmitter:agent_edit_{sari}-Save changes").click().run()
    assert not at.error
    assert accounts.authenticate(ui_store, "sari", "new-sari-pass")["role"] == "admin"
    assert accounts.authenticate(ui_store, "sari", "sari-pass-1") is None


def test_the_last_admin_cannot_be_deactivated(team, ui_store):
    me = team["admin"]["id"]
    at = app("app_pages/agents.py", agent=team["admin"])
    at.selectbox(key="agent_edit_id").set_value(me).run()
    at.toggle(key=f"agent_active_{me}").set_value(False)
    at.button(key=f"FormSubmitter:agent_edit_{me}-Save changes").click().run()
    assert "Keep at least one active admin" in at.error[0].value.replace("\\", "")
    assert accounts.authenticate(ui_store, "admin", ADMIN_PASSWORD) is not None


# ---- labels page (B2, B4) ---------------------------------------------------
def add_label(at, name, color):
    at.text_input(key="label_name").input(name)
    at.pills(key="label_color").set_value(color)
    return at.button(key="FormSubmitter:label_add-Add").click().run()


def test_admin_creates_labels_with_a_palette_colour(team, ui_store):
    at = add_label(app("app_pages/labels.py", agent=team["admin"]), "  VIP   customer ", "Red")
    assert not at.error
    assert [(l["name"], l["color"]) for l in labels.list_labels(ui_store)] == [("VIP customer", "Red")]
    assert "VIP customer" in [t.value for t in at.text]
    assert at.text_input(key="label_name").value == ""


def test_duplicate_label_is_refused_case_insensitively(team, ui_store):
    at = add_label(app("app_pages/labels.py", agent=team["admin"]), "Complaint", "Orange")
    at = add_label(at, "COMPLAINT", "Blue")
    assert "already exists" in at.error[0].value
    assert [l["name"] for l in labels.list_labels(ui_store)] == ["Complaint"]


def test_label_is_deleted_only_after_confirmation(team, ui_store):
    keep = system.create_label(ui_store, "Keep", "Green")
    gone = system.create_label(ui_store, "Spam", "Grey")
    at = app("app_pages/labels.py", agent=team["admin"])
    at.button(key=f"label_delete_{gone}").click().run()
    assert "Delete the label Spam?" in at.warning[0].value
    assert len(labels.list_labels(ui_store)) == 2               # nothing deleted yet
    at.button(key="label_confirm_no").click().run()
    assert not at.warning and len(labels.list_labels(ui_store)) == 2
    at.button(key=f"label_delete_{gone}").click().run()
    at.button(key="label_confirm_yes").click().run()
    assert [l["id"] for l in labels.list_labels(ui_store)] == [keep]
    assert "Spam" not in [t.value for t in at.text]


# ---- templates page (M1, M2) ------------------------------------------------
def create_template(at, channel, name, body, initiate=True):
    at.selectbox(key="template_channel").set_value(channel)
    at.selectbox(key="template_language").set_value("id")
    at.selectbox(key="template_category").set_value("MARKETING")
    at.text_input(key="template_name").input(name)
    at.text_area(key="template_body").input(body)
    at.toggle(key="template_initiate").set_value(initiate)
    return at.button(key="FormSubmitter:template_add-Create template").click().run()


def test_whatsapp_template_with_variables_starts_pending(team, ui_store):
    at = create_template(app("app_pages/templates.py", agent=team["admin"]), "whatsapp", "order_follow_up",
                         "Halo {{1}}, pesanan {{2}} sudah dikirim.")
    assert not at.error
    (tpl,) = templates.list_templates(ui_store)
    assert (tpl["status"], tpl["variables"], tpl["initiate"], tpl["category"]) == ("Pending", 2, True, "MARKETING")
    table = at.dataframe[0].value
    assert table["Status"].tolist() == ["⏳ Pending"] and table["Variables"].tolist() == [2]
    # Outside demo mode a WhatsApp status comes from the review: no manual control.
    assert not at.segmented_control and "synchronised" in at.info[0].value


def test_bad_template_is_refused_with_a_message(team, ui_store):
    at = create_template(app("app_pages/templates.py", agent=team["admin"]), "telegram", "gap", "Hi {{1}} {{3}}")
    assert "without gaps" in at.error[0].value.replace("\\", "")
    assert templates.list_templates(ui_store) == []


def test_admin_sets_status_of_a_non_whatsapp_template(team, ui_store):
    at = create_template(app("app_pages/templates.py", agent=team["admin"]), "telegram", "promo", "Diskon {{1}}%")
    (tpl,) = templates.list_templates(ui_store)
    assert tpl["status"] == "Accepted"                         # other channels accept on save
    at.segmented_control(key=f"template_status_{tpl['id']}_Accepted").set_value("Rejected")
    at.button(key=f"template_status_save_{tpl['id']}").click().run()
    assert templates.list_templates(ui_store)[0]["status"] == "Rejected"
    assert at.dataframe[0].value["Status"].tolist() == ["⛔ Rejected"]
    # What the picker area says follows the store, also after a change made elsewhere.
    assert any("Rejected" in m.value for m in at.markdown if m.value.startswith("**Status:**"))
    templates.set_status(ui_store, tpl["id"], "Accepted", actor_id=team["admin"]["id"])  # another admin
    at.run()
    assert any("Accepted" in m.value for m in at.markdown if m.value.startswith("**Status:**"))
    assert at.segmented_control(key=f"template_status_{tpl['id']}_Accepted").value == "Accepted"
    at.toggle(key=f"template_initiate_{tpl['id']}").set_value(False).run()
    assert templates.list_templates(ui_store)[0]["initiate"] is False


def test_in_demo_mode_admin_accepts_a_whatsapp_template(team, ui_store, monkeypatch):
    monkeypatch.setenv("MAXCHAT_DEMO", "1")
    tid = system.create_template(ui_store, channel="whatsapp", name="welcome", language="en",
                                 category="UTILITY", body="Welcome {{1}}!", initiate=True)
    at = app("app_pages/templates.py", agent=team["admin"])
    at.segmented_control(key=f"template_status_{tid}_Pending").set_value("Accepted")
    at.button(key=f"template_status_save_{tid}").click().run()
    assert templates.list_templates(ui_store)[0]["status"] == "Accepted"
    assert [t["id"] for t in templates.initiate_templates(ui_store, "whatsapp")] == [tid]
