"""Q1 in the composer: ``/shortcut`` then Enter inserts a quick reply (its
variables filled in); a lone ``/`` lists them all, a partial ``/sho`` the
matches, just above the composer to click; the bolt button opens a
searchable picker. Streamlit's text area hands its text over on leaving the
box: our script (ui/assets/composer.js) does that on Enter for a lone
``/word`` (instead of sending it) and as soon as ``/`` is typed in an empty
box, so the list is shown on that run. Everything here runs before or after the text area,
outside the live fragments: a draft survives every tick."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from maxchat_data import quick_replies as qr
from maxchat_data.i18n import _

from .chat_text import plain

SHOWN = 6


def _fill(reply: dict, chat: dict, agent: dict) -> str:
    return qr.fill(reply["body"], chat["contact_name"], agent["display_name"])


def expand_typed(store, agent: dict, chat: dict, draft_key: str) -> list[dict]:
    """Before the text area is drawn: a draft that is exactly one reply's
    ``/shortcut`` becomes that reply's text. Returns the agent's replies."""
    replies = qr.for_agent(store, agent["id"])
    draft = (st.session_state.get(draft_key) or "").strip()
    found = qr.matching(replies, draft)
    if found and found[0]["shortcut"] == draft[1:].lower():
        st.session_state[draft_key] = _fill(found[0], chat, agent)
    return replies


def _insert(draft_key: str, text: str, replace: bool) -> None:
    ss = st.session_state
    current = (ss.get(draft_key) or "").rstrip()
    ss[draft_key] = text if replace or not current else f"{current} {text}"


def hint(agent: dict, chat: dict, draft_key: str, replies: list[dict]) -> Callable[[], None] | None:
    """The replies a typed ``/sho`` asks for, as a function that draws them
    (shown above the composer, see chat_feedback); None when the draft is no
    ``/shortcut``."""
    draft = st.session_state.get(draft_key) or ""
    if not draft.strip().startswith("/") or any(c.isspace() for c in draft.strip()):
        return None
    found = qr.matching(replies, draft)[:SHOWN]

    def draw() -> None:
        if not replies:
            st.caption(":material/bolt: " + _("No quick replies yet: add yours on the Quick replies page."))
            return
        if not found:
            st.caption(":material/bolt: " + _("No quick reply {shortcut}: Send sends it as typed.").format(
                shortcut=plain(draft.strip())))
            return
        with st.container(horizontal=True, gap="xsmall", key="chat_qr_matches"):
            for r in found:
                st.button(plain(f"/{r['shortcut']}"), key=f"chat_qr_match_{r['id']}", type="tertiary",
                          help=plain(_fill(r, chat, agent)[:200]), on_click=_insert,
                          args=(draft_key, _fill(r, chat, agent), True))
    return draw


def picker(agent: dict, chat: dict, draft_key: str, replies: list[dict]) -> None:
    """The bolt button: every quick reply, searchable; a click inserts it."""
    with st.popover("", icon=":material/bolt:", key="chat_qr_pop", help=_("Quick replies (or type / in the box)")):
        if not replies:
            st.caption(_("No quick replies yet: add yours on the Quick replies page."))
            return
        needle = st.text_input(_("Search"), key="chat_qr_search", placeholder=_("Search quick replies"),
                               label_visibility="collapsed").strip().lower()
        shown = [r for r in replies if not needle or needle in r["shortcut"] or needle in r["body"].lower()]
        for r in shown[:20]:
            text = _fill(r, chat, agent)
            st.button(plain(f"/{r['shortcut']} · {text[:60]}"), key=f"chat_qr_pick_{r['id']}", type="tertiary",
                      on_click=_insert, args=(draft_key, text, False))
        if not shown:
            st.caption(_("No quick reply matches."))
