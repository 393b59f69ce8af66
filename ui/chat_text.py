"""Showing data safely and compactly: customer text is data, never markup.

Every customer- or agent-provided string that goes into st.markdown, a
caption, a message box, a toast, a widget label or a badge passes through
``plain()``; message bodies use ``st.text``. Nothing here ever uses
``unsafe_allow_html``."""
from __future__ import annotations

import re
import string
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import streamlit as st

# Every ASCII punctuation character may be backslash-escaped in CommonMark:
# escaping them all defuses emphasis, headings, lists, tables, links, HTML,
# Streamlit's :color[...] and $latex$.
_ESCAPED = str.maketrans({c: "\\" + c for c in string.punctuation})
# Links GFM finds in plain text (https://…, www.…, a@b.c) and Streamlit's
# :material/…: icons are matched after escapes are undone. An invisible word
# joiner (zero width, no line break) at these few places breaks them; it is
# kept out of ordinary text so that find-in-page still matches it.
_WORD_JOINER = "\u2060"
_LINK_BREAKS = re.compile(r"(?<=[-.\w+])(?=@)|(?<=[wW]{3})(?=\.)|(?<=:)(?=[/A-Za-z])")

CHANNEL_ICON = {
    "whatsapp": ":green[:material/call:]",
    "messenger": ":blue[:material/forum:]",
    "telegram": ":blue[:material/send:]",
}
STATUS_COLOR = {"Open": "orange", "Answered": "blue", "Resolved": "gray"}
# Palette hex -> the nearest colour a Streamlit badge can show, and a swatch.
BADGE_COLOR = {
    "#E53935": "red", "#FB8C00": "orange", "#FDD835": "yellow", "#43A047": "green", "#00897B": "green",
    "#1E88E5": "blue", "#3949AB": "blue", "#8E24AA": "violet", "#D81B60": "red", "#6D4C41": "orange",
    "#757575": "gray",
}
SWATCH = {"Red": "🔴", "Orange": "🟠", "Yellow": "🟡", "Green": "🟢", "Teal": "🟢", "Blue": "🔵",
          "Indigo": "🔵", "Purple": "🟣", "Pink": "🩷", "Brown": "🟤", "Grey": "⚪"}
TICKS = {"pending": "🕓 sending", "sent": "✓ sent", "delivered": "✓✓ delivered", "read": ":blue[✓✓ read]",
         "failed": ":red[✗ failed]"}


def plain(text) -> str:
    """Any text, shown as itself (on one line) wherever Streamlit reads markdown."""
    one_line = " ".join(str(text if text is not None else "").split())
    return _LINK_BREAKS.sub(_WORD_JOINER, one_line).translate(_ESCAPED)


def label_badge(label: dict) -> str:
    """A coloured inline badge for a label name (escaped)."""
    color = BADGE_COLOR.get(label["color"], "gray")
    return f":{color}-badge[{plain(label['name'])}]"


def status_badge(status: str) -> str:
    """Open / Answered / Resolved as the coloured badge the list, the header
    and the profile show."""
    return f":{STATUS_COLOR[status]}-badge[{status}]"


def browser_tz():
    """The browser's timezone (st.context.timezone); UTC when unknown (tests).
    Read once per session: a page shows hundreds of times per run."""
    ss = st.session_state
    if "_chat_tz" not in ss:
        try:
            name = st.context.timezone
            ss["_chat_tz"] = ZoneInfo(name) if name else timezone.utc
        except Exception:  # noqa: BLE001 - an odd or missing zone name must not break the page
            ss["_chat_tz"] = timezone.utc
    return ss["_chat_tz"]


def when(ts: datetime | None, *, full: bool = False) -> str:
    """'14:05' today, '3 Mar' this year, '3 Mar 2025' before; full adds the time."""
    if ts is None:
        return ""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    tz = browser_tz()
    local = ts.astimezone(tz)
    now = datetime.now(tz)
    if full:
        return local.strftime("%d %b %Y %H:%M") if local.year != now.year else local.strftime("%d %b %H:%M")
    if local.date() == now.date():
        return local.strftime("%H:%M")
    return local.strftime("%d %b") if local.year == now.year else local.strftime("%d %b %Y")
