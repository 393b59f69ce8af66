"""D4: read-only SQL over the documented views, with row and time limits."""
from __future__ import annotations

import altair as alt
import streamlit as st

from maxchat_data import MaxchatError, config, i18n, sql_console
from maxchat_data.i18n import _
from server import runtime
from ui.access import require
from ui.chat_text import plain
from ui.insight import downloads, localized

me = require("sql")
store = runtime.store()

st.title(_("SQL console"))
st.caption(_("Read-only: one SELECT over the views below; at most {rows} rows, {megabytes} MB and {seconds} s per "
             "query, {characters} characters per value.").format(
    rows=i18n.number(sql_console.ROW_LIMIT), megabytes=i18n.number(sql_console.BYTE_LIMIT // 2**20),
    seconds=i18n.number(sql_console.TIME_LIMIT_S), characters=i18n.number(sql_console.VALUE_LIMIT)))
st.caption(_("The views hold times in UTC: beside each such column of a result comes one ending in {suffix} with "
             "the same times in the team's timezone, {timezone}.").format(
    suffix=sql_console.LOCAL_SUFFIX, timezone=sql_console.zone_label(config.team_timezone())))
with st.expander(_("Views and their columns"), icon=":material/table_view:"):
    for name, (what, columns) in sql_console.VIEWS.items():
        st.markdown(f"**{name}** — {_(what)}  \n`{columns}`")

sql = st.text_area(_("Query"), "SELECT channel, status, count(*) AS chats FROM chats GROUP BY ALL ORDER BY chats DESC",
                   height=140, key="sql_text")
if st.button(_("Run"), type="primary", icon=":material/play_arrow:", key="sql_run"):
    try:
        st.session_state["sql_result"] = sql_console.run_query(store, me["role"], sql)
    except MaxchatError as exc:
        st.session_state.pop("sql_result", None)
        st.error(plain(str(exc)))

result = st.session_state.get("sql_result")
if result is not None:
    frame = result.frame
    frame = frame.set_axis(sql_console.unique_names(frame.columns), axis=1)  # the table and the files need it
    st.caption(_("{rows} rows in {milliseconds} ms").format(rows=i18n.number(len(frame)),
                                                            milliseconds=i18n.number(round(result.seconds * 1000)))
               + (f" — {result.cut}" if result.cut else ""))
    if result.local_columns:
        st.caption(_("{columns}: the team's timezone, {timezone}. Every other time is UTC.").format(
            columns=plain(", ".join(result.local_columns)), timezone=result.timezone))
    st.dataframe(frame, width="stretch", hide_index=True)
    downloads(frame, "query")
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "iuf"]
    if len(frame.columns) >= 2 and numeric:
        x = next(c for c in frame.columns if c != numeric[-1])
        st.altair_chart(localized(alt.Chart(frame).mark_bar().encode(
            x=alt.X(f"{x}:N"), y=alt.Y(f"{numeric[-1]}:Q"), tooltip=list(frame.columns))), width="stretch")
