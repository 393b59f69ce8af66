"""N1: the `New chat` pop-up of the Chat page: an initiate template to an
existing contact or a new WhatsApp number, its values filled in, with a
live preview; `Send` opens the chat."""
from __future__ import annotations

import streamlit as st

from maxchat_data import new_chat, templates
from maxchat_data.common import CHANNEL_LABELS
from maxchat_data.errors import MaxchatError, ValidationError
from maxchat_data.i18n import N_, _

from . import chat_state
from .chat_dialogs import close as close_chat_dialog
from .chat_text import plain
from .template_picker import pick_initiate_template

K_OPEN = "new_chat_open"
NEW_NUMBER, EXISTING = "number", "contact"  # ids; shown as WRITE_TO says
WRITE_TO = {NEW_NUMBER: N_("A new WhatsApp number"), EXISTING: N_("An existing contact")}


def open_dialog() -> None:
    close_chat_dialog()  # one pop-up at a time
    st.session_state[K_OPEN] = True


def _close() -> None:
    st.session_state.pop(K_OPEN, None)


def show(store, agent: dict) -> None:
    if st.session_state.get(K_OPEN):
        # The title is in the person's language: the dialog is made per run.
        st.dialog(_("New chat"), width="medium", on_dismiss=_close)(dialog)(store, agent)


def preview(tpl: dict, values: list[str]) -> str:
    """The message as it will read; a value not typed yet keeps its {{n}}."""
    try:
        return templates.render(tpl["body"], tpl["variables"], values)
    except ValidationError:
        text = tpl["body"]
        for n, v in enumerate(values, 1):
            if v.strip():
                text = text.replace(f"{{{{{n}}}}}", v)
        return text


def dialog(store, agent: dict) -> None:
    ss = st.session_state
    to = st.radio(_("Write to"), (NEW_NUMBER, EXISTING), key="new_chat_to", horizontal=True,
                  format_func=lambda w: _(WRITE_TO[w]))
    st.caption(_(new_chat.CANNOT_WRITE_FIRST))
    chat_id = number = None
    name = ""
    if to == NEW_NUMBER:
        typed = st.text_input(_("WhatsApp number"), key="new_chat_number", placeholder=_("0812 3456 7890 or +62…"))
        name = st.text_input(_("Name (optional)"), key="new_chat_name", max_chars=100)
        if typed.strip():
            try:
                number = new_chat.normalize_number(typed)
                st.caption(_("Sends to {number}").format(number=number))
            except ValidationError as exc:
                st.warning(plain(str(exc)), icon=":material/warning:")
                number = None
    else:
        q = st.text_input(_("Search by name"), key="new_chat_q")
        found = new_chat.find_contacts(store, q, viewer=agent["id"]) if q.strip() else []
        if q.strip() and not found:
            st.caption(_("No contact has that name."))
        if found:
            by_id = {c["id"]: c for c in found}
            chat_id = st.selectbox(_("Contact"), list(by_id), key="new_chat_contact",
                                   format_func=lambda i: f"{by_id[i]['contact_name']} · "
                                                         f"{CHANNEL_LABELS[by_id[i]['channel']]}")
            if chat_id is not None and by_id[chat_id]["channel"] not in new_chat.FIRST_WRITE_CHANNELS:
                st.info(_(new_chat.CANNOT_WRITE_FIRST), icon=":material/block:")
                chat_id = None
    tpl = pick_initiate_template(store, "whatsapp", "new_chat_tpl")
    if tpl is None:
        return
    tid = tpl["id"]
    values = [st.text_input(f"{{{{{n}}}}}", key=f"new_chat_{tid}_{n}", live=True)
              for n in range(1, tpl["variables"] + 1)]
    ss["new_chat_preview"] = preview(tpl, values)
    st.text_area(_("Message"), key="new_chat_preview", disabled=True, height=110)
    if st.button(_("Send"), key="new_chat_send", type="primary", icon=":material/send:"):
        if chat_id is None and number is None:
            st.error(_("Type a valid WhatsApp number or choose a WhatsApp contact first."))
            return
        try:
            opened, _queued = new_chat.start(store, agent["id"], tid, values, chat_id=chat_id, number=number, name=name)
        except MaxchatError as exc:
            st.error(plain(str(exc)))
            return
        _close()
        chat_state.open_chat(opened)
        st.toast(_("Template queued: the chat is open, its ticks show when it is delivered."),
                 icon=":material/schedule_send:")
        st.rerun()
