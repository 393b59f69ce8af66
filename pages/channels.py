"""H1: which channels are connected. Connecting is configuration
(environment or .streamlit/secrets.toml, see the README); this page shows
what the running server has."""
from __future__ import annotations

import streamlit as st

from maxchat_data.channels import channel_status
from ui.access import require
from ui.chat_text import plain

require("admin")

st.title("Channels")
for item in channel_status():
    with st.container(border=True):
        name, state = st.columns([3, 1], vertical_alignment="center")
        name.subheader(item["label"])
        if item["connected"]:
            state.badge("Connected", icon=":material/check_circle:", color="green")
        else:
            state.badge("Not connected", icon=":material/cancel:", color="gray")
        st.caption(plain(item["detail"]))
st.caption("Set the channel's settings (tokens, secrets) in the environment or .streamlit/secrets.toml and "
           "restart the server to connect it.")
