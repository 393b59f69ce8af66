"""D2/D3: reports over any date range in the team's timezone, each metric
defined in words exactly as computed, every table downloadable."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from maxchat_data import MaxchatError, accounts, config, i18n, labels, reports
from maxchat_data.common import CHANNEL_LABELS, CHANNELS
from maxchat_data.i18n import N_, _
from server import runtime
from ui.access import require
from ui.chat_text import plain
from ui.insight import downloads, duration, headed, localized

me = require("reports")
store = runtime.store()
tz = config.team_timezone()
today = datetime.now(tz).date()
# The one-row-per-session export names its columns as ids; these are its headers.
SESSION_HEADERS = {
    "session_id": N_("Session ID"), "chat_id": N_("Chat ID"), "contact": N_("Contact"), "channel": N_("Channel"),
    "labels": N_("Labels"), "agent": N_("Agent"), "initiated_by": N_("Initiated by"), "started_at": N_("Started"),
    "first_customer_message_at": N_("First customer message"), "first_response_at": N_("First response"),
    "first_response_s": N_("First response (s)"), "resolved_at": N_("Resolved at"),
    "resolution_s": N_("Resolution (s)"), "customer_messages": N_("Customer messages"),
    "agent_messages": N_("Agent messages"),
}


def day_axis(days) -> list[str]:
    """The days of the range as the reader's language writes them
    (``3 Des``), in order: Vega would name months and weekdays in English."""
    fmt = "d MMM" if len({d.year for d in days}) <= 1 else "d MMM yyyy"
    return [i18n.day(d, fmt) for d in days]


def session_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The sessions as a reader sees them: headers and who initiated in words."""
    table = table.assign(initiated_by=table["initiated_by"].map(lambda v: _(v) if isinstance(v, str) else v))
    return headed(table, SESSION_HEADERS)


st.title(_("Reports"))
st.caption(_("Team timezone: **{timezone}** — days and hours below are in this timezone.").format(timezone=tz.key))

label_names = {l["id"]: l["name"] for l in labels.list_labels(store)}
agent_names = {a["id"]: a["display_name"] for a in accounts.list_agents(store) if accounts.can_act(a["role"])}
with st.container(horizontal=True, vertical_alignment="bottom"):
    picked = st.date_input(_("Range"), (today - timedelta(days=6), today), key="rep_range", max_value=today, format="YYYY-MM-DD")
    # Nothing chosen counts everything: the placeholders say so (Streamlit's own are English).
    chans = st.multiselect(_("Channel"), CHANNELS, key="rep_channels", format_func=CHANNEL_LABELS.get,
                           placeholder=_("All channels"))
    labs = st.multiselect(_("Label"), list(label_names), key="rep_labels", format_func=label_names.get,
                          placeholder=_("All labels"))
    ags = st.multiselect(_("Agent"), list(agent_names), key="rep_agents", format_func=agent_names.get,
                         placeholder=_("All agents"))
if not isinstance(picked, (tuple, list)) or len(picked) != 2:
    st.info(_("Pick the last day of the range."))
    st.stop()
try:
    report = reports.build(store, reports.ReportFilter(picked[0], picked[1], tuple(chans), tuple(labs), tuple(ags)), tz)
except MaxchatError as exc:
    st.error(plain(str(exc)))
    st.stop()

totals = report.totals()
with st.container(horizontal=True, key="rep_cards"):
    for name in reports.COUNT_NAMES:
        st.metric(_(name), i18n.number(totals[name]), border=True)
st.caption(_("Each card is the sum of its column in *By day* below."))

st.subheader(_("Response times"))
metrics = report.metrics()
shown = pd.DataFrame({_(short): metrics[col].map(duration) for short, col in (
    (N_("Median"), "Median (s)"), ("p90", "p90 (s)"), (N_("Average"), "Average (s)"))})
shown[_("Count")] = metrics["Count"].map(i18n.number)
shown.index = metrics.index.map(_)
shown.index.name = _(metrics.index.name)
st.dataframe(shown, width="stretch")
downloads(lambda: headed(metrics.set_axis(metrics.index.map(_))), "response_times")
with st.expander(_("How each figure is computed"), expanded=False, icon=":material/info:"):
    for name, text in reports.DEFINITIONS.items():
        st.markdown("**" + _(name) + ".** " + _(text))

by_day = report.by_day()
st.subheader(_("By day"))
DAY, SESSIONS, INITIATED, METRIC, MINUTES = _("Day"), _("Sessions"), _("Initiated by"), _("Metric"), _("Minutes")
DAYS = day_axis(by_day.index)
long = by_day[["User initiate", "Business initiate"]].rename(columns=_).set_axis(DAYS).reset_index(names=DAY).melt(
    DAY, var_name=INITIATED, value_name=SESSIONS)
