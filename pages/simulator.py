"""Customer simulator (demo mode, admins): write as a customer on any
channel; the message takes the same path as a webhook's."""
from __future__ import annotations

import streamlit as st

from maxchat_data import MaxchatError
from server import runtime
from maxchat_data.common import CHANNEL_LABELS, CHANNELS
from maxchat_data.simulator import EXAMPLE_IDS, simulate
from ui.chat_text import plain


agent = st.session_state.get("agent")
if not agent or agent.get("role") != "admin":
    st.error("This page is for admins only.")
    st.stop()

st.title("Customer simulator")
if not runtime.demo_mode():
    st.info("The simulator is available in demo mode only (MAXCHAT_DEMO=1).")
    st.stop()
st.caption("Write as a customer. The message arrives in the inbox exactly as a real one would.")

done = st.session_state.pop("_sim_done", None)
if done:
    st.success(f"Delivered to the inbox: chat #{done['chat_id']}, message #{done['message_id']}.",
               icon=":material/check_circle:")

channel = st.selectbox("Channel", CHANNELS, format_func=CHANNEL_LABELS.get, key="sim_channel")
with st.form("simulator", clear_on_submit=True, border=True):
    name = st.text_input("Customer name", value="Rina Kusuma", max_chars=100)
    customer_id = st.text_input("Customer id on the channel", value=EXAMPLE_IDS[channel], max_chars=64,
                                help="Phone number for WhatsApp, page-scoped id for Messenger, chat id for Telegram. "
                                     "The same id writes into the same chat.")
    text = st.text_area("Message", max_chars=4096)
    upload = st.file_uploader("Attach a file (optional, at most 1 MB)",
                              type=["png", "jpg", "jpeg", "gif", "webp", "mp4", "webm", "pdf", "doc", "docx",
                                    "xls", "xlsx", "txt", "csv"])
    sent = st.form_submit_button("Send as customer", type="primary", icon=":material/send:")

if sent:
    try:
        received = simulate(runtime.store(), channel, name, customer_id, text,
                            upload.name if upload else None, upload.getvalue() if upload else None,
                            demo=runtime.demo_mode())
    except MaxchatError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
    else:
        st.session_state["_sim_done"] = {"chat_id": received.chat_id, "message_id": received.message_id}
        st.rerun()
