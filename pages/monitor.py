"""D1: the live queue monitor for supervisors, analysts and admins. Every
name opens its chat on the Chat page."""
from __future__ import annotations

from datetime import datetime

import streamlit as st

from maxchat_data import config, monitor
from maxchat_data.common import CHANNEL_LABELS
from server import runtime
from ui.access import require
from ui.insight import chat_link, duration
from ui.team import badge

require("reports")
store = runtime.store()
tz = config.team_timezone()
REFRESH_S = 3

st.title("Monitor")
st.caption(f"Live, every {REFRESH_S} s · team timezone {tz.key}")


@st.fragment(run_every=REFRESH_S)
def live() -> None:
    snap = monitor.snapshot(store, tz)
    now = snap.at
    with st.container(horizontal=True):
        st.metric("Open (BOT)", snap.by_status["Open"], border=True)
        st.metric("Answered", snap.by_status["Answered"], border=True)
        wait = duration((now - snap.longest_wait["waiting_since"]).total_seconds()) if snap.longest_wait else "—"
        st.metric("Longest wait", wait, border=True)
        delta = snap.today - snap.last_week_same_time
        st.metric("Sessions today", snap.today, delta=delta, border=True,
                  help=f"Against the same weekday last week up to this time ({snap.last_week_same_time}); "
                       f"that whole day had {snap.last_week_whole_day}.")

    left, right = st.columns(2)
    with left:
        st.subheader(f"Unassigned ({snap.unassigned})")
        with st.container(key="monitor_unassigned"):
            if not snap.waiting:
                st.caption("Nobody is waiting.")
            for w in snap.waiting:
                since = duration((now - w["waiting_since"]).total_seconds()) if w["waiting_since"] else "—"
                st.markdown(f"{chat_link(w['chat_id'], w['contact_name'])} · {CHANNEL_LABELS[w['channel']]}"
                            f" · waiting {since}")
        st.subheader("Windows closing within the hour")
        st.caption("WhatsApp and Messenger chats whose customer's last message is unanswered, soonest first.")
        if not snap.closing:
            st.caption("None.")
        for c in snap.closing:
            left_s = (c["closes_at"] - now).total_seconds()
            st.markdown(f"{chat_link(c['chat_id'], c['contact_name'])} · {CHANNEL_LABELS[c['channel']]}"
                        f" · closes in {duration(left_s)} · {c['assignee']}")
    with right:
        st.subheader("Open chats by agent")
        st.dataframe([{"Agent": a["agent"], "Availability": badge(a["availability"]), "Open chats": a["open_chats"]}
                      for a in snap.by_agent], hide_index=True, width="stretch")
        st.caption("Availability as it counts now: what the agent chose, and Offline when no browser of theirs is open.")
        st.subheader("Open chats by channel")
        st.dataframe([{"Channel": CHANNEL_LABELS[c], "Open chats": n} for c, n in snap.by_channel.items()],
                     hide_index=True, width="stretch")
    st.caption(f"Updated {datetime.now(tz):%H:%M:%S}")


live()