st.altair_chart(localized(alt.Chart(long).mark_bar().encode(
    x=alt.X(field=DAY, type="ordinal", sort=DAYS, title=DAY),
    y=alt.Y(field=SESSIONS, type="quantitative", stack=True, title=SESSIONS, axis=alt.Axis(tickMinStep=1)),
    color=alt.Color(field=INITIATED, type="nominal", title=INITIATED),
    tooltip=[alt.Tooltip(field=DAY, type="ordinal"), alt.Tooltip(field=INITIATED, type="nominal"),
             alt.Tooltip(field=SESSIONS, type="quantitative")])), width="stretch")
st.dataframe(headed(by_day), width="stretch", key="rep_by_day_table")
downloads(lambda: headed(by_day), "by_day")

per_day = report.metrics_by_day().reset_index()
per_day["Day"] = day_axis(per_day["Day"])
FIRST_MIN, WAIT_MIN = _("First response median (min)"), _("Waiting median (min)")
per_day[FIRST_MIN] = per_day["First response median (s)"] / 60
per_day[WAIT_MIN] = per_day["Waiting median (s)"] / 60
lines = per_day.rename(columns={"Day": DAY}).melt(DAY, [FIRST_MIN, WAIT_MIN], var_name=METRIC,
                                                  value_name=MINUTES).dropna()
st.altair_chart(localized(alt.Chart(lines).mark_line(point=True).encode(
    x=alt.X(field=DAY, type="ordinal", sort=DAYS, title=DAY),
    y=alt.Y(field=MINUTES, type="quantitative", title=MINUTES),
    color=alt.Color(field=METRIC, type="nominal", title=METRIC),
    tooltip=[alt.Tooltip(field=DAY, type="ordinal"), alt.Tooltip(field=METRIC, type="nominal"),
             alt.Tooltip(field=MINUTES, type="quantitative", format=".1f")])), width="stretch")
downloads(lambda: headed(report.metrics_by_day()), "response_times_by_day")

st.subheader(_("Incoming sessions by weekday and hour"))
heat = headed(report.heatmap())
WEEKDAY, HOUR = _("Weekday"), _("Hour")
st.altair_chart(localized(alt.Chart(heat).mark_rect().encode(
    x=alt.X(field=HOUR, type="ordinal", title=HOUR),
    y=alt.Y(field=WEEKDAY, type="nominal", sort=[i18n.weekday(d) for d in range(7)], title=WEEKDAY),
    color=alt.Color(field=SESSIONS, type="quantitative", scale=alt.Scale(scheme="blues"), title=SESSIONS),
    tooltip=[alt.Tooltip(field=WEEKDAY), alt.Tooltip(field=HOUR), alt.Tooltip(field=SESSIONS)])),
    width="stretch")
downloads(heat, "heatmap")

left, right = st.columns(2)
with left:
    st.subheader(_("By channel"))
    st.dataframe(headed(report.by_channel()), width="stretch")
    downloads(lambda: headed(report.by_channel()), "by_channel")
with right:
    st.subheader(_("By label"))
    st.caption(_("A session counts under each label of its contact: no total."))
    st.dataframe(headed(report.by_label()), width="stretch")
    downloads(lambda: headed(report.by_label()), "by_label")

st.subheader(_("By agent"))
agents_table = headed(report.by_agent())
st.dataframe(agents_table, width="stretch")
downloads(agents_table, "by_agent")

st.subheader(_("Sessions"))
st.caption(_("One row per session: chat, contact, channel, labels, agent (first reply), initiated by, started, "
             "first response, resolved, message counts."))
st.dataframe(session_rows(report.sessions(first=True)), hide_index=True, width="stretch")
if totals["Sessions"] > reports.SHOWN:
    st.caption(_("First {shown} of {total} sessions shown; the downloads hold them all.").format(
        shown=i18n.number(reports.SHOWN), total=i18n.number(totals["Sessions"])))
downloads(lambda: session_rows(report.sessions()), "sessions")

if accounts.has_role(me["role"], "admin"):
    with st.expander(_("Business hours (admin)"), icon=":material/schedule:"):
        current = reports.business_hours(store)
        st.caption(_("A weekly schedule in {timezone}, e.g. {example}. Empty turns them off.").format(
            timezone=tz.key, example='{"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}'))
        raw = st.text_area(_("Schedule (JSON)"), json.dumps(current) if current else "", key="rep_bh")
        if st.button(_("Save business hours"), key="rep_bh_save"):
            try:
                reports.set_business_hours(store, json.loads(raw) if raw.strip() else None, me["id"])
            except json.JSONDecodeError:
                st.error(_("That is not valid JSON."))
            except MaxchatError as exc:
                st.error(plain(str(exc)))
            else:
                st.rerun()
