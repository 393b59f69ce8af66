"""D1: the live queue monitor for supervisors, analysts and admins. Every
name opens its chat on the Chat page."""
from __future__ import annotations

from datetime import datetime

from babel import dates

import streamlit as st

from maxchat_data import config, i18n, monitor
from maxchat_data.i18n import _
from maxchat_data.common import CHANNEL_LABELS
from server import runtime
from ui.access import require
from ui.insight import chat_link, duration
from ui.team import badge

require("reports")
store = runtime.store()
tz = config.team_timezone()
REFRESH_S = 3
# A fragment's own reruns skip the page run that chose the language.
LANGUAGE = i18n.current()

st.title(_("Monitor"))
st.caption(_("Live, every {seconds} s · team timezone {timezone}").format(seconds=REFRESH_S, timezone=tz.key))


@st.fragment(run_every=REFRESH_S)
def live() -> None:
    i18n.use(LANGUAGE)
    snap = monitor.snapshot(store, tz)
    now = snap.at
    with st.container(horizontal=True):
        st.metric(_("Open (BOT)"), i18n.number(snap.by_status["Open"]), border=True)
        st.metric(_("Answered"), i18n.number(snap.by_status["Answered"]), border=True)
        wait = duration((now - snap.longest_wait["waiting_since"]).total_seconds()) if snap.longest_wait else "—"
        st.metric(_("Longest wait"), wait, border=True)
        delta = snap.today - snap.last_week_same_time
        st.metric(_("Sessions today"), i18n.number(snap.today), delta=i18n.number(delta), border=True,
                  help=_("Against the same weekday last week up to this time ({same_time}); "
                         "that whole day had {whole_day}.").format(same_time=i18n.number(snap.last_week_same_time),
                                                                   whole_day=i18n.number(snap.last_week_whole_day)))

    left, right = st.columns(2)
    with left:
        st.subheader(_("Unassigned") + f" ({i18n.number(snap.unassigned)})")
        with st.container(key="monitor_unassigned"):
            if not snap.waiting:
                st.caption(_("Nobody is waiting."))
            for w in snap.waiting:
                since = duration((now - w["waiting_since"]).total_seconds()) if w["waiting_since"] else "—"
                st.markdown(f"{chat_link(w['chat_id'], w['contact_name'])} · {CHANNEL_LABELS[w['channel']]}"
                            " · " + _("waiting {duration}").format(duration=since))
        st.subheader(_("Windows closing within the hour"))
        st.caption(_("WhatsApp and Messenger chats whose customer's last message is unanswered, soonest first."))
        if not snap.closing:
            st.caption(_("None."))
        for c in snap.closing:
            left_s = (c["closes_at"] - now).total_seconds()
            st.markdown(f"{chat_link(c['chat_id'], c['contact_name'])} · {CHANNEL_LABELS[c['channel']]}"
                        " · " + _("closes in {duration}").format(duration=duration(left_s)) + f" · {c['assignee']}")
    with right:
        st.subheader(_("Open chats by agent"))
        st.dataframe([{_("Agent"): a["agent"], _("Availability"): badge(a["availability"]),
                       _("Open chats"): a["open_chats"]} for a in snap.by_agent], hide_index=True, width="stretch")
        st.caption(_("Availability as it counts now: what the agent chose, and Offline when no browser of theirs "
                     "is open."))
        st.subheader(_("Open chats by channel"))
        st.dataframe([{_("Channel"): CHANNEL_LABELS[c], _("Open chats"): n} for c, n in snap.by_channel.items()],
                     hide_index=True, width="stretch")
    st.caption(_("Updated {time}").format(time=dates.format_time(
        datetime.now(tz), "HH:mm:ss" if i18n.current() == "en" else "HH.mm.ss", locale=i18n.current())))


live()
