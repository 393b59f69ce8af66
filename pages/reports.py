"""D2/D3: reports over any date range in the team's timezone, each metric
defined in words exactly as computed, every table downloadable."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from maxchat_data import MaxchatError, accounts, config, labels, reports
from maxchat_data.common import CHANNEL_LABELS, CHANNELS
from server import runtime
from ui.access import require
from ui.chat_text import plain
from ui.insight import downloads, duration

me = require("reports")
store = runtime.store()
tz = config.team_timezone()
today = datetime.now(tz).date()

st.title("Reports")
st.caption(f"Team timezone: **{tz.key}** — days and hours below are in this timezone.")

label_names = {l["id"]: l["name"] for l in labels.list_labels(store)}
agent_names = {a["id"]: a["display_name"] for a in accounts.list_agents(store) if accounts.can_act(a["role"])}
with st.container(horizontal=True, vertical_alignment="bottom"):
    picked = st.date_input("Range", (today - timedelta(days=6), today), key="rep_range", max_value=today, format="YYYY-MM-DD")
    chans = st.multiselect("Channel", CHANNELS, key="rep_channels", format_func=CHANNEL_LABELS.get)
    labs = st.multiselect("Label", list(label_names), key="rep_labels", format_func=label_names.get)
    ags = st.multiselect("Agent", list(agent_names), key="rep_agents", format_func=agent_names.get)
if not isinstance(picked, (tuple, list)) or len(picked) != 2:
    st.info("Pick the last day of the range.")
    st.stop()
try:
    report = reports.build(store, reports.ReportFilter(picked[0], picked[1], tuple(chans), tuple(labs), tuple(ags)), tz)
except MaxchatError as exc:
    st.error(plain(str(exc)))
    st.stop()

totals = report.totals()
with st.container(horizontal=True, key="rep_cards"):
    for name in ("Sessions", "User initiate", "Business initiate", "Customer messages", "Agent messages",
                 "Resolved sessions", "Sessions with no agent reply"):
        st.metric(name, f"{totals[name]:,}", border=True)
st.caption("Each card is the sum of its column in *By day* below.")

st.subheader("Response times")
metrics = report.metrics()
shown = metrics.copy()
for col in ("Median (s)", "p90 (s)", "Average (s)"):
    shown[col.replace(" (s)", "")] = shown[col].map(duration)
st.dataframe(shown[["Median", "p90", "Average", "Count"]], width="stretch")
downloads(metrics, "response_times")
with st.expander("How each figure is computed", expanded=False, icon=":material/info:"):
    for name, text in reports.DEFINITIONS.items():
        st.markdown(f"**{name}.** {text}")

by_day = report.by_day()
st.subheader("By day")
long = by_day[["User initiate", "Business initiate"]].reset_index().melt("Day", var_name="Initiated by",
                                                                      value_name="Sessions")
long["Day"] = pd.to_datetime(long["Day"])
st.altair_chart(alt.Chart(long).mark_bar().encode(
    x=alt.X("yearmonthdate(Day):O", title="Day"), y=alt.Y("Sessions:Q", stack=True),
    color="Initiated by:N", tooltip=["Day:T", "Initiated by:N", "Sessions:Q"]), width="stretch")
st.dataframe(by_day, width="stretch", key="rep_by_day_table")
downloads(by_day, "by_day")

per_day = report.metrics_by_day().reset_index()
per_day["Day"] = pd.to_datetime(per_day["Day"])
per_day["First response median (min)"] = per_day["First response median (s)"] / 60
per_day["Waiting median (min)"] = per_day["Waiting median (s)"] / 60
lines = per_day.melt("Day", ["First response median (min)", "Waiting median (min)"], var_name="Metric",
                     value_name="Minutes").dropna()
st.altair_chart(alt.Chart(lines).mark_line(point=True).encode(
    x=alt.X("yearmonthdate(Day):O", title="Day"), y="Minutes:Q", color="Metric:N",
    tooltip=["Day:T", "Metric:N", alt.Tooltip("Minutes:Q", format=".1f")]), width="stretch")
downloads(report.metrics_by_day(), "response_times_by_day")

st.subheader("Incoming sessions by weekday and hour")
heat = report.heatmap()
st.altair_chart(alt.Chart(heat).mark_rect().encode(
    x=alt.X("Hour:O"), y=alt.Y("Weekday:N", sort=list(reports.WEEKDAY_NAMES)),
    color=alt.Color("Sessions:Q", scale=alt.Scale(scheme="blues")), tooltip=["Weekday", "Hour", "Sessions"]),
    width="stretch")
downloads(heat, "heatmap")

left, right = st.columns(2)
with left:
    st.subheader("By channel")
    st.dataframe(report.by_channel(), width="stretch")
    downloads(report.by_channel(), "by_channel")
with right:
    st.subheader("By label")
    st.caption("A session counts under each label of its contact: no total.")
    st.dataframe(report.by_label(), width="stretch")
    downloads(report.by_label(), "by_label")

st.subheader("By agent")
agents_table = report.by_agent()
st.dataframe(agents_table, width="stretch")
downloads(agents_table, "by_agent")

st.subheader("Sessions")
st.caption("One row per session: chat, contact, channel, labels, agent (first reply), initiated by, started, "
           "first response, resolved, message counts.")
st.dataframe(report.sessions(first=True), hide_index=True, width="stretch")
if totals["Sessions"] > reports.SHOWN:
    st.caption(f"First {reports.SHOWN} of {totals['Sessions']:,} sessions shown; the downloads hold them all.")
downloads(report.sessions, "sessions")

if accounts.has_role(me["role"], "admin"):
    with st.expander("Business hours (admin)", icon=":material/schedule:"):
        current = reports.business_hours(store)
        st.caption(f"A weekly schedule in {tz.key}, e.g. "
                   '{"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}. Empty turns them off.')
        raw = st.text_area("Schedule (JSON)", json.dumps(current) if current else "", key="rep_bh")
        if st.button("Save business hours", key="rep_bh_save"):
            try:
                reports.set_business_hours(store, json.loads(raw) if raw.strip() else None, me["id"])
            except json.JSONDecodeError:
                st.error("That is not valid JSON.")
            except MaxchatError as exc:
                st.error(plain(str(exc)))
            else:
                st.rerun()
