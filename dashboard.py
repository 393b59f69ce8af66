"""Entry page: the login gate, then role-aware navigation over pages/.
Everyone sees the Chat page (analysts read only); supervisors, analysts
and admins the Monitor and Reports; analysts and admins the SQL console;
admins the admin pages (maxchat_data.roles)."""
from __future__ import annotations

import streamlit as st

from maxchat_data import roles
from server import runtime
from ui import auth

st.set_page_config(page_title="Maxchat Inbox", page_icon=":material/forum:", layout="wide")

# (file, title, icon, capability needed (roles.CAN), section)
PAGES = [
    ("pages/chat.py", "Chat", ":material/chat:", "read_chats", "Inbox"),
    ("pages/quick_replies.py", "Quick replies", ":material/bolt:", "act", "Inbox"),
    ("pages/broadcasts.py", "Broadcasts", ":material/campaign:", "broadcast", "Inbox"),
    ("pages/monitor.py", "Monitor", ":material/monitor_heart:", "reports", "Insight"),
    ("pages/reports.py", "Reports", ":material/analytics:", "reports", "Insight"),
    ("pages/sql.py", "SQL console", ":material/terminal:", "sql", "Insight"),
    ("pages/agents.py", "Agents", ":material/group:", "admin", "Admin"),
    ("pages/labels.py", "Labels", ":material/label:", "admin", "Admin"),
    ("pages/templates.py", "Templates", ":material/article:", "admin", "Admin"),
    ("pages/channels.py", "Channels", ":material/hub:", "admin", "Admin"),
    ("pages/simulator.py", "Simulator", ":material/science:", "admin", "Admin"),
]


def visible_pages(role: str) -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for path, title, icon, needed, section in PAGES:
        if not roles.can(role, needed):
            continue
        if path == "pages/simulator.py" and not runtime.demo_mode():
            continue
        sections.setdefault(section, []).append(st.Page(path, title=title, icon=icon, default=path == "pages/chat.py"))
    return sections


agent = auth.current_agent()
if agent is None:
    # A hidden one-page navigation: no sidebar, and no page of pages/ can be
    # reached by its URL before logging in.
    st.navigation([st.Page(auth.login_page, title="Log in", icon=":material/login:", url_path="login",
                           default=True)], position="hidden").run()
    st.stop()

page = st.navigation(visible_pages(agent["role"]))
auth.sidebar_account(agent)
page.run()
