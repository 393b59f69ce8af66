"""The login gate, the login form and logout (U1), and the role check every
page starts with. The rules (tokens, codes, throttling) live in
``maxchat_data.login``; this module only shows them.

``st.session_state["agent"]`` holds the logged-in agent as
``{id, username, display_name, role, notify}``: the Chat page and every
other page rely on exactly this key.
"""
from __future__ import annotations

import json
import time

import streamlit as st

from maxchat_data import accounts, login
from server import runtime

AGENT_KEY = "agent"
_SESSION = "_auth_session"      # the login.Session behind this browser session
_FLASH = "_auth_flash"          # a message for the next login form
_GOTO = "_auth_goto"            # a same-tab navigation to do on the next run
_LOGGED_OUT = "_auth_logged_out"
AGENT_FIELDS = ("id", "username", "display_name", "role", "notify")


def _public(agent: dict) -> dict:
    return {k: agent[k] for k in AGENT_FIELDS}


def _forget(message: str | None = None) -> None:
    for key in (AGENT_KEY, _SESSION):
        st.session_state.pop(key, None)
    if message:
        st.session_state[_FLASH] = message


def current_agent() -> dict | None:
    """The logged-in agent, re-checked on every run: from this session's
    state, else from the signed session cookie. An agent who was
    deactivated, deleted, or whose login expired or was revoked is logged
    out with a message."""
    store = runtime.store()
    agent = st.session_state.get(AGENT_KEY)
    if agent is not None:
        session = st.session_state.get(_SESSION)
        if session is not None and (time.time() >= session.expires_at or login.REVOKED.is_revoked(session.sid)):
            _forget("Your session has ended. Log in again.")
            return None
        fresh = accounts.get_agent(store, agent["id"])
        if fresh is None or not fresh["active"]:
            _forget("Your account is deactivated.")
            return None
        agent = _public(fresh)  # picks up a changed role or name at once
        st.session_state[AGENT_KEY] = agent
        return agent
    if st.session_state.get(_LOGGED_OUT):
        return None  # the cookie this websocket was opened with is stale
    session = login.read_token(login.secret_key(store), st.context.cookies.get(login.COOKIE_NAME))
    fresh = login.active_agent(store, session)
    if fresh is None:
        return None
    st.session_state[AGENT_KEY] = _public(fresh)
    st.session_state[_SESSION] = session
    return st.session_state[AGENT_KEY]


def _navigate(url: str, code: str | None = None) -> None:
    """Same-tab navigation (our own markup; ``url`` is one of our routes and
    ``code`` a URL-safe random token). With a code, the browser POSTs it."""
    target = json.dumps(url)
    if code is None:
        st.html(f"<script>window.location.replace({target});</script>", unsafe_allow_javascript=True)
        return
    st.html(
        f'<form id="maxchat-login-handoff" method="post" action="{url}">'
        f'<input type="hidden" name="code" value="{code}">'
        '<noscript><button type="submit">Continue</button></noscript></form>'
        '<script>document.getElementById("maxchat-login-handoff").submit();</script>',
        unsafe_allow_javascript=True)


def login_page() -> None:
    """Only the login form: nothing else of the app is rendered."""
    goto = st.session_state.pop(_GOTO, None)
    if goto:
        _navigate(goto)
    _, middle, _ = st.columns([1, 1.4, 1])
    with middle:
        _login_form()


def _login_form() -> None:
    st.title("Maxchat Inbox")
    st.caption("Shared inbox for WhatsApp, Facebook Messenger and Telegram.")
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.warning(flash)
    elif st.query_params.get("login") == "expired":
        st.warning("That login took too long. Log in again.")
    with st.form("login_form", clear_on_submit=True):
        username = st.text_input("Username", key="login_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary", key="login_submit", width="stretch")
    if not submitted:
        return
    store = runtime.store()
    agent, message = login.try_login(store, username, password, st.context.ip_address)
    if agent is None:
        st.error(message)
        return
    token = login.make_token(login.secret_key(store), agent["id"])
    st.session_state[AGENT_KEY] = _public(agent)
    st.session_state[_SESSION] = login.read_token(login.secret_key(store), token)
    st.session_state.pop(_LOGGED_OUT, None)
    if "login" in st.query_params:
        del st.query_params["login"]
    st.info("Logging in…")
    # The browser trades the one-time code for the HttpOnly cookie and comes
    # back to "/": the login then survives a reload.
    _navigate("/auth/session", login.CODES.issue(token))
    st.stop()


def logout() -> None:
    session = st.session_state.get(_SESSION)
    if session is not None:
        login.REVOKED.revoke(session)
    _forget()
    st.session_state[_LOGGED_OUT] = True
    st.session_state[_GOTO] = "/auth/logout"  # clears the cookie


def sidebar_account(agent: dict) -> None:
    with st.sidebar:
        st.text(f"{agent['display_name']} ({agent['role']})")
        st.button("Logout", key="logout", icon=":material/logout:", on_click=logout, width="stretch")


def require_role(needed: str = "agent") -> dict:
    """First line of every page: the logged-in agent, or stop here."""
    agent = st.session_state.get(AGENT_KEY)
    if agent is None:
        st.error("Log in first.")
        st.stop()
    if not accounts.has_role(agent["role"], needed):
        st.error(f"This page is for {needed}s only.")
        st.stop()
    return agent
