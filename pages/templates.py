"""M1/M2: template messages. Admins create them (channel, name, language,
category, body with {{1}}-style variables, `Set as Initiate Message`); the
list shows each one's review status."""
from __future__ import annotations

import streamlit as st

from maxchat_data import template_sync, templates
from maxchat_data.channels import clients
from server import runtime
from maxchat_data.common import CHANNEL_LABELS, CHANNELS
from maxchat_data import retry
from ui import admin
from ui.chat_text import plain
from ui.access import require

me = require("admin")
store = runtime.store()
demo = runtime.demo_mode()
STATUS_ICON = {"Pending": "⏳", "Accepted": "✅", "Rejected": "⛔"}


def _create() -> None:
    s = st.session_state
    channel = s.get("template_channel", "whatsapp")
    status = "Pending until WhatsApp's review accepts it" if channel == "whatsapp" else "Accepted"
    if admin.run(templates.create_template, store, me["id"], channel=channel, name=s.get("template_name", ""),
                 language=s.get("template_language", "id"), category=s.get("template_category", "UTILITY"),
                 body=s.get("template_body", ""), initiate=s.get("template_initiate", False),
                 success=f"Template {(s.get('template_name') or '').strip().lower()} created: {status}."):
        s["template_name"] = s["template_body"] = ""
        s["template_initiate"] = False


def _set_status(tpl: dict) -> None:
    status = st.session_state.get(_status_key(tpl), tpl["status"])
    admin.run(templates.set_status, store, tpl["id"], status, f"set by hand{' (demo)' if demo else ''}",
              actor_id=me["id"], success=f"{tpl['name']} is now {status}.")


def _status_key(tpl: dict) -> str:
    # Keyed by the stored status too: once it changes (here, by WhatsApp's
    # review or another admin) the control starts again from the new one.
    return f"template_status_{tpl['id']}_{tpl['status']}"


def _sync() -> None:
    """N3: the WhatsApp account's templates, all pages, into the list."""
    try:
        result = template_sync.sync_now(store, me["id"], clients()["whatsapp"])
    except Exception as exc:  # noqa: BLE001 - a provider's refusal or a network error: its sentence
        st.session_state[admin.FLASH_KEY] = ("error", f"Sync with WhatsApp failed: {retry.describe(exc)}")
    else:
        st.session_state[admin.FLASH_KEY] = ("success", f"Synced with WhatsApp: {result}.")


def _status_text(t: dict) -> str:
    if t.get("deleted_at") is not None:
        return "🗑 Deleted on WhatsApp"
    return f"{STATUS_ICON[t['status']]} {t['status']}"


def _set_initiate(tpl: dict) -> None:
    on = bool(st.session_state.get(f"template_initiate_{tpl['id']}"))
    admin.run(templates.set_initiate, store, tpl["id"], on, actor_id=me["id"],
              success=f"{tpl['name']} is {'now' if on else 'no longer'} an initiate message.")


st.title("Templates")
st.caption("Template messages open a conversation when the 24-hour window is closed (Send Template in the Chat).")
st.button("Sync with WhatsApp", key="template_sync", icon=":material/sync:", on_click=_sync,
          help="Bring every template of the WhatsApp Business Account in: status, body, rejection reason; "
               "templates deleted there are shown as deleted")
admin.show_flash()

with st.form("template_add"):
    st.subheader("Create template")
    a, b, c = st.columns(3)
    a.selectbox("Channel", CHANNELS, key="template_channel", format_func=CHANNEL_LABELS.get)
    b.selectbox("Language", list(templates.LANGUAGES), key="template_language", format_func=templates.LANGUAGES.get)
    c.selectbox("Category", templates.CATEGORIES, key="template_category", index=1, format_func=str.title)
    st.text_input("Name", key="template_name", max_chars=512, placeholder="order_follow_up",
                  help="Lower-case letters, digits and underscores (WhatsApp's rule).")
    st.text_area("Body", key="template_body", max_chars=1024, height=120,
                 placeholder="Halo {{1}}, pesanan {{2}} sudah kami kirim.",
                 help="Variables are numbered {{1}}, {{2}}, … without gaps; the agent fills them in when sending.")
    st.toggle("Set as Initiate Message", key="template_initiate",
              help="Offered in Send Template when the 24-hour window is closed.")
    st.caption("WhatsApp templates stay Pending until WhatsApp's review accepts or rejects them; "
               "Messenger and Telegram templates are Accepted on save.")
    st.form_submit_button("Create template", type="primary", icon=":material/add:", on_click=_create)

rows = templates.list_templates(store)
st.subheader("Template list")
if not rows:
    st.caption("No templates yet.")
else:
    st.dataframe(
        [{"Channel": CHANNEL_LABELS[t["channel"]], "Name": t["name"], "Language": t["language"],
          "Category": t["category"].title(), "Status": _status_text(t),
          "Initiate": bool(t["initiate"]), "Variables": t["variables"], "Body": t["body"]} for t in rows],
        hide_index=True, width="stretch")

    st.subheader("Status and settings")
    by_id = {t["id"]: t for t in rows}
    chosen = st.selectbox("Template", list(by_id), key="template_pick",
                          format_func=lambda i: f"{by_id[i]['name']} ({by_id[i]['language']}, "
                                                f"{CHANNEL_LABELS[by_id[i]['channel']]})")
    tpl = by_id[chosen]
    with st.container(border=True):
        st.text(tpl["body"])
        # The status is read fresh on every run (a picker label could show the old one).
        st.markdown(f"**Status:** {_status_text(tpl)}")
        st.caption(f"{tpl['variables']} variable(s)"
                   + (f" · {plain(tpl['status_reason'])}" if tpl.get("status_reason") else ""))
        st.toggle("Set as Initiate Message", value=bool(tpl["initiate"]), key=f"template_initiate_{tpl['id']}",
                  on_change=_set_initiate, args=(tpl,))
        if templates.status_set_by_hand(tpl["channel"], demo):
            left, right = st.columns([3, 1], vertical_alignment="bottom")
            left.segmented_control("Status", templates.STATUSES, default=tpl["status"], key=_status_key(tpl))
            right.button("Save status", key=f"template_status_save_{tpl['id']}", on_click=_set_status, args=(tpl,))
        else:
            st.info("This status comes from WhatsApp's template review and is synchronised automatically.",
                    icon=":material/sync:")
