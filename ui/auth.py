"""The login gate, the login form and logout (U1), and the role check every
page starts with. The rules (tokens, codes, throttling) live in
``maxchat_data.login``; this module only shows them.

``st.session_state["agent"]`` holds the logged-in agent as
``{id, username, display_name, role, notify, language}`` (``language``:
the agent's chosen code, or None for ``MAXCHAT_LANGUAGE``): the Chat page and every
other page rely on exactly this key.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from maxchat_data import accounts, i18n, login, team
from maxchat_data.errors import MaxchatError
from maxchat_data.i18n import N_, _
from server import runtime

AGENT_KEY = "agent"
_SESSION = "_auth_session"      # the login.Session behind this browser session
_FLASH = "_auth_flash"          # a message for the next login form
_LOGGED_OUT = "_auth_logged_out"  # the next run POSTs /auth/logout (clears the cookie)
_ATTEMPT = "_auth_attempt"      # what the Log in button's callback found
AGENT_FIELDS = ("id", "username", "display_name", "role", "notify", "language")
ROLE_NAMES = {"agent": N_("agent"), "supervisor": N_("supervisor"), "analyst": N_("analyst"), "admin": N_("admin")}


def _person_language() -> str | None:
    """The logged-in agent's language, for a run that has not said it yet
    (a callback, a fragment's or a dialog's rerun); None outside a page run."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    agent = st.session_state.get(AGENT_KEY)
    return agent.get("language") if agent else None


i18n.speak_for(_person_language)


def _public(agent: dict) -> dict:
    return {k: agent[k] for k in AGENT_FIELDS}


def _forget(message: str | None = None) -> None:
    for key in (AGENT_KEY, _SESSION):
        st.session_state.pop(key, None)
    if message:
        st.session_state[_FLASH] = message


def client_address() -> str:
    """Where this browser connects from, for the login throttle. Streamlit
    reports a loopback peer as None: it is counted like any other address."""
    headers = st.context.headers
    forwarded = ", ".join(headers.get_all("X-Forwarded-For")) if headers else None
    return login.client_address(st.context.ip_address or "127.0.0.1", forwarded or None)


def current_agent() -> dict | None:
    """The logged-in agent, from the session cookie this browser connected
    with, re-checked on every run (expiry, logout, password change, account
    active). Session state alone never logs anyone in: a websocket that
    joined this Streamlit session without the same login's cookie (e.g. with
    a session id copied from a logged upload URL) logs the session out."""
    store = runtime.store()
    session = login.read_token(login.secret_key(store), st.context.cookies.get(login.COOKIE_NAME))
    fresh = login.active_agent(store, session)
    known = st.session_state.get(_SESSION)
    if known is not None and (fresh is None or session.sid != known.sid):
        account = accounts.get_agent(store, known.agent_id)
        _forget(_("Your account is deactivated.") if account is None or not account["active"]
                else _("Your session has ended. Log in again."))
        return None
    if fresh is None:
        st.session_state.pop(AGENT_KEY, None)
        return None
    st.session_state[AGENT_KEY] = _public(fresh)  # picks up a changed role or name at once
    st.session_state[_SESSION] = session
    return st.session_state[AGENT_KEY]


def login_sid() -> str | None:
    """The id of the login behind this browser session (what a download
    link is bound to), or None before login."""
    session = st.session_state.get(_SESSION)
    return session.sid if session is not None else None


def check_in_fragment() -> None:
    """First line of a live fragment: its reruns skip the page's gate, so a
    session that lost its login (or never had the cookie) is sent through
    the whole page, which shows the login form. (A session the gate never
    let in has no login here, and its next full run meets the gate.)"""
    if st.session_state.get(_SESSION) is not None and current_agent() is None:
        st.rerun(scope="app")


