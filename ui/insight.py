"""View helpers the Monitor and Reports share: durations in words, a link
that opens a chat on the Chat page, CSV + Parquet downloads of a table."""
from __future__ import annotations

from typing import Callable

import pandas as pd
import streamlit as st

from maxchat_data import csv_safe, reports

from .chat_text import plain


def duration(seconds: float | None) -> str:
    """'45 s', '12 min', '3 h 05 min', '2 d 4 h'."""
    if seconds is None or pd.isna(seconds):
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def chat_link(chat_id: int, name: str) -> str:
    """Markdown link opening the chat on the Chat page (its id in the URL)."""
    return f"[{plain(name)}](/?chat={int(chat_id)})"


def downloads(table: pd.DataFrame | Callable[[], pd.DataFrame], name: str) -> None:
    """CSV and Parquet of exactly the table shown, made only when clicked: a
    page run never pays for files nobody asked for (a whole history of
    sessions, a console result of tens of MB)."""
    make = table if callable(table) else (lambda: table)

    with st.container(horizontal=True, gap="small"):
        st.download_button("CSV", lambda: csv_safe.csv_bytes(make()), f"{name}.csv", "text/csv", key=f"csv_{name}",
                           icon=":material/download:", on_click="ignore")
        st.download_button("Parquet", lambda: reports.parquet_bytes(make()), f"{name}.parquet",
                           "application/octet-stream", key=f"parquet_{name}", icon=":material/download:",
                           on_click="ignore")
