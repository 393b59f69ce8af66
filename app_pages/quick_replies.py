"""Q1: quick replies. Everyone who answers chats keeps personal ones here;
admins manage the shared ones (others read them)."""
from __future__ import annotations

import streamlit as st

from maxchat_data import quick_replies as qr, roles
from maxchat_data.i18n import N_, _
from server import runtime
from ui import admin
from ui.access import require
from ui.chat_text import plain

me = require("act")
store = runtime.store()
is_admin = roles.can(me["role"], "admin")
HELP = N_("Type / and the shortcut in a chat's message box, or use the ⚡ button beside it.")
VARS = N_("Variables: {variables_contact} (the customer) and {variables_agent} (you).")


def variables() -> str:
    return _(VARS).format(variables_contact="{{contact.name}}", variables_agent="{{agent.name}}")


def _add(scope: str) -> None:
    s = st.session_state
    if admin.run(qr.create, store, me["id"], s.get(f"qr_new_short_{scope}", ""), s.get(f"qr_new_body_{scope}", ""),
                 shared=scope == "shared", success=_("Quick reply saved.")):
        s[f"qr_new_short_{scope}"] = s[f"qr_new_body_{scope}"] = ""


def _save(reply_id: int) -> None:
    s = st.session_state
    admin.run(qr.update, store, me["id"], reply_id, s.get(f"qr_short_{reply_id}", ""), s.get(f"qr_body_{reply_id}", ""),
              success=_("Quick reply saved."))


def _delete(reply: dict) -> None:
    admin.run(qr.delete, store, me["id"], reply["id"], success=_("/{shortcut} deleted.").format(shortcut=reply["shortcut"]))


def section(title: str, scope: str, replies: list[dict], editable: bool) -> None:
    st.subheader(title)
    if editable:
        with st.form(f"qr_add_{scope}", border=True):
            st.text_input(_("Shortcut"), key=f"qr_new_short_{scope}", placeholder=_("/thanks"), max_chars=33)
            st.text_area(_("Text"), key=f"qr_new_body_{scope}", height=90, help=variables(),
                         placeholder="Terima kasih {{contact.name}}, salam dari {{agent.name}}.")
            st.form_submit_button(_("Add quick reply"), type="primary", icon=":material/add:", on_click=_add, args=(scope,))
    if not replies:
        st.caption(_("None yet."))
    for r in replies:
        with st.container(border=True, key=f"qr_row_{r['id']}"):
            if not editable:
                st.markdown(f"**/{plain(r['shortcut'])}**")
                st.text(r["body"])
                continue
            with st.form(f"qr_edit_{r['id']}", border=False):
                st.text_input(_("Shortcut"), value=f"/{r['shortcut']}", key=f"qr_short_{r['id']}", max_chars=33)
                st.text_area(_("Text"), value=r["body"], key=f"qr_body_{r['id']}", height=80)
                with st.container(horizontal=True):
                    st.form_submit_button(_("Save"), icon=":material/save:", on_click=_save, args=(r["id"],))
                    st.form_submit_button(_("Delete"), icon=":material/delete:", on_click=_delete, args=(r,))


st.title(_("Quick replies"))
st.caption(_(HELP) + " " + variables())
admin.show_flash()
mine, shared = st.tabs([_("My quick replies"), _("Shared")])
with mine:
    section(_("My quick replies"), "mine", qr.personal(store, me["id"]), True)
with shared:
    if not is_admin:
        st.caption(_("Shared quick replies are managed by admins."))
    section(_("Shared quick replies"), "shared", qr.shared(store), is_admin)
