"""L1-L7: search, filter, Archived, tabs with counts, the live chat list and
the new-message notification (toast + sound)."""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from maxchat_data import inbox, team
from maxchat_data import i18n
from maxchat_data.common import CHANNEL_LABELS, STATUSES, message_preview
from maxchat_data.i18n import _
from maxchat_data.inbox import InboxQuery

from . import auth, chat_state as vs
from .chat_text import CHANNEL_ICON, chat_meta, plain, status_word, when

LIVE_EVERY = 2.5  # seconds between polls: "within a few seconds" (L6) at one O(1) read per tick
SOUND = (Path(__file__).parent / "assets" / "notify.wav").read_bytes()
_CACHE = "chat_list_cache"


def render_controls(labels_all: list[dict]) -> None:
    """Search bar, the Archived button and the funnel filter: outside the live
    fragment, so changing them reruns the whole page (list + URL)."""
    ss = st.session_state
    known = {l["id"] for l in labels_all}
    ss[vs.K_LABELS] = [i for i in ss.get(vs.K_LABELS, []) if i in known]  # a deleted label is no filter
    names = {l["id"]: l["name"] for l in labels_all}
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small", wrap=False):
        st.text_input(_("Search by Name"), key=vs.K_Q, placeholder=_("Search by Name"), label_visibility="collapsed",
                      on_change=vs.first_page, persist_state="session", icon=":material/search:")
        archived = bool(ss.get(vs.K_ARCHIVED))
        # An icon: at 1366 px the words left "Search by Name" cut to "Search by Na".
        st.button("", key="chat_archived_btn", icon=":material/archive:",
                  type="primary" if archived else "secondary", on_click=_toggle_archived,
                  help=_("Archived: back to the inbox") if archived else _("Archived: show archived chats"))
        active = len(ss.get(vs.K_STATUS) or []) + len(ss.get(vs.K_LABELS) or []) + len(vs.channels())
        # Last in the row: its pop-up opens beside the list (CSS), which it filters live.
        with st.popover("", icon=":material/filter_alt:", key="chat_filter_pop",
                        type="primary" if active else "secondary", help=_("Filter")):
            st.pills(_("Status"), list(STATUSES), selection_mode="multi", key=vs.K_STATUS, format_func=status_word,
                     on_change=vs.first_page, persist_state="session")
            st.multiselect(_("Label"), [l["id"] for l in labels_all], format_func=lambda i: names.get(i, str(i)),
                           key=vs.K_LABELS, on_change=vs.first_page, persist_state="session",
                           placeholder=_("Any label"))
            st.caption(_("Channel"))
            for ch, key in vs.CH_KEYS.items():
                st.toggle(CHANNEL_LABELS[ch], key=key, on_change=vs.first_page, persist_state="session")
            st.button(_("Reset"), key="chat_reset", on_click=vs.reset_filters, icon=":material/restart_alt:")


def _toggle_archived() -> None:
    st.session_state[vs.K_ARCHIVED] = not st.session_state.get(vs.K_ARCHIVED)
    vs.first_page()


def _leave_archived() -> None:
    # Choosing a tab leaves the Archived view.
    st.session_state[vs.K_ARCHIVED] = False
    vs.first_page()


def current_query() -> InboxQuery:
    ss = st.session_state
    return InboxQuery(tab=vs.tab(), statuses=tuple(ss.get(vs.K_STATUS) or ()),
                      label_ids=tuple(ss.get(vs.K_LABELS) or ()), channels=vs.channels(),
                      search=ss.get(vs.K_Q) or "", page=max(1, int(ss.get(vs.K_PAGE) or 1)))


def load_page(store, agent_id: int, query: InboxQuery) -> inbox.InboxPage:
    """The finder, asked only when the store's version or the query moved."""
    ss = st.session_state
    cached = ss.get(_CACHE)
    if cached and cached.version == store.version and cached.query == query:
        return cached
    page = inbox.find_chats(store, agent_id, query)
    if page.chats == [] and query.page > 1:  # the page emptied under us: back to the last one
        ss[vs.K_PAGE] = page.pages
        page = inbox.find_chats(store, agent_id, InboxQuery(**{**query.__dict__, "page": page.pages}))
    ss[_CACHE] = page
    return page


