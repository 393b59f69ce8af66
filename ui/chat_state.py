"""The Chat page's view state: tab, filters, search, page, open chat.

It lives in st.session_state (widgets with persist_state="session", so it
survives page switches) and is mirrored into the URL so a supervisor can
share a view: read from st.query_params once per session, written back
on every run."""
from __future__ import annotations

import streamlit as st

from maxchat_data.common import CHANNELS, STATUSES
from maxchat_data.i18n import N_

LIST_TABS = (N_("My Chat"), N_("All"), N_("Unassigned"))  # ids (URL, state); shown translated
K_Q, K_STATUS, K_LABELS, K_TAB = "chat_q", "chat_status", "chat_labels", "chat_tab"
K_ARCHIVED, K_PAGE, K_OPEN = "chat_archived", "chat_page", "chat_open"
CH_KEYS = {ch: f"chat_ch_{ch}" for ch in CHANNELS}
_LOADED = "chat_url_loaded"


def _ints(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x.strip().isdigit()]


def load_from_url() -> None:
    """First run of a session: the URL (a shared link) seeds the state."""
    ss = st.session_state
    if ss.get(_LOADED):
        return
    ss[_LOADED] = True
    qp = st.query_params
    ss.setdefault(K_Q, qp.get("q", ""))
    ss.setdefault(K_STATUS, [s for s in qp.get("status", "").split(",") if s in STATUSES])
    ss.setdefault(K_LABELS, _ints(qp.get("labels", "")))
    chosen = [c for c in qp.get("ch", "").split(",") if c in CHANNELS]
    for ch, key in CH_KEYS.items():
        ss.setdefault(key, ch in chosen)
    tab = qp.get("tab", "My Chat")
    ss.setdefault(K_TAB, tab if tab in LIST_TABS else "My Chat")
    ss.setdefault(K_ARCHIVED, qp.get("archived") == "1")
    page = qp.get("page", "1")
    ss.setdefault(K_PAGE, int(page) if page.isdigit() and int(page) >= 1 else 1)
    chat = qp.get("chat", "")
    ss.setdefault(K_OPEN, int(chat) if chat.isdigit() else None)


def tab() -> str:
    """The tab the finder reads: the Archived view or one of the three tabs."""
    ss = st.session_state
    return "Archived" if ss.get(K_ARCHIVED) else (ss.get(K_TAB) or "My Chat")


def channels() -> tuple[str, ...]:
    return tuple(ch for ch, key in CH_KEYS.items() if st.session_state.get(key))


def open_chat_id() -> int | None:
    return st.session_state.get(K_OPEN)


def open_chat(chat_id: int | None) -> None:
    st.session_state[K_OPEN] = chat_id


def first_page() -> None:
    """on_change of every filter: a new filter starts on page 1."""
    st.session_state[K_PAGE] = 1


def reset_filters() -> None:
    """`Reset`: clears every filter (status, labels, channels) and the search."""
    ss = st.session_state
    ss[K_Q] = ""
    ss[K_STATUS] = []
    ss[K_LABELS] = []
    for key in CH_KEYS.values():
        ss[key] = False
    ss[K_PAGE] = 1


def write_url() -> None:
    """Mirror the view into the URL (only what differs from the defaults)."""
    ss = st.session_state
    want = {
        "tab": ss.get(K_TAB) if ss.get(K_TAB) != "My Chat" else None,
        "archived": "1" if ss.get(K_ARCHIVED) else None,
        "q": ss.get(K_Q) or None,
        "status": ",".join(ss.get(K_STATUS) or []) or None,
        "labels": ",".join(str(i) for i in ss.get(K_LABELS) or []) or None,
        "ch": ",".join(channels()) or None,
        "page": str(ss.get(K_PAGE)) if (ss.get(K_PAGE) or 1) > 1 else None,
        "chat": str(ss.get(K_OPEN)) if ss.get(K_OPEN) else None,
    }
    want = {k: v for k, v in want.items() if v}
    if dict(st.query_params) != want:
        st.query_params.from_dict(want)
