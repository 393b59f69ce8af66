"""Entry page: the login gate, then role-aware navigation over app_pages/.
Everyone sees the Chat page (analysts read only); supervisors, analysts
and admins the Monitor and Reports; analysts and admins the SQL console;
admins the admin pages (maxchat_data.roles)."""
from __future__ import annotations

import streamlit as st

from maxchat_data import i18n, roles
from maxchat_data.i18n import N_, _
from server import runtime
from ui import auth

st.set_page_config(page_title="Maxchat Inbox", page_icon=":material/forum:", layout="wide")

# (file, title, icon, capability needed (roles.CAN), section)
PAGES = [
    ("app_pages/chat.py", N_("Chat"), ":material/chat:", "read_chats", N_("Inbox")),
    ("app_pages/quick_replies.py", N_("Quick replies"), ":material/bolt:", "act", N_("Inbox")),
    ("app_pages/broadcasts.py", N_("Broadcasts"), ":material/campaign:", "broadcast", N_("Inbox")),
    ("app_pages/monitor.py", N_("Monitor"), ":material/monitor_heart:", "reports", N_("Insight")),
    ("app_pages/reports.py", N_("Reports"), ":material/analytics:", "reports", N_("Insight")),
    ("app_pages/sql.py", N_("SQL console"), ":material/terminal:", "sql", N_("Insight")),
    ("app_pages/agents.py", N_("Agents"), ":material/group:", "admin", N_("Admin")),
    ("app_pages/labels.py", N_("Labels"), ":material/label:", "admin", N_("Admin")),
    ("app_pages/templates.py", N_("Templates"), ":material/article:", "admin", N_("Admin")),
    ("app_pages/channels.py", N_("Channels"), ":material/hub:", "admin", N_("Admin")),
    ("app_pages/simulator.py", N_("Simulator"), ":material/science:", "admin", N_("Admin")),
]


def visible_pages(role: str) -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for path, title, icon, needed, section in PAGES:
        if not roles.can(role, needed):
            continue
        if path == "app_pages/simulator.py" and not runtime.demo_mode():
            continue
        sections.setdefault(_(section), []).append(
            st.Page(path, title=_(title), icon=icon, default=path == "app_pages/chat.py"))
    return sections


agent = auth.current_agent()
i18n.use(agent["language"] if agent else None)  # the login form speaks the default
if agent is None:
    # A hidden one-page navigation: no sidebar, and no page of app_pages/ can be
    # reached by its URL before logging in.
    st.navigation([st.Page(auth.login_page, title=_("Log in"), icon=":material/login:", url_path="login",
                           default=True)], position="hidden").run()
    st.stop()

page = st.navigation(visible_pages(agent["role"]))
auth.sidebar_account(agent)
page.run()
