"""Fixtures for page tests (AppTest) and the login routes: the process store
(``server.runtime``) pointed at a temporary database, with the admin
the live server also has (admin / admin-pass-1), fresh login state, and a
stand-in for what a browser's websocket carries (cookies, headers, peer
address), which AppTest cannot seed."""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from maxchat_data import accounts, login, system
from server import runtime
from maxchat_data.store import Store
from conftest import point_runtime_at

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "admin-pass-1"
TEAM = {"budi": ("Budi Santoso", "budi-pass-1", "agent"), "sari": ("Sari Wulandari", "sari-pass-1", "supervisor")}
_base: Path | None = None


def _base_db() -> Path:
    """One database with the admin, budi (agent) and sari (supervisor),
    built once per test run and copied for each test: password hashing is
    deliberately slow."""
    global _base
    if _base is None:
        path = Path(tempfile.mkdtemp(prefix="maxchat-ui-base-")) / "ui.duckdb"
        with Store(path, path.parent / "media") as s:
            system.create_account(s, "admin", "Administrator", ADMIN_PASSWORD, "admin")
            for username, (display, password, role) in TEAM.items():
                system.create_account(s, username, display, password, role)
        _base = path
    return _base


def _reset_login_state() -> None:
    login.THROTTLE.reset()
    login._keys.clear()


# The websocket's handshake as the app sees it through st.context: the
# session cookie lives here, never in session_state.
BROWSER = SimpleNamespace(cookies={}, headers=[], remote_ip="127.0.0.1")


def set_cookie(token: str | None) -> None:
    """The browser (re)connects with this session cookie (None: without one)."""
    BROWSER.cookies.clear()
    if token:
        BROWSER.cookies[login.COOKIE_NAME] = token


@pytest.fixture
def ui_store(tmp_path, monkeypatch):
    """``runtime.store()`` on a temp file holding the admin (admin /
    admin-pass-1, as the live server has), budi (agent) and sari
    (supervisor)."""
    runtime.close()
    shutil.copy(_base_db(), tmp_path / "ui.duckdb")
    point_runtime_at(tmp_path / "ui.duckdb", monkeypatch)
    monkeypatch.setenv("MAXCHAT_ADMIN_USER", "admin")
    monkeypatch.setenv("MAXCHAT_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.delenv("MAXCHAT_SECRET_KEY", raising=False)
    monkeypatch.delenv("MAXCHAT_SESSION_HOURS", raising=False)
    _reset_login_state()
    BROWSER.cookies.clear()
    BROWSER.headers, BROWSER.remote_ip = [], "127.0.0.1"
    monkeypatch.setattr("streamlit.runtime.context._get_client_context", lambda: BROWSER)
    store = runtime.store()
    yield store
    runtime.close()
    _reset_login_state()


def as_session_agent(agent: dict) -> dict:
    """The ``st.session_state["agent"]`` shape."""
    return {k: agent[k] for k in ("id", "username", "display_name", "role", "notify", "language")}


def agent_named(store, username: str) -> dict:
    return next(a for a in accounts.list_agents(store) if a["username"] == username)


def app(script: str = "dashboard.py", agent: dict | None = None) -> AppTest:
    """An AppTest of a script of the project, optionally already logged in
    (the agent's session cookie, and the session state the login sets),
    after its first run."""
    at = AppTest.from_file(str(ROOT / script), default_timeout=30)
    if agent is not None:
        set_cookie(login.start_session(runtime.store(), agent["id"]))
        at.session_state["agent"] = as_session_agent(agent)
    return at.run()


def visible(markdown: str) -> str:
    """What a person reads from markdown ``ui.chat_text.plain`` made:
    backslash escapes undone, word joiners invisible."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def texts(at: AppTest) -> str:
    """Everything the run showed as text: titles, markdown, messages."""
    parts = [e.value for e in at.title] + [e.value for e in at.subheader] + [e.value for e in at.markdown]
    parts += [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.success]
    parts += [e.value for e in at.info] + [e.value for e in at.caption] + [e.value for e in at.text]
    return "\n".join(str(p) for p in parts)
