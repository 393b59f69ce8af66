"""View helpers the Monitor and Reports share: durations in words, a link
that opens a chat on the Chat page, CSV + Parquet downloads of a table,
charts that write numbers and dates as the reader's language does."""
from __future__ import annotations

from typing import Callable

import altair as alt
import pandas as pd
import streamlit as st
from babel import numbers

from maxchat_data import csv_safe, i18n, reports
from maxchat_data.i18n import _

from server import downloads as file_offers

from .auth import login_sid
from .chat_text import plain


def duration(seconds: float | None) -> str:
    """'45 s', '12 min', '3 h 05 min', '2 d 4 h'."""
    if seconds is None or pd.isna(seconds):
        return "—"
    s = int(round(seconds))
    if s < 60:
        return _("{seconds} s").format(seconds=s)
    if s < 3600:
        return _("{minutes} min").format(minutes=s // 60)
    if s < 86400:
        return _("{hours} h {minutes} min").format(hours=s // 3600, minutes=f"{s % 3600 // 60:02d}")
    return _("{days} d {hours} h").format(days=s // 86400, hours=s % 86400 // 3600)


def headed(table: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """``table`` with its column and index names in the reader's language:
    the domain's frames name their columns in English (marked with N_ where
    defined); ``names`` maps language-free ids (``session_id``) to marked
    headers first."""
    names = names or {}
    out = table.rename(columns=lambda c: _(names.get(c, c)) if isinstance(c, str) else c)
    if isinstance(out.index.name, str):
        out.index.name = _(names.get(out.index.name, out.index.name))
    return out


def localized(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """``chart`` with Vega's format locale set to the reader's language:
    its axes, legends and tooltips write ``1.234,5`` and ``Des`` / ``Senin``
    in Indonesian (Vega's own default is American English)."""
    code = i18n.current()
    sunday_first = [6, 0, 1, 2, 3, 4, 5]  # d3's week; i18n.weekday counts from Monday
    return chart.configure(locale=alt.Locale(
        number=alt.NumberLocale(decimal=numbers.get_decimal_symbol(code), thousands=numbers.get_group_symbol(code),
                                grouping=[3], currency=["", ""]),
        time=alt.TimeLocale(dateTime="%e %b %Y %H:%M", date="%e %b %Y", time="%H:%M", periods=["AM", "PM"],
                            days=[i18n.weekday(d, "wide") for d in sunday_first],
                            shortDays=[i18n.weekday(d, "abbreviated") for d in sunday_first],
                            months=[i18n.month(m, "wide") for m in range(1, 13)],
                            shortMonths=[i18n.month(m) for m in range(1, 13)])))


def chat_link(chat_id: int, name: str) -> str:
    """Markdown link opening the chat on the Chat page (its id in the URL)."""
    return f"[{plain(name)}](/?chat={int(chat_id)})"


# Our own markup (no data in it): links styled like Streamlit's small secondary buttons.
_LINK_CSS = ("<style>.mx-downloads{display:flex;gap:.5rem;margin:.25rem 0 .75rem}"
             ".mx-downloads a{display:inline-flex;align-items:center;gap:.3rem;padding:.25rem .75rem;"
             "border:1px solid rgba(49,51,63,.2);border-radius:.5rem;color:inherit;text-decoration:none;"
             "font-size:.875rem;line-height:1.6}"
             ".mx-downloads a:hover{border-color:#ff4b4b;color:#ff4b4b}</style>")


def downloads(table: pd.DataFrame | Callable[[], pd.DataFrame], name: str) -> None:
    """CSV and Parquet of exactly the table shown, made only when clicked: a
    page run never pays for files nobody asked for (a whole history of
    sessions, a console result of tens of MB). The links go to our own route
    (server.downloads), which keeps them working while live pages redraw."""
    sid = login_sid()
    if sid is None:
        return
    make = table if callable(table) else (lambda: table)
    tokens = st.session_state.setdefault("_download_tokens", {})
    links = []
    for fmt, mime, to_bytes in (("csv", "text/csv", csv_safe.csv_bytes), ("parquet", "application/octet-stream",
                                                                         reports.parquet_bytes)):
        key = f"{fmt}_{name}"
        tokens[key] = file_offers.offer(tokens.get(key), lambda to_bytes=to_bytes: to_bytes(make()),
                                        f"{name}.{fmt}", mime, sid)
        links.append(f'<a class="mx-dl-{key}" href="download/{tokens[key]}" download="{name}.{fmt}">'
                     f"&#x2B73; {fmt.upper() if fmt == 'csv' else 'Parquet'}</a>")
    st.html(_LINK_CSS + '<div class="mx-downloads">' + "".join(links) + "</div>")
