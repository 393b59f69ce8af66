"""Entry page: the login gate, then role-aware navigation over pages/.
Agents see the Chat page; supervisors also any supervisor pages; admins
everything (admin ⊇ supervisor ⊇ agent)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from maxchat_data import accounts, runtime
from ui import auth

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="Maxchat Inbox", page_icon=":material/forum:", layout="wide")

# (file, title, icon, role needed, section). Files that do not exist yet are
# left out, so a page appears as soon as its file lands.
PAGES = [
    ("pages/chat.py", "Chat", ":material/chat:", "agent", "Inbox"),
    ("pages/monitor.py", "Monitor", ":material/monitoring:", "supervisor", "Supervise"),
    ("pages/reports.py", "Reports", ":material/bar_chart:", "supervisor", "Supervise"),
    ("pages/agents.py", "Agents", ":material/group:", "admin", "Admin"),
    ("pages/labels.py", "Labels", ":material/label:", "admin", "Admin"),
    ("pages/templates.py", "Templates", ":material/article:", "admin", "Admin"),
    ("pages/channels.py", "Channels", ":material/hub:", "admin", "Admin"),
    ("pages/simulator.py", "Simulator", ":material/science:", "admin", "Admin"),
]


def _chat_placeholder():
    st.title("Chat")
    st.info("The Chat page is not installed yet.")


def visible_pages(role: str) -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for path, title, icon, needed, section in PAGES:
        if not accounts.has_role(role, needed) or not (ROOT / path).is_file():
            continue
        if path == "pages/simulator.py" and not runtime.demo_mode():
            continue
        sections.setdefault(section, []).append(st.Page(path, title=title, icon=icon, default=path == "pages/chat.py"))
    if not (ROOT / "pages/chat.py").is_file():
        sections.setdefault("Inbox", []).insert(0, st.Page(_chat_placeholder, title="Chat", icon=":material/chat:",
                                                          url_path="chat", default=True))
    return {name: sections[name] for name in ("Inbox", "Supervise", "Admin") if name in sections}


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
