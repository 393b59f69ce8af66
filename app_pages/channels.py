"""H1, N3: each channel: connected or not and why, the exact webhook URL to
register, the last inbound message and the last delivery error, its
settings (secrets masked), and `Send test`: one harmless authenticated call.
Connecting is configuration (environment or .streamlit/secrets.toml, see
the README); this page shows what the running server has."""
from __future__ import annotations

import streamlit as st

from maxchat_data import channel_health, config, i18n, retry
from maxchat_data.i18n import N_, _
from server import runtime
from ui.access import require
from ui.chat_text import plain

me = require("admin")
store = runtime.store()
SANDBOX = N_("Sandbox (demo)")
ss = st.session_state


def _test(channel: str) -> None:
    try:
        ss[f"channel_test_{channel}"] = ("success", channel_health.send_test(store, channel, me["id"]))
    except Exception as exc:  # noqa: BLE001 - any failure is the answer to show
        ss[f"channel_test_{channel}"] = ("error", i18n.shown(retry.describe(exc)))


tz = config.team_timezone()
st.title(_("Channels"))
headers = st.context.headers
for item in channel_health.overview(store, headers.get("Host"), headers.get("X-Forwarded-Proto"),
                                   sandbox=runtime.demo_mode()):
    channel = item["channel"]
    with st.container(border=True, key=f"channel_{channel}"):
        name, state = st.columns([3, 1], vertical_alignment="center")
        name.subheader(item["label"])
        if item["connected"]:
            state.badge(_("Connected"), icon=":material/check_circle:", color="green")
        elif item["sandbox"]:
            state.badge(_(SANDBOX), icon=":material/science:", color="violet")
        else:
            state.badge(_("Not connected"), icon=":material/cancel:", color="gray")
        st.caption(plain(item["detail"]))
        st.markdown("**" + _("Webhook URL") + "**")
        st.code(item["webhook_url"], language=None)
        st.caption(plain(item["webhook_note"]))
        last_in, last_err = st.columns(2)
        last_in.markdown("**" + _("Last inbound message") + "**")
        last_in.caption(i18n.when(item["last_inbound_at"], tz) if item["last_inbound_at"] else _("None yet"))
        last_err.markdown("**" + _("Last delivery error") + "**")
        last_err.caption(plain(_("{error} (message of {time})").format(
            error=item["last_error"], time=i18n.when(item["last_error_at"], tz))) if item["last_error"] else _("None"))
        with st.expander(_("Settings")):
            st.dataframe([{_("Setting"): k, _("Value"): v} for k, v in item["settings"]], hide_index=True)
        st.button(_("Send test"), key=f"channel_test_btn_{channel}", icon=":material/network_check:",
                  on_click=_test, args=(channel,), disabled=not item["connected"],
                  help=_("One harmless call with the channel's token: nothing reaches a customer")
                  if item["connected"] else _("Set the channel's settings first: there is no token to test yet"))
        answer = ss.get(f"channel_test_{channel}")
        if answer:
            (st.success if answer[0] == "success" else st.error)(plain(answer[1]))
st.caption(_("Set the channel's settings (tokens, secrets) in the environment or .streamlit/secrets.toml and "
             "restart the server to connect it. MAXCHAT_PUBLIC_URL sets the address shown in the webhook URLs."))
