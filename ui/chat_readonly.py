"""The open chat as an analyst sees it: who, where, status and the reply
window, without a single control that acts (the domain refuses anyway)."""
from __future__ import annotations

import streamlit as st

from maxchat_data.common import CHANNEL_LABELS
from maxchat_data.i18n import _

from .chat_text import CHANNEL_ICON, label_chips, plain, session_kind, status_badge


def render_header(chat: dict, labels_all: list[dict]) -> None:
    with st.container(key="chat_header"):  # the CSS that cuts a long name with an ellipsis
        st.markdown(f"#### {CHANNEL_ICON[chat['channel']]} {plain(chat['contact_name'])}")
    by_id = {l["id"]: l for l in labels_all}
    bits = [status_badge(chat["status"]), CHANNEL_LABELS[chat["channel"]],
            f":material/headset_mic: {plain(chat['assignee'] or 'BOT')}"]
    if chat["initiated_by"]:
        bits.append(session_kind(chat["initiated_by"]))
    bits.append(chat["window"].describe())
    st.caption(" · ".join(bits))
    shown = [by_id[i] for i in chat["label_ids"] if i in by_id]
    if shown:
        st.html(label_chips(shown))
    st.caption(":material/visibility: " + _("Read only: analysts read chats and act on none."))
