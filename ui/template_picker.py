"""Choosing an initiate template (`Send Template`, `New chat`, broadcasts):
only Accepted templates marked `Set as Initiate Message` for the channel."""
from __future__ import annotations

import streamlit as st

from maxchat_data import templates
from maxchat_data.common import CHANNEL_LABELS
from maxchat_data.i18n import _


def pick_initiate_template(store, channel: str, key: str) -> dict | None:
    """The chosen template, or None after saying why there is none to choose."""
    offered = templates.initiate_templates(store, channel)
    if not offered:
        st.info(_("No {channel} template can start a conversation yet: an admin must add one that is Accepted and "
                  "set as initiate message.").format(channel=CHANNEL_LABELS[channel]))
        return None
    by_id = {t["id"]: t for t in offered}
    chosen = st.selectbox(_("Template"), list(by_id), key=key,
                          format_func=lambda i: f"{by_id[i]['name']} ({templates.language_name(by_id[i]['language'])})")
    return by_id[chosen]
