"""The capability check the supervisor and analyst pages start with (the
domain checks again: SPEC U4)."""
from __future__ import annotations

import streamlit as st

from maxchat_data import roles
from maxchat_data.i18n import N_, _

# Whole sentences, one per capability: each language words "who" its own way.
_REFUSED = {"reports": N_("This page is for supervisors, analysts and admins only."),
            "sql": N_("This page is for analysts and admins only."),
            "act": N_("This page is for agents, supervisors and admins only."),
            "admin": N_("This page is for admins only."),
            "broadcast": N_("This page is for supervisors and admins only."),
            "read_chats": N_("This page is for logged-in users only.")}


def require(what: str) -> dict:
    """The logged-in agent when their role has ``what``; else a message and stop."""
    agent = st.session_state.get("agent")
    if agent is None:
        st.error(_("Log in first."))
        st.stop()
    if not roles.can(agent["role"], what):
        st.error(_(_REFUSED[what]))
        st.stop()
    return agent
