"""Customer simulator (demo mode, admins): write as a customer on any
channel (the message takes the same path as a webhook's), and see the
conversation from the customer's side: what the team sent them, live."""
from __future__ import annotations

import streamlit as st

from maxchat_data import MaxchatError, i18n
from maxchat_data.i18n import _
from server import runtime
from maxchat_data.common import CHANNEL_LABELS, CHANNELS
from maxchat_data.simulator import EXAMPLE_IDS, conversation, simulate
from ui.access import require
from ui.chat_text import plain, ticks, when


me = require("admin")
# The phone's fragment reruns skip the page run that chose the language.
LANGUAGE = i18n.current()

st.title(_("Customer simulator"))
if not runtime.demo_mode():
    st.info(_("The simulator is available in demo mode only (MAXCHAT_DEMO=1)."))
    st.stop()
st.caption(_("Write as a customer: the message arrives in the inbox exactly as a real one would. On the right, the "
             "customer's phone shows what the team sends back (demo channels deliver to this sandbox)."))

done = st.session_state.pop("_sim_done", None)
if done:
    st.success(_("Delivered to the inbox: chat #{chat_id}, message #{message_id}.").format(
        chat_id=done["chat_id"], message_id=done["message_id"]),
               icon=":material/check_circle:")

left, right = st.columns([1, 1], gap="large")
with left:
    channel = st.selectbox(_("Channel"), CHANNELS, format_func=CHANNEL_LABELS.get, key="sim_channel")
    name = st.text_input(_("Customer name"), value="Rina Kusuma", max_chars=100, key="sim_name")
    customer_id = st.text_input(_("Customer id on the channel"), value=EXAMPLE_IDS[channel], max_chars=64,
                                key=f"sim_customer_{channel}",
                                help=_("Phone number for WhatsApp, page-scoped id for Messenger, chat id for "
                                       "Telegram. The same id writes into the same chat."))
    with st.form("simulator", clear_on_submit=True, border=True):
        text = st.text_area(_("Message"), max_chars=4096)
        upload = st.file_uploader(_("Attach a file (optional, at most 1 MB)"),
                                  type=["png", "jpg", "jpeg", "gif", "webp", "mp4", "webm", "pdf", "doc", "docx",
                                        "xls", "xlsx", "txt", "csv"])
        sent = st.form_submit_button(_("Send as customer"), type="primary", icon=":material/send:")

if sent:
    try:
        received = simulate(runtime.store(), channel, name, customer_id, text,
                            upload.name if upload else None, upload.getvalue() if upload else None,
                            actor_id=me["id"])
    except MaxchatError as exc:
        left.error(plain(str(exc)), icon=":material/error:")
    else:
        st.session_state["_sim_done"] = {"chat_id": received.chat_id, "message_id": received.message_id}
        st.rerun()


@st.fragment(run_every=2.0)
def customers_phone(channel: str, customer_id: str) -> None:
    """What this customer's app shows: their messages and the team's, with
    the team's ticks (the sandbox's customers read within seconds)."""
    i18n.use(LANGUAGE)
    st.subheader(f"{CHANNEL_LABELS[channel]} · {plain(customer_id)}")
    shown = conversation(runtime.store(), channel, customer_id)
    with st.container(height=480, border=True, autoscroll=True, key="sim_phone"):
        if not shown:
            st.caption(_("Nothing yet: send a message as this customer."))
        for m in shown:
            mine = m["direction"] == "in"
            with st.chat_message("user" if mine else "assistant",
                                 avatar=":material/person:" if mine else ":material/support_agent:"):
                tick = "" if mine else f" · {ticks(m['status'])}"
                side = _("You") if mine else _("The team")
                st.caption(f"{side} · {when(m['sent_at'], full=True)}{tick}")
                if m["filename"]:
                    st.caption(f":material/attach_file: {plain(m['filename'])}")
                text = m["body"] if m["kind"] in ("text", "template", "unsupported") else m["caption"]
                if text:
                    st.text(text)  # customer and agent text: never markup


with right:
    customers_phone(channel, customer_id)
