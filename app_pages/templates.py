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
from maxchat_data.i18n import N_, _, later, ngettext, shown
from ui import admin
from ui.chat_text import plain
from ui.access import require

me = require("admin")
store = runtime.store()
demo = runtime.demo_mode()
STATUS_ICON = {"Pending": "⏳", "Accepted": "✅", "Rejected": "⛔"}
CATEGORY_NAMES = {"MARKETING": N_("Marketing"), "UTILITY": N_("Utility"), "AUTHENTICATION": N_("Authentication")}


def category_name(category: str) -> str:
    return _(CATEGORY_NAMES.get(category, category.title()))


def _create() -> None:
    s = st.session_state
    channel = s.get("template_channel", "whatsapp")
    status = _("Pending until WhatsApp's review accepts it") if channel == "whatsapp" else _("Accepted")
    if admin.run(templates.create_template, store, me["id"], channel=channel, name=s.get("template_name", ""),
                 language=s.get("template_language", "id"), category=s.get("template_category", "UTILITY"),
                 body=s.get("template_body", ""), initiate=s.get("template_initiate", False),
                 success=_("Template {name} created: {status}.").format(
                     name=(s.get("template_name") or "").strip().lower(), status=status)):
        s["template_name"] = s["template_body"] = ""
        s["template_initiate"] = False


def _set_status(tpl: dict) -> None:
    status = st.session_state.get(_status_key(tpl), tpl["status"])
    admin.run(templates.set_status, store, tpl["id"], status, later._("set by hand (demo)") if demo else later._("set by hand"),
              actor_id=me["id"], success=_("{name} is now {status}.").format(name=tpl["name"], status=_(status)))


def _status_key(tpl: dict) -> str:
    # Keyed by the stored status too: once it changes (here, by WhatsApp's
    # review or another admin) the control starts again from the new one.
    return f"template_status_{tpl['id']}_{tpl['status']}"


def _sync() -> None:
    """N3: the WhatsApp account's templates, all pages, into the list."""
    try:
        result = template_sync.sync_now(store, me["id"], clients()["whatsapp"])
    except Exception as exc:  # noqa: BLE001 - a provider's refusal or a network error: its sentence
        st.session_state[admin.FLASH_KEY] = ("error", _("Sync with WhatsApp failed: {reason}").format(
            reason=shown(retry.describe(exc))))
    else:
        st.session_state[admin.FLASH_KEY] = ("success", _("Synced with WhatsApp: {result}.").format(result=result))


def _status_text(t: dict) -> str:
    if t.get("deleted_at") is not None:
        return "🗑 " + _("Deleted on WhatsApp")
    return STATUS_ICON[t["status"]] + " " + _(t["status"])


def _set_initiate(tpl: dict) -> None:
    on = bool(st.session_state.get(f"template_initiate_{tpl['id']}"))
    admin.run(templates.set_initiate, store, tpl["id"], on, actor_id=me["id"],
              success=(_("{name} is now an initiate message.") if on
                       else _("{name} is no longer an initiate message.")).format(name=tpl["name"]))


st.title(_("Templates"))
st.caption(_("Template messages open a conversation when the 24-hour window is closed (Send Template in the Chat)."))
st.button(_("Sync with WhatsApp"), key="template_sync", icon=":material/sync:", on_click=_sync,
          help=_("Bring every template of the WhatsApp Business Account in: status, body, rejection reason; "
                 "templates deleted there are shown as deleted"))
admin.show_flash()

with st.form("template_add"):
    st.subheader(_("Create template"))
    a, b, c = st.columns(3)
    a.selectbox(_("Channel"), CHANNELS, key="template_channel", format_func=CHANNEL_LABELS.get)
    b.selectbox(_("Language"), list(templates.LANGUAGES), key="template_language",
                format_func=templates.language_name)
    c.selectbox(_("Category"), templates.CATEGORIES, key="template_category", index=1, format_func=category_name)
    st.text_input(_("Name"), key="template_name", max_chars=512, placeholder="order_follow_up",
                  help=_("Lower-case letters, digits and underscores (WhatsApp's rule)."))
    st.text_area(_("Body"), key="template_body", max_chars=1024, height=120,
                 placeholder="Halo {{1}}, pesanan {{2}} sudah kami kirim.",
                 help=_("Variables are numbered {first}, {second}, … without gaps; the agent fills them in when "
                        "sending.").format(first="{{1}}", second="{{2}}"))
    st.toggle(_("Set as Initiate Message"), key="template_initiate",
              help=_("Offered in Send Template when the 24-hour window is closed."))
    st.caption(_("WhatsApp templates stay Pending until WhatsApp's review accepts or rejects them; "
                 "Messenger and Telegram templates are Accepted on save."))
    st.form_submit_button(_("Create template"), type="primary", icon=":material/add:", on_click=_create)

rows = templates.list_templates(store)
st.subheader(_("Template list"))
if not rows:
    st.caption(_("No templates yet."))
else:
    st.dataframe(
        [{_("Channel"): CHANNEL_LABELS[t["channel"]], _("Name"): t["name"],
          _("Language"): templates.language_name(t["language"]),
          _("Category"): category_name(t["category"]), _("Status"): _status_text(t),
          _("Initiate"): bool(t["initiate"]), _("Variables"): t["variables"], _("Body"): t["body"]} for t in rows],
        hide_index=True, width="stretch")

    st.subheader(_("Status and settings"))
    by_id = {t["id"]: t for t in rows}
    chosen = st.selectbox(_("Template"), list(by_id), key="template_pick",
                          format_func=lambda i: f"{by_id[i]['name']} ({templates.language_name(by_id[i]['language'])}"
                                                f", {CHANNEL_LABELS[by_id[i]['channel']]})")
    tpl = by_id[chosen]
    with st.container(border=True):
        st.text(tpl["body"])
        # The status is read fresh on every run (a picker label could show the old one).
        st.markdown("**" + _("Status") + ":** " + _status_text(tpl))
        st.caption(ngettext("{count} variable", "{count} variables", tpl["variables"]).format(count=tpl["variables"])
                   + (f" · {plain(shown(tpl['status_reason']))}" if tpl.get("status_reason") else ""))
        st.toggle(_("Set as Initiate Message"), value=bool(tpl["initiate"]), key=f"template_initiate_{tpl['id']}",
                  on_change=_set_initiate, args=(tpl,))
        if templates.status_set_by_hand(tpl["channel"], demo):
            left, right = st.columns([3, 1], vertical_alignment="bottom")
            left.segmented_control(_("Status"), templates.STATUSES, default=tpl["status"], key=_status_key(tpl),
                                   format_func=_)
            right.button(_("Save status"), key=f"template_status_save_{tpl['id']}", on_click=_set_status, args=(tpl,))
        else:
            st.info(_("This status comes from WhatsApp's template review and is synchronised automatically."),
                    icon=":material/sync:")
