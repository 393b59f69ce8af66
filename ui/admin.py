"""Small view helpers the admin pages share: run an action and report its
outcome (user text in it shown with ``chat_text.plain``)."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from maxchat_data import MaxchatError
from maxchat_data.labels import shade

from .chat_text import plain

FLASH_KEY = "_admin_flash"


def run(fn: Callable, *args, success: str | None = None, **kwargs) -> bool:
    """Call a ``maxchat_data`` action (usually from a widget callback).
    A refusal (``MaxchatError``) becomes an error message, success an
    optional confirmation; both are shown by ``show_flash`` on the run."""
    try:
        fn(*args, **kwargs)
    except MaxchatError as exc:
        st.session_state[FLASH_KEY] = ("error", str(exc))
        return False
    if success:
        st.session_state[FLASH_KEY] = ("success", success)
    return True


def show_flash() -> None:
    kind, text = st.session_state.pop(FLASH_KEY, (None, None))
    if kind == "error":
        st.error(plain(text), icon=":material/error:")
    elif kind == "success":
        st.success(plain(text), icon=":material/check_circle:")


def swatch(color: str, size: int = 14) -> str:
    """A label colour's dot (our own markup: only a palette hex goes in it)."""
    return (f'<span style="display:inline-block;width:{size}px;height:{size}px;border-radius:50%;'
            f'background:{shade(color)};vertical-align:middle"></span>')
