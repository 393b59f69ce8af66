"""The Chat page (SPEC §2-§6): chat list · thread · Info Profile.

A view only: every read and rule is in maxchat_data. The list and the open
thread are polling fragments (L6); the composer, the profile and every
dialog stay outside them, so a tick never eats a draft or closes a pop-up."""
from __future__ import annotations

import streamlit as st

from maxchat_data import accounts, actions, inbox, labels, roles, team
from server import runtime
from maxchat_data.errors import NotAllowed, NotFound
from maxchat_data.i18n import _
from ui import chat_dialogs, chat_list, chat_readonly, chat_state, css, new_chat
from ui.chat_profile import render_profile
from ui.chat_thread import header_state, live_thread, render_composer, render_header

st.set_page_config(layout="wide")

agent = st.session_state.get("agent")
if not agent:
    st.warning(_("Please log in to see the chats."))
    st.stop()

store = runtime.store()
ss = st.session_state
acts = roles.can_act(agent["role"])  # an analyst reads only: no composer, no action (U4)
chat_state.load_from_url()

css.use("chat")  # the layout that fits a laptop screen, the cards, the bubbles (ui/assets/chat.css)

if "chat_bell" not in ss:  # the persisted preference, read once per session (L7)
    me = accounts.get_agent(store, agent["id"]) or {}
    ss["chat_bell"] = bool(me.get("notify", agent.get("notify", True)))


def _bell() -> None:
    actions.set_notify(store, agent["id"], ss["chat_bell"])
    agent["notify"] = ss["chat_bell"]


with st.container(horizontal=True, vertical_alignment="center", key="chat_topbar"):
    st.subheader(_("Chat"))
    st.space("stretch")
    if acts:
        st.button(_("New chat"), key="new_chat_btn", icon=":material/add_comment:", on_click=new_chat.open_dialog,
                  help=_("Write first to a contact or a WhatsApp number with an initiate template"))
    st.toggle(":material/notifications: " + _("Notifications"), key="chat_bell", on_change=_bell,
              help=_("Sound and pop-up for new customer messages"))

labels_all = labels.list_labels(store)
agents = team.with_availability(store, accounts.assignable_agents(store))

chat = None
if chat_state.open_chat_id() is not None:
    try:
        chat = inbox.get_chat(store, chat_state.open_chat_id(), agent["id"])
    except (NotFound, NotAllowed) as exc:
        chat_state.open_chat(None)
        if isinstance(exc, NotAllowed):
            st.warning(str(exc))
if chat is not None and chat["unread"] and acts:
    actions.mark_read(store, chat["id"], agent["id"])  # opening a chat reads it
    chat["unread"] = 0

col_list, col_thread, col_profile = st.columns([1.6, 2.2, 1.15], gap="small")
with col_list:
    chat_list.render_controls(labels_all)
    chat_list.live_list(store, agent, labels_all)
with col_thread:
    if chat is None:
        st.info(_("Choose a chat from the list."), icon=":material/forum:")
    elif not acts:
        chat_readonly.render_header(chat, labels_all)
        live_thread(store, chat["id"], header_state(chat))
    else:
        render_header(store, agent, chat, agents, labels_all)
        live_thread(store, chat["id"], header_state(chat))
        render_composer(store, agent, chat)
with col_profile:
    if chat is not None and acts:
        with st.container(key="chat_profile_pane", height=600, border=False):  # CSS fits it to the window
            render_profile(store, agent, chat, agents, labels_all)

chat_dialogs.show(store, agent, chat)
if acts:
    new_chat.show(store, agent)
chat_state.write_url()