def _post(url: str, fields: dict[str, str] | None = None) -> None:
    """Same-tab form POST to one of our routes (our own markup: ``url`` is a
    route of ours, each value a URL-safe random token). The browser sends
    the page's Origin with it, which the route checks: no other site can
    log anyone in or out."""
    inputs = "".join(f'<input type="hidden" name="{name}" value="{value}">' for name, value in (fields or {}).items())
    st.html(
        f'<form id="maxchat-post" method="post" action="{url}">{inputs}'
        '<noscript><button type="submit">' + _("Continue") + '</button></noscript></form>'
        '<script>document.getElementById("maxchat-post").submit();</script>',
        unsafe_allow_javascript=True)


def login_page() -> None:
    """Only the login form: nothing else of the app is rendered."""
    if st.session_state.pop(_LOGGED_OUT, False):
        _post("/auth/logout")
    _left, middle, _right = st.columns([1, 1.4, 1])
    with middle:
        _login_form()


def _login_form() -> None:
    st.title("Maxchat Inbox")
    st.caption(_("Shared inbox for WhatsApp, Facebook Messenger and Telegram."))
    # Streamlit's "Press Enter to submit form" is English only; Enter still logs in.
    st.html("<style>[data-testid=stForm] [data-testid=InputInstructions] {display:none}</style>")
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.warning(flash)
    elif st.query_params.get("login") == "expired":
        st.warning(_("That login took too long. Log in again."))
    with st.form("login_form"):
        st.text_input(_("Username"), key="login_username", autocomplete="username")
        st.text_input(_("Password"), type="password", key="login_password", autocomplete="current-password")
        st.form_submit_button(_("Log in"), type="primary", key="login_submit", width="stretch", on_click=_attempt)
    attempt = st.session_state.pop(_ATTEMPT, None)
    if attempt is None:
        return
    agent, message = attempt
    if agent is None:
        st.error(message)
        return
    store = runtime.store()
    token = login.start_session(store, agent["id"])
    team.logged_in(store, agent["id"])  # Online, unless they then choose otherwise (W1)
    st.session_state[AGENT_KEY] = _public(agent)
    st.session_state[_SESSION] = login.read_token(login.secret_key(store), token)
    if "login" in st.query_params:
        del st.query_params["login"]
    st.info(_("Logging in…"))
    # The browser trades the one-time code for the HttpOnly cookie and comes
    # back to "/" with it: from then on every run checks that cookie.
    _post("/auth/session", {"code": login.CODES.issue(token)})
    st.stop()


def _attempt() -> None:
    """The Log in button's callback: the password field is emptied, the
    username stays for another try."""
    ss = st.session_state
    i18n.use(None)  # a callback runs before the page: the login form speaks the default
    ss[_ATTEMPT] = login.try_login(runtime.store(), ss.get("login_username", ""), ss.get("login_password", ""),
                                   client_address())
    ss["login_password"] = ""


def logout() -> None:
    session = st.session_state.get(_SESSION)
    if session is not None:
        login.revoke(runtime.store(), session)
        team.logged_out(runtime.store(), session.agent_id)  # logging out is Offline (W1)
    _forget()
    st.session_state[_LOGGED_OUT] = True


def _language_chosen(agent_id: int) -> None:
    """Stored at once: the rerun that follows reads it back (current_agent)
    and the whole page speaks it; so does the next login."""
    try:
        accounts.set_language(runtime.store(), agent_id, st.session_state["ui_language"])
    except MaxchatError as exc:
        st.session_state["ui_language_error"] = str(exc)


def sidebar_language(agent: dict) -> None:
    st.session_state["ui_language"] = i18n.current()
    st.selectbox(_("Language"), list(i18n.LANGUAGES), key="ui_language", format_func=i18n.LANGUAGES.get,
                 on_change=_language_chosen, args=(agent["id"],))
    error = st.session_state.pop("ui_language_error", None)
    if error:
        st.error(error)


def sidebar_account(agent: dict) -> None:
    with st.sidebar:
        role = ROLE_NAMES.get(agent["role"])
        st.text(f"{agent['display_name']} ({_(role) if role else agent['role']})")
        from .team import sidebar_availability  # ui.team uses this module's gate
        sidebar_availability(agent)
        sidebar_language(agent)
        st.button(_("Logout"), key="logout", icon=":material/logout:", on_click=logout, width="stretch")
