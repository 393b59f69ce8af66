"""The capability check the supervisor and analyst pages start with (the
domain checks again: SPEC U4)."""
from __future__ import annotations

import streamlit as st

from maxchat_data import roles

_WHO = {"reports": "supervisors, analysts and admins", "sql": "analysts and admins",
        "act": "agents, supervisors and admins", "admin": "admins", "broadcast": "supervisors and admins", "read_chats": "logged-in users"}


def require(what: str) -> dict:
    """The logged-in agent when their role has ``what``; else a message and stop."""
    agent = st.session_state.get("agent")
    if agent is None:
        st.error("Log in first.")
        st.stop()
    if not roles.can(agent["role"], what):
        st.error(f"This page is for {_WHO[what]} only.")
        st.stop()
    return agent
