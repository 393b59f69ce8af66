"""Showing data safely and compactly: customer text is data, never markup.

Every customer- or agent-provided string that goes into st.markdown, a
caption, a message box, a toast, a widget label or a badge passes through
``plain()``; message bodies use ``st.text``. Nothing here ever uses
``unsafe_allow_html``."""
from __future__ import annotations

import html
import re
import string
from datetime import datetime, timezone

import streamlit as st

from maxchat_data import config, i18n
from maxchat_data.i18n import N_, _
from maxchat_data.labels import shade

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
_TICKS = {"pending": ("🕓 {word}", N_("sending")), "sent": ("✓ {word}", N_("sent")),
          "delivered": ("✓✓ {word}", N_("delivered")), "read": (":blue[✓✓ {word}]", N_("read")),
          "failed": (":red[✗ {word}]", N_("failed"))}
STATUS_WORDS = {"Open": N_("Open"), "Answered": N_("Answered"), "Resolved": N_("Resolved")}
# How a conversation started, as stored (the Maxchat guide's words) -> shown.
SESSION_KINDS = {"Business initiate": N_("Business initiate"), "User initiate": N_("User initiate")}


def ticks(status: str) -> str:
    """A sent message's delivery state: '✓✓ delivered'."""
    if status not in _TICKS:
        return status
    shape, word = _TICKS[status]
    return shape.format(word=_(word))


def status_word(status: str) -> str:
    return _(STATUS_WORDS.get(status, status))


def session_kind(kind: str | None) -> str:
    return _(SESSION_KINDS[kind]) if kind in SESSION_KINDS else (kind or "")


def plain(text) -> str:
    """Any text, shown as itself (on one line) wherever Streamlit reads markdown."""
    one_line = " ".join(str(text if text is not None else "").split())
    return _LINK_BREAKS.sub(_WORD_JOINER, one_line).translate(_ESCAPED)


def label_chips(found: list[dict]) -> str:
    """Labels in their exact colours, as HTML for ``st.html`` (markdown
    badges know only seven colours, so Teal looked like Green). A label's
    colour is a palette name, drawn in the palette's hex (``shade``),
    and its name, typed by an agent, is HTML-escaped: nothing here is markup
    but ours. Customer text never goes through this."""
    return "".join(f'<span class="mc-label" style="background:{shade(l["color"])}">'
                   f'{html.escape(" ".join(str(l["name"]).split()))}</span>' for l in found)


def chat_meta(chat: dict, labels_by_id: dict) -> str:
    """The list item's last line as HTML for ``st.html``: status, unread
    count, labels in their colours, assignee, blocked. Only our words, the
    team's label and agent names (escaped) and numbers: no customer text."""
    parts = [f'<span class="mc-chip mc-{chat["status"]}">{html.escape(status_word(chat["status"]))}</span>']
    if chat["unread"]:
        unread = _("{count} unread").format(count=i18n.number(int(chat["unread"])))
        parts.append(f'<span class="mc-chip mc-unread">{html.escape(unread)}</span>')
    parts.append(label_chips([labels_by_id[i] for i in chat["label_ids"] if i in labels_by_id]))
    parts.append(f'<span class="mc-icon">headset_mic</span> {html.escape(chat["assignee"] or "BOT")}')
    if chat["blocked"]:
        parts.append(f' <span class="mc-chip mc-blocked">{html.escape(_("Blocked"))}</span>')
    return f'<div class="mc-meta">{"".join(parts)}</div>'


def label_swatch(color: str) -> str:
    """A colour square, for the label pop-up's rows and colour choice."""
    return f'<span class="mc-swatch" style="background:{shade(color)}"></span>'


def status_badge(status: str) -> str:
    """Open / Answered / Resolved as the coloured badge the list, the header
    and the profile show."""
    return f":{STATUS_COLOR[status]}-badge[{status_word(status)}]"


def team_tz():
    """The team's timezone (MAXCHAT_TIMEZONE): chat times read like the
    Monitor's and the Reports' numbers, whoever looks from wherever. Read
    once per session: a page shows hundreds of times per run."""
    ss = st.session_state
    if "_chat_tz" not in ss:
        ss["_chat_tz"] = config.team_timezone()
    return ss["_chat_tz"]


def when(ts: datetime | None, *, full: bool = False) -> str:
    """'14:05' today, '3 Mar' this year, '3 Mar 2025' before; full adds the
    time. In the team's timezone, as the person's language writes it."""
    if ts is None:
        return ""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    tz = team_tz()
    local = ts.astimezone(tz)
    now = datetime.now(tz)
    date = i18n.day(local, "d MMM" if local.year == now.year else "d MMM yyyy")
    if full:
        return f"{date} {i18n.clock(local, tz)}"
    return i18n.clock(local, tz) if local.date() == now.date() else date
