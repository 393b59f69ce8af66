"""P1-P6: the `Info Profile` pane: number/id, status, assign + Resolve,
labels, `Contact Detail`, `Notes`, Archive/Unarchive, Block/Unblock."""
from __future__ import annotations

import streamlit as st

from maxchat_data import actions, inbox
from maxchat_data.common import CHANNEL_LABELS
from maxchat_data.errors import MaxchatError
from maxchat_data.i18n import _

from . import chat_dialogs as dlg
from .chat_labels import label_popover
from .chat_text import CHANNEL_ICON, label_chips, plain, status_badge, when
from .chat_thread import assign_select, resolve_button


def render_profile(store, agent: dict, chat: dict, agents: list[dict], labels_all: list[dict]) -> None:
    chat_id = chat["id"]
    st.subheader(_("Info Profile"))
    st.markdown(f"**{plain(chat['contact_name'])}**")
    number = chat["phone"] or chat["channel_user_id"]
    st.caption(f"{CHANNEL_ICON[chat['channel']]} {CHANNEL_LABELS[chat['channel']]} · {plain(number)}")
    resolve_button(chat, "prof")
    status = status_badge(chat["status"])
    if chat["blocked"]:
        status += " :red-badge[:material/block: " + _("Blocked") + "]"
    if chat["archived"]:
        status += " :gray-badge[:material/archive: " + _("Archived") + "]"
    st.markdown(f"{_('Status')}: {status}")  # "Status" is the guide's word in both languages
    assign_select(store, agent, chat, agents, "prof")
    by_id = {l["id"]: l for l in labels_all}
    shown = [by_id[i] for i in chat["label_ids"] if i in by_id]
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="chat_profile_labels"):
        st.markdown(_("Labels:"), width="content")
        st.html(label_chips(shown) if shown else "—")
        label_popover(store, agent, chat, labels_all, "prof")  # managed here too (P2), as from the header

    st.markdown("**" + _("Contact Detail") + "**")
    with st.form(f"chat_contact_{chat_id}", border=True):
        name = st.text_input(_("Name"), value=chat["contact_name"], key=f"chat_ct_name_{chat_id}")
        email = st.text_input(_("Email"), value=chat["email"] or "", key=f"chat_ct_email_{chat_id}")
        company = st.text_input(_("Company"), value=chat["company"] or "", key=f"chat_ct_company_{chat_id}")
        st.text_input(_("Channel"), value=f"{CHANNEL_LABELS[chat['channel']]} · {number}", disabled=True,
                      key=f"chat_ct_channel_{chat_id}")
        saved = st.form_submit_button(_("Save"), icon=":material/save:")
    if saved:
        try:
            actions.update_contact(store, chat_id, agent["id"], name=name, email=email, company=company,
                                   phone=chat["phone"] or "")
        except MaxchatError as exc:
            st.error(plain(str(exc)))  # refused: nothing changed (P2)
        else:
            st.rerun()

    st.markdown("**" + _("Notes") + "**")
    note_key = f"chat_note_{chat_id}"
    st.text_area(_("Note"), key=note_key, placeholder=_("Write a note for the team"), height=80,
                 label_visibility="collapsed")
    st.button(_("Add notes"), key="chat_note_add", icon=":material/note_add:", on_click=_add_note,
              args=(store, agent["id"], chat_id, note_key))
    err = st.session_state.pop("chat_note_error", None)
    if err:
        st.error(plain(err))
    for n in inbox.notes(store, chat_id):
        with st.container(border=True, gap="xsmall"):
            st.text(n["body"])
            st.caption(f"{plain(n['author'])} · {when(n['created_at'], full=True)}")

    st.divider()
    with st.container(horizontal=True, gap="small"):
        if chat["archived"]:
            st.button(_("Unarchive"), key="chat_unarchive", icon=":material/unarchive:", on_click=dlg.ask,
                      args=("unarchive", chat_id))
        else:
            st.button(_("Archive"), key="chat_archive", icon=":material/archive:", on_click=dlg.ask,
                      args=("archive", chat_id))
        if chat["blocked"]:
            st.button(_("Unblock"), key="chat_unblock", icon=":material/lock_open:", on_click=dlg.ask,
                      args=("unblock", chat_id))
        else:
            st.button(_("Block"), key="chat_block", icon=":material/block:", on_click=dlg.ask, args=("block", chat_id))


def _add_note(store, agent_id: int, chat_id: int, key: str) -> None:
    try:
        actions.add_note(store, chat_id, agent_id, st.session_state.get(key) or "")
    except MaxchatError as exc:
        st.session_state["chat_note_error"] = str(exc)
    else:
        st.session_state[key] = ""
