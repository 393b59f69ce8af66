"""What the last action on the open chat did (a refused file, a queued one,
an unknown quick reply, an error), shown where the person is looking: just
above the composer, over the foot of the thread, in view on a laptop screen.

It stays until the next action, the ✕, or another chat: the composer lives
outside the live fragments, so a refresh never hides it."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from maxchat_data.i18n import _

from .chat_text import plain

K_FLASH = "chat_flash"
_SHOW = {"error": (st.error, ":material/error:"), "info": (st.info, ":material/info:"),
         "success": (st.success, ":material/check_circle:")}


def flash(kind: str, text: str) -> None:
    """Say ``text`` (error / info / success) beside the composer of the open chat."""
    st.session_state[K_FLASH] = (kind, text, st.session_state.get("chat_open"))


def clear() -> None:
    st.session_state.pop(K_FLASH, None)


def show(chat_id: int, hint: Callable[[], None] | None = None) -> None:
    """Draw the box above the composer when there is something to say:
    the flash for this chat, and ``hint`` (quick-reply matches) below it."""
    found = st.session_state.get(K_FLASH)
    said = found if found and found[2] == chat_id else None
    if said is None and hint is None:
        return
    with st.container(key="chat_feedback", gap="xsmall"):
        if said is not None:
            kind, text, _chat = said
            show_alert, icon = _SHOW.get(kind, _SHOW["success"])
            show_alert(plain(text), icon=icon)
            st.button("", icon=":material/close:", key="chat_feedback_close", type="tertiary", on_click=clear,
                      help=_("Dismiss"))
        if hint is not None:
            hint()