@st.fragment(run_every=LIVE_EVERY)
def live_list(store, agent: dict, labels_all: list[dict]) -> None:
    """Tabs with counts, the page of chats, paging; and the notifier. Reruns
    every tick; reads the store only when its version moved."""
    ss = st.session_state
    auth.check_in_fragment()
    notify(store, agent)
    own_only = team.sees_only_own(store, agent["id"])  # W3: no All tab (the finder refuses it too)
    if own_only and ss.get(vs.K_TAB) not in inbox.TABS_FOR_OWN_ONLY:
        ss[vs.K_TAB] = "My Chat"
    page = load_page(store, agent["id"], current_query())
    counts = page.counts
    if ss.get(vs.K_ARCHIVED):
        # The Archived view replaces the tabs: no tab looks chosen, and the
        # way back is right where the tabs were.
        with st.container(horizontal=True, vertical_alignment="center", gap="small", key="chat_archived_bar"):
            st.markdown(":material/archive: **" + _("Archived chats") + f"** ({i18n.number(counts.get('Archived', 0))})")
            st.space("stretch")
            if st.button(_("Back to the inbox"), key="chat_archived_back", icon=":material/arrow_back:",
                         type="tertiary"):
                _leave_archived()
                st.rerun(scope="app")  # the Archived button outside this fragment changes too
    else:
        tabs = inbox.TABS_FOR_OWN_ONLY if own_only else vs.LIST_TABS
        st.segmented_control(_("Tabs"), list(tabs), key=vs.K_TAB, required=True, persist_state="session",
                             format_func=lambda t: f"{_(t)} ({i18n.number(counts.get(t, 0))})", on_change=_leave_archived,
                             label_visibility="collapsed", width="stretch", wrap=False)
    by_id = {l["id"]: l for l in labels_all}
    opened = vs.open_chat_id()
    with st.container(key="chat_list_items", height=560, border=False):  # CSS fits it to the window
        if not page.chats:
            st.caption(_("No chats here."))
        for chat in page.chats:
            _item(chat, by_id, chat["id"] == opened)
    if page.pages > 1:
        with st.container(horizontal=True, vertical_alignment="center", gap="small", key="chat_pager"):
            st.button("", icon=":material/chevron_left:", key="chat_prev", disabled=page.page <= 1,
                      on_click=_go_page, args=(page.page - 1,), help=_("Previous page"))
            st.caption(_("Page {page} of {pages} · {total} chats").format(
                page=i18n.number(page.page), pages=i18n.number(page.pages), total=i18n.number(page.total)))
            st.button("", icon=":material/chevron_right:", key="chat_next", disabled=page.page >= page.pages,
                      on_click=_go_page, args=(page.page + 1,), help=_("Next page"))
    vs.write_url()


def _go_page(n: int) -> None:
    st.session_state[vs.K_PAGE] = n


def _item(chat: dict, labels_by_id: dict, selected: bool) -> None:
    # Four elements per item (container, button, the preview line, the
    # status line): the list is redrawn on every tick, so each element here
    # costs 30x per tick. The customer's words stay in markdown, escaped;
    # the status line is HTML so labels show in their exact colours.
    with st.container(key=f"chat_item_{chat['id']}", border=True, gap=None):
        clicked = st.button(plain(chat["contact_name"]), key=f"chat_open_{chat['id']}",
                            type="secondary" if selected else "tertiary")
        arrow = "↩ " if chat["last_direction"] == "out" else ""
        st.markdown(f"{CHANNEL_ICON[chat['channel']]} :gray[{when(chat['last_message_at'])} · {arrow}"
                    f"{plain(chat['last_preview'] or '')}]")
        st.html(chat_meta(chat, labels_by_id))
    if clicked:
        vs.open_chat(chat["id"])
        st.rerun(scope="app")  # the thread and profile panes live outside this fragment


TOAST_SECONDS = 8.0
# The ding stays on the page a little longer than one tick: removed by the
# next tick it could be cut off mid-sound.
SOUND_SECONDS = 6.0
_TOASTS = "chat_toasts"
_DING = "chat_ding"


def notify(store, agent: dict) -> None:
    """L7: a pop-up + sound for inbound messages this browser has not seen,
    when the agent's bell is on. Off: neither (and nothing is queued).

    The pop-up is drawn by this fragment, bottom right, rather than with
    st.toast: a toast sent from a fragment run closes any open dialog."""
    ss = st.session_state
    now = time.monotonic()
    new = _new_messages(store)  # followed with the bell off too: turning it on replays nothing
    fresh = new if ss.get("chat_bell", agent.get("notify", True)) else []
    if fresh:
        shown = [t for t in ss.get(_TOASTS, []) if t[0] > now]
        added = [(now + TOAST_SECONDS, m["contact_name"], message_preview(m["kind"], m["body"], m["caption"], m["details"]))
                 for m in fresh[-3:]]
        ss[_TOASTS] = (shown + added)[-3:]
    toasts = [t for t in ss.get(_TOASTS, []) if t[0] > now]
    ss[_TOASTS] = toasts
    with st.container(key="chat_toasts", gap="xsmall"):
        # Fixed slots, drawn on every run: an expired pop-up is replaced by an
        # empty slot (a child that is simply no longer drawn can linger on
        # screen after a full rerun when two fragments share the page).
        for i in range(3):
            slot = st.empty()
            if i < len(toasts):
                _until, name, text = toasts[i]
                with slot.container(border=True, gap=None):
                    st.markdown(f":material/chat: **{plain(name)}**")
                    st.text(text)  # customer text: never markup
    if fresh:
        ss[_DING] = (ss.get(_DING, (0, 0.0))[0] + 1, now + SOUND_SECONDS)
    ding, until = ss.get(_DING, (0, 0.0))
    if until > now and ss.get("chat_bell", True):
        # Small, near-invisible player: autoplay needs the element on the page.
        # A new key per batch makes a new element, so the next batch rings again.
        with st.container(key=f"chat_sound_{ding}", height=1, border=False):
            st.audio(SOUND, format="audio/wav", autoplay=True)


def _new_messages(store) -> list[dict]:
    """Inbound messages since this browser last looked (none on the first look)."""
    ss = st.session_state
    if "chat_seen_msg" not in ss:
        ss["chat_seen_msg"] = inbox.latest_message_id(store)  # only what arrives after opening the page
        ss["chat_seen_version"] = store.version
        return []
    version = store.version
    if ss.get("chat_seen_version") == version:
        return []
    new = inbox.new_inbound_since(store, ss["chat_seen_msg"])
    if len(new) < 20:
        ss["chat_seen_version"] = version  # else: more are waiting, look again next tick
    if new:
        ss["chat_seen_msg"] = new[-1]["id"]
    return new
