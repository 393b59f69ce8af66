"""Confirmations (`OK`) and the `Send Template` pop-up.

Which dialog is open is kept in session_state and the dialog is drawn on
every full run until it is answered or dismissed: a rerun of the page (or a
test) never loses it, and it lives outside the polling fragments."""
from __future__ import annotations

import streamlit as st

from maxchat_data import actions, inbox, templates
from maxchat_data.errors import MaxchatError, ValidationError
from maxchat_data.i18n import N_, _

from .chat_feedback import flash
from .chat_text import plain, when
from .template_picker import pick_initiate_template

K_DIALOG = "chat_dialog"
# what: (question, action, done, said when someone else had already done it)
CONFIRM = {
    "resolve": (N_("Resolve this chat? It is unassigned and moves to Unassigned."), actions.resolve,
                N_("Chat resolved."), N_("This chat was already resolved.")),
    "archive": (N_("Archive this chat? It leaves the list and shows under Archived."), actions.archive,
                N_("Chat archived."), N_("This chat was already archived.")),
    "unarchive": (N_("Unarchive this chat? It returns to the chat list."), actions.unarchive,
                  N_("Chat unarchived."), N_("This chat was already back in the list.")),
    "block": (N_("Block this contact? Their messages are kept but raise no notification, and you cannot reply."),
              actions.block, N_("Contact blocked."), N_("This contact was already blocked.")),
    "unblock": (N_("Unblock this contact?"), actions.unblock, N_("Contact unblocked."),
                N_("This contact was already unblocked.")),
}


def ask(what: str, chat_id: int) -> None:
    """on_click of a button that needs a dialog."""
    st.session_state[K_DIALOG] = (what, chat_id)


def close() -> None:
    st.session_state.pop(K_DIALOG, None)


def show(store, agent: dict, chat: dict | None) -> None:
    """Draw the open dialog, if any, for the open chat."""
    found = st.session_state.get(K_DIALOG)
    if not found:
        return
    what, chat_id = found
    if chat is None or chat["id"] != chat_id:
        close()
        return
    if what == "template":
        st.dialog(_("Send Template"), width="medium", on_dismiss=close)(template_dialog)(store, agent, chat)
    elif what in CONFIRM:
        # The title is in the person's language: the dialog is made per run.
        st.dialog(_("Please confirm"), on_dismiss=close)(confirm_dialog)(store, agent, chat, what)
    else:
        close()


def confirm_dialog(store, agent: dict, chat: dict, what: str) -> None:
    question, action, done, already = CONFIRM[what]
    st.write(_(question))
    st.caption(plain(chat["contact_name"]))
    with st.container(horizontal=True, gap="small"):
        ok = st.button(_("OK"), key="chat_confirm_ok", type="primary")
        cancel = st.button(_("Cancel"), key="chat_confirm_cancel")
    if cancel:
        close()
        st.rerun()
    if ok:
        try:
            changed = action(store, chat["id"], agent["id"])
        except MaxchatError as exc:
            st.error(plain(str(exc)))
            return
        close()
        if not changed:  # someone got there first (A5): say who, not "done"
            who, at = inbox.resolved_by(store, chat["id"]) if what == "resolve" else (None, None)
            flash("info", _("{agent} had already resolved this chat ({when}).").format(agent=who, when=when(at, full=True))
                  if who else _(already))
        else:
            st.toast(_(done), icon=":material/check:")
        st.rerun()


def template_dialog(store, agent: dict, chat: dict) -> None:
    """T5: only Accepted templates set as initiate message, for this channel;
    the text with {{n}} filled from editable values; Send."""
    tpl = pick_initiate_template(store, chat["channel"], "chat_tpl_pick")
    if tpl is None:
        return
    tid = tpl["id"]
    values = []
    for n in range(1, tpl["variables"] + 1):
        key = f"chat_tpl_{tid}_{n}"
        if key not in st.session_state:
            st.session_state[key] = chat["contact_name"] if n == 1 else ""  # {{1}} is usually the name
        # live: each pause in typing is committed, so a live update that
        # redraws the page (and this pop-up) finds every value already here.
        values.append(st.text_input(f"{{{{{n}}}}}", key=key, live=True))
    try:
        text = templates.render(tpl["body"], tpl["variables"], values)
    except ValidationError:
        text = tpl["body"]
        for n, v in enumerate(values, 1):
            if v.strip():
                text = text.replace(f"{{{{{n}}}}}", v)
    st.session_state["chat_tpl_preview"] = text  # a stable widget that always shows the current text
    st.text_area(_("Message"), key="chat_tpl_preview", disabled=True, height=120)
    if st.button(_("Send"), key="chat_tpl_send", type="primary", icon=":material/send:"):
        try:
            actions.send_template(store, chat["id"], agent["id"], tid, values)
        except MaxchatError as exc:
            st.error(plain(str(exc)))
            return
        close()
        st.toast(_("Template queued: its ticks in the thread show when it is delivered."), icon=":material/schedule_send:")
        st.rerun()
