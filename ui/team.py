"""W1 in the sidebar: the agent's availability, and the presence beat that
tells the server this tab is still open (memory only: no write per beat)."""
from __future__ import annotations

import uuid

import streamlit as st

from maxchat_data import roles, team
from maxchat_data.errors import MaxchatError
from maxchat_data.i18n import N_, _
from server import runtime

from . import auth

DOT = {"Online": "🟢", "Away": "🟠", "Offline": "⚪"}
WORDS = {"Online": N_("Online"), "Away": N_("Away"), "Offline": N_("Offline")}  # the stored value -> shown
_TAB = "_team_tab"
# A few beats within each timeout, at most one every 20 s: a closed tab
# counts as Offline within the timeout, an open one never does.
BEAT = max(1.0, min(20.0, team.presence_timeout() / 4))


def badge(availability: str) -> str:
    """'🟢 Online': the Agents page."""
    return f"{DOT.get(availability, DOT['Offline'])} {availability_word(availability)}"


def availability_word(availability: str) -> str:
    return _(WORDS.get(availability, availability))


def labelled(name: str, availability: str, word: bool = True) -> str:
    """'🟢 Budi Santoso · Online': the assign dropdown; without ``word``
    '🟢 Budi Santoso' (the narrow Info Profile, beside a legend)."""
    dot = DOT.get(availability, DOT["Offline"])
    return f"{dot} {name} · {availability_word(availability)}" if word else f"{dot} {name}"


def legend() -> str:
    return " · ".join(badge(a) for a in DOT)


def _tab_id() -> str:
    ss = st.session_state
    if _TAB not in ss:
        ss[_TAB] = uuid.uuid4().hex
    return ss[_TAB]


@st.fragment(run_every=BEAT)
def _beat(agent_id: int) -> None:
    auth.check_in_fragment()
    team.heartbeat(runtime.store(), agent_id, _tab_id())


def _chosen(agent_id: int) -> None:
    try:
        team.set_availability(runtime.store(), agent_id, st.session_state["team_availability"])
    except MaxchatError as exc:
        st.session_state["team_availability_error"] = str(exc)


def sidebar_availability(agent: dict) -> None:
    """Online / Away / Offline for anyone who takes chats (not analysts)."""
    if not roles.can_act(agent["role"]):
        return
    store = runtime.store()
    team.heartbeat(store, agent["id"], _tab_id())  # this run is a beat too
    st.session_state["team_availability"] = team.chosen_availability(store, agent["id"])
    st.segmented_control(_("Availability"), team.AVAILABILITY, key="team_availability", required=True,
                         format_func=badge, on_change=_chosen, args=(agent["id"],),
                         width="stretch")
    error = st.session_state.pop("team_availability_error", None)
    if error:
        st.error(error)
    _beat(agent["id"])
