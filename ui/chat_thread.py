"""T1-T6, A1-A4 in the header: the open chat's header, the live thread and
the composer (text + emoji, attachment, or the template when the window is
closed)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from maxchat_data import actions, emoji, inbox, roles
from maxchat_data.channels import in_sandbox, sending_problem
from maxchat_data.common import CHANNEL_LABELS
from maxchat_data.errors import MaxchatError
from maxchat_data.i18n import N_, _, shown
from maxchat_data.media import MAX_UPLOAD
from maxchat_data.window import closed_explanation, reply_window
from server import runtime

from . import auth, chat_dialogs as dlg, chat_message, quick_replies as quick
from .chat_feedback import clear as _clear_flash, flash, show as show_feedback
from .chat_labels import label_popover
from .chat_list import LIVE_EVERY
from .chat_text import CHANNEL_ICON, plain, session_kind, status_badge, ticks, when
from .team import labelled, legend

# Enter sends, Shift+Enter a new line, "/" lists the quick replies, an emoji
# goes in at the caret: our own fixed script (ui/assets/composer.js).
COMPOSER_JS = f"<script>{(Path(__file__).parent / 'assets' / 'composer.js').read_text()}</script>"
ATTACH_POP = "chat_attach_pop"
SANDBOX = N_("Sandbox (demo)")
THREAD_LIMIT = 60  # messages shown at first; "Show earlier" adds more
_CACHE = "chat_thread_cache"


def header_state(chat: dict) -> tuple:
    """What the header, composer and profile show: when it changes under us,
    the whole page reruns (the thread fragment alone cannot redraw them).
    The window is recomputed from the clock, so its countdown moves by the
    minute and a window that closes locks the composer without any write."""
    window = reply_window(chat["channel"], chat["last_inbound_at"])
    return (chat["id"], chat["status"], chat["assignee_id"], chat["archived"], chat["blocked"],
            tuple(chat["label_ids"]), chat["contact_name"], window.open, window.describe())


# ---- header -------------------------------------------------------------------
def render_header(store, agent: dict, chat: dict, agents: list[dict], labels_all: list[dict]) -> None:
    # Row 1: the name (cut with an ellipsis when long) over its status and reply window, [+] labels,
    # `Resolve` top right. Row 2: the assign dropdown, wide enough for "🟢 Sari Wulandari · Online".
    window = chat["window"]
    # Channel and session kind are on the icon and in the thread: one short line here.
    timer = ":material/timer:" if window.open else ":material/timer_off:"
    with st.container(horizontal=True, vertical_alignment="center", gap="small", wrap=False, key="chat_header"):
        with st.container(gap=None, key="chat_header_name"):
            st.markdown(f"#### {CHANNEL_ICON[chat['channel']]} {plain(chat['contact_name'])}")
            with st.container(key="chat_header_meta"):
                st.caption(f"{status_badge(chat['status'])} · {timer} {window.describe()}")
        label_popover(store, agent, chat, labels_all, "hdr")
        st.space("stretch")
        resolve_button(chat, "hdr")
    with st.container(horizontal=True, vertical_alignment="center", gap="small", wrap=False, key="chat_assign_row"):
        st.markdown(":material/headset_mic:", width="content")
        assign_select(store, agent, chat, agents, "hdr")


def assign_select(store, agent: dict, chat: dict, agents: list[dict], where: str) -> None:
    """A1/A2: the headphone dropdown of active agents. Its value is set from
    the store before drawing, so a change made elsewhere shows up. BOT is 0
    (a selectbox reads None as "nothing chosen")."""
    options = [0] + [a["id"] for a in agents]
    wide = where == "hdr"  # the header has room for "· Online"; Info Profile shows the dot (legend in its help)
    names = {0: _("BOT (unassigned)")} | {a["id"]: labelled(a["display_name"], a.get("availability", "Offline"), wide)
                                       for a in agents}
    current = chat["assignee_id"] or 0
    if current not in names:  # assigned to an agent deactivated since
        options.append(current)
        names[current] = chat["assignee"] or _("agent {id}").format(id=current)
    key = f"assign_{where}_{chat['id']}"
    st.session_state[key] = current
    st.selectbox(":material/headset_mic: " + _("Assign"), options, key=key, format_func=names.__getitem__,
                 on_change=_assign, args=(store, agent["id"], chat["id"], key),
                 label_visibility="collapsed" if where == "hdr" else "visible",
                 help=_("Assign the chat to an agent") + ("" if wide else f" ({legend()})"))


def _assign(store, actor_id: int, chat_id: int, key: str) -> None:
    try:
        actions.assign(store, chat_id, st.session_state[key] or None, actor_id)
    except MaxchatError as exc:
        flash("error", str(exc))


def resolve_button(chat: dict, where: str) -> None:
    """A3/A4: orange (primary) while active, grey and disabled once resolved."""
    resolved = chat["status"] == "Resolved"
    st.button(_("Resolve"), key=f"resolve_{where}", type="secondary" if resolved else "primary", disabled=resolved,
              icon=":material/check_circle:", on_click=dlg.ask, args=("resolve", chat["id"]),
              help=_("Already resolved") if resolved else _("Resolve this chat"))


# ---- the live thread ---------------------------------------------------------------
@st.fragment(run_every=LIVE_EVERY)
def live_thread(store, chat_id: int, shown: tuple) -> None:
    ss = st.session_state
    auth.check_in_fragment()
    limit = ss.get("chat_thread_limit", THREAD_LIMIT)
    cached = ss.get(_CACHE)
    if not cached or cached["chat"] != chat_id or cached["version"] != store.version or cached["limit"] != limit:
        version = store.version  # read first: a change after this shows next tick
        chat = inbox.get_chat(store, chat_id)
        messages = inbox.thread(store, chat_id, limit)
        if chat["unread"] and roles.can_act(ss["agent"]["role"]):  # an analyst's reading marks nothing
            actions.mark_read(store, chat_id, ss["agent"]["id"])  # the agent is looking at it
        cached = {"chat": chat_id, "version": version, "limit": limit, "messages": messages,
                  "chat_row": chat, "name": chat["contact_name"]}
        ss[_CACHE] = cached
    if header_state(cached["chat_row"]) != shown:
        # Status, assignee, labels or the window moved: redraw header, composer
        # and profile too. An open pop-up is drawn again by that run with its
        # values (chat_dialogs keeps it in session_state), so it stays open.
        st.rerun(scope="app")
    messages = cached["messages"]
    with st.container(key="chat_thread", height=470, border=True, autoscroll=True):  # CSS fits it to the window
        if len(messages) >= limit:
            st.button(_("Show earlier messages"), key="chat_more", type="tertiary", icon=":material/expand_less:",
                      on_click=_more, args=(limit,))
        last_session = None
        for m in messages:
            if m["session_id"] != last_session and m["initiated_by"] and m["direction"] != "activity":
                st.caption(f":material/flag: {session_kind(m['initiated_by'])} · {when(m['sent_at'], full=True)}",
                           text_alignment="center")
                last_session = m["session_id"]
            _message(store, m, cached["name"])


def _more(limit: int) -> None:
    st.session_state["chat_thread_limit"] = limit + THREAD_LIMIT


def _message(store, m: dict, contact_name: str) -> None:
    if m["direction"] == "activity":
        st.caption(f":material/info: {plain(shown(m['body']))} · {when(m['sent_at'])}", text_alignment="center")
        return
    inbound = m["direction"] == "in"
    if inbound:
        sender, avatar = contact_name, ":material/person:"
    elif m["sender_name"]:
        sender, avatar = m["sender_name"], ":material/support_agent:"
    else:
        sender, avatar = "BOT", ":material/smart_toy:"
    # The side is in the name: CSS puts the customer left and the team right (as WhatsApp Web).
    with st.chat_message("customer" if inbound else "team", avatar=avatar):
        meta = f"**{plain(sender)}** · {when(m['sent_at'], full=True)}"
        if not inbound:
            meta += f" · {ticks(m['status'])}"
            if m["kind"] == "template":
                meta += " · " + _("Template")
        if m["edited_at"] is not None and m["deleted_at"] is None:
            meta += " · " + _("edited")
        st.caption(meta)
        _body(store, m)
        chat_message.reaction(m)
        if m["status"] == "failed":
            st.error(_("Not delivered: {reason}").format(reason=plain(shown(m["error"]) or _("unknown reason"))),
                     icon=":material/error:")
            st.button(_("Retry"), key=f"chat_retry_{m['id']}", icon=":material/refresh:", on_click=_retry,
                      args=(store, m["id"]))


def _body(store, m: dict) -> None:
    chat_message.body(store, m)


def _retry(store, message_id: int) -> None:
    try:
        actions.retry(store, message_id, st.session_state["agent"]["id"])
    except MaxchatError as exc:
        flash("error", str(exc))


# ---- composer ---------------------------------------------------------------------
def render_composer(store, agent: dict, chat: dict) -> None:
    """Outside the polling fragments: a draft survives every tick (L6). What
    an action did shows just above the box (chat_feedback), in view."""
    with st.container(key="chat_composer", gap="small"):
        _composer(store, agent, chat)


def _composer(store, agent: dict, chat: dict) -> None:
    chat_id = chat["id"]
    draft_key = f"chat_draft_{chat_id}"
    if chat["blocked"]:
        show_feedback(chat_id)
        st.warning(_("This contact is blocked: the composer is locked. Unblock the contact in Info Profile to reply."),
                   icon=":material/block:")
        return
    problem = sending_problem(chat["channel"], sandbox=runtime.demo_mode())
    if problem:
        show_feedback(chat_id)
        # Said before the agent types, not after a reply fails.
        st.warning(_("{problem}. Replies on {channel} cannot be sent until an admin connects it (see the Channels "
                     "page).").format(problem=plain(problem), channel=CHANNEL_LABELS[chat["channel"]]),
                   icon=":material/link_off:")
        return
    if not chat["window"].open:
        show_feedback(chat_id)
        st.warning(closed_explanation(chat["channel"]), icon=":material/lock_clock:")
        st.button(_("Send Template"), key="chat_tpl_open", type="primary", icon=":material/description:",
                  on_click=dlg.ask, args=("template", chat_id))
        return
    replies = quick.expand_typed(store, agent, chat, draft_key)
    show_feedback(chat_id, quick.hint(agent, chat, draft_key, replies))
    st.text_area(_("Message"), key=draft_key, placeholder=_("Type a message… Enter sends, Shift+Enter for a new line"),
                 height=68, label_visibility="collapsed", persist_state="session")
    st.html(COMPOSER_JS, unsafe_allow_javascript=True)
    with st.container(horizontal=True, vertical_alignment="center", gap="xsmall", wrap=False,
                      key="chat_composer_tools"):
        with st.popover("", icon=":material/mood:", key="chat_emoji_pop", help=_("Emoji")):
            with st.container(horizontal=True, gap="xsmall"):
                for i, e in enumerate(emoji.PICKER):
                    st.button(e, key=f"chat_emoji_{i}", type="tertiary", on_click=_add_emoji, args=(draft_key, e))
        # Stateful, so that sending closes it: what became of the file shows above the box.
        with st.popover("", icon=":material/attach_file:", key=ATTACH_POP, help=_("Attach a file"), on_change="rerun"):
            _attachment_form(store, agent, chat_id)
        quick.picker(agent, chat, draft_key, replies)
        st.space("stretch")
        if in_sandbox(chat["channel"], demo=runtime.demo_mode()):
            st.badge(_(SANDBOX), icon=":material/science:", color="violet",
                     help=_("Demo mode: replies go to the built-in sandbox, whose customer reads them (see the "
                            "Simulator). Nothing leaves this server."))
        st.button(_("Send"), key="chat_send", type="primary", icon=":material/send:", on_click=_send,
                  args=(store, agent["id"], chat_id, draft_key))


def _add_emoji(draft_key: str, e: str) -> None:
    st.session_state[draft_key] = (st.session_state.get(draft_key) or "") + e


def _send(store, agent_id: int, chat_id: int, draft_key: str) -> None:
    _clear_flash()
    try:
        actions.reply(store, chat_id, agent_id, st.session_state.get(draft_key) or "")
    except MaxchatError as exc:
        flash("error", str(exc))  # the draft stays, so nothing typed is lost
    else:
        st.session_state[draft_key] = ""


def _attachment_form(store, agent: dict, chat_id: int) -> None:
    nonce = st.session_state.get("chat_upload_nonce", 0)
    up_key, cap_key = f"chat_upload_{chat_id}_{nonce}", f"chat_caption_{chat_id}_{nonce}"
    st.file_uploader(_("Document, image or video (at most {size} MB)").format(size=MAX_UPLOAD // (1024 * 1024)),
                     key=up_key)
    st.text_input(_("Caption"), key=cap_key, placeholder=_("Optional caption"))
    st.button(_("Send file"), key="chat_send_file", type="primary", icon=":material/upload:",
              on_click=_send_file, args=(store, agent["id"], chat_id, up_key, cap_key))


def _send_file(store, agent_id: int, chat_id: int, up_key: str, cap_key: str) -> None:
    ss = st.session_state
    _clear_flash()
    f = ss.get(up_key)
    if f is None:
        flash("error", _("Choose a file first."))
        return
    ss[ATTACH_POP] = False  # closed, so the outcome above the box is in sight
    try:
        actions.send_attachment(store, chat_id, agent_id, f.name, f.getvalue(), ss.get(cap_key) or "")
    except MaxchatError as exc:
        flash("error", str(exc))  # refused: nothing stored, nothing sent (T3)
    else:
        ss["chat_upload_nonce"] = ss.get("chat_upload_nonce", 0) + 1  # a fresh, empty uploader
        flash("success", _("{file} is queued: the ticks beside it show when it is sent and delivered.").format(file=f.name))
