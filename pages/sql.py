"""D4: read-only SQL over the documented views, with row and time limits."""
from __future__ import annotations

import altair as alt
import streamlit as st

from maxchat_data import MaxchatError, config, sql_console
from server import runtime
from ui.access import require
from ui.chat_text import plain
from ui.insight import downloads

me = require("sql")
store = runtime.store()

st.title("SQL console")
st.caption(f"Read-only: one SELECT over the views below; at most {sql_console.ROW_LIMIT:,} rows, "
           f"{sql_console.BYTE_LIMIT // 2**20} MB and {sql_console.TIME_LIMIT_S:g} s per query, "
           f"{sql_console.VALUE_LIMIT:,} characters per value.")
st.caption(f"The views hold times in UTC: beside each such column of a result comes one ending in "
           f"{sql_console.LOCAL_SUFFIX} with the same times in the team's timezone, "
           f"{sql_console.zone_label(config.team_timezone())}.")
with st.expander("Views and their columns", icon=":material/table_view:"):
    for name, (what, columns) in sql_console.VIEWS.items():
        st.markdown(f"**{name}** — {what}  \n`{columns}`")

sql = st.text_area("Query", "SELECT channel, status, count(*) AS chats FROM chats GROUP BY ALL ORDER BY chats DESC",
                   height=140, key="sql_text")
if st.button("Run", type="primary", icon=":material/play_arrow:", key="sql_run"):
    try:
        st.session_state["sql_result"] = sql_console.run_query(store, me["role"], sql)
    except MaxchatError as exc:
        st.session_state.pop("sql_result", None)
        st.error(plain(str(exc)))

result = st.session_state.get("sql_result")
if result is not None:
    frame = result.frame
    frame = frame.set_axis(sql_console.unique_names(frame.columns), axis=1)  # the table and the files need it
    st.caption(f"{len(frame):,} rows in {result.seconds * 1000:.0f} ms" + (f" — {result.cut}" if result.cut else ""))
    if result.local_columns:
        st.caption(f"{plain(', '.join(result.local_columns))}: the team's timezone, {result.timezone}. "
                   f"Every other time is UTC.")
    st.dataframe(frame, width="stretch", hide_index=True)
    downloads(frame, "query")
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "iuf"]
    if len(frame.columns) >= 2 and numeric:
        x = next(c for c in frame.columns if c != numeric[-1])
        st.altair_chart(alt.Chart(frame).mark_bar().encode(x=alt.X(f"{x}:N"), y=alt.Y(f"{numeric[-1]}:Q"),
                                                           tooltip=list(frame.columns)), width="stretch")
