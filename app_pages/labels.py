"""B2/B4: the labels agents attach to contacts. Create with `Label Name` and
a colour from `Add Color`; each label shows how many chats carry it; rename
or recolour it; delete with the trash can, after a confirmation that says
how many chats lose it."""
from __future__ import annotations

import streamlit as st

from maxchat_data import i18n, labels
from maxchat_data.i18n import _, ngettext
from server import runtime
from ui import admin
from ui.chat_text import plain
from ui.css import colour_pills
from ui.access import require

me = require("admin")
store = runtime.store()
CONFIRM = "label_confirm_delete"


def _add() -> None:
    s = st.session_state
    name = " ".join((s.get("label_name") or "").split())
    color = s.get("label_color") or ""
    if admin.run(labels.create_label, store, name, color, me["id"], success=_("Label {name} added.").format(name=name)):
        s["label_name"] = ""


def _ask(label_id: int) -> None:
    st.session_state[CONFIRM] = label_id


def _delete(label: dict) -> None:
    st.session_state.pop(CONFIRM, None)
    admin.run(labels.delete_label, store, label["id"], me["id"],
              success=_("Label {name} deleted (and removed from every contact).").format(name=label["name"]))


def _update(label: dict) -> None:
    s, lid = st.session_state, label["id"]
    name = " ".join((s.get(f"label_rename_{lid}") or "").split())
    color = s.get(f"label_recolor_{lid}") or ""
    admin.run(labels.update_label, store, lid, name, color, me["id"], success=_("Label {name} saved.").format(name=name))


def _cancel() -> None:
    st.session_state.pop(CONFIRM, None)


st.title(_("Labels"))
admin.show_flash()

with st.form("label_add"):
    st.text_input(_("Label Name"), key="label_name", max_chars=40, placeholder=_("e.g. VIP, Complaint, Follow up"))
    colour_pills(_("Add Color"), "label_color", default="Blue")
    st.form_submit_button(_("Add"), type="primary", icon=":material/add:", on_click=_add)

st.subheader(_("Current Label"))
current = labels.labels_in_use(store)
if not current:
    st.caption(_("No labels yet."))
for label in current:
    lid = label["id"]
    with st.container(horizontal=True, vertical_alignment="center", key=f"label_row_{lid}"):
        st.html(admin.swatch(label["color"], 16), width="content")
        st.text(label["name"])
        st.caption(ngettext("{count} chat", "{count} chats", label["chats"]).format(count=i18n.number(label["chats"])))
        st.space("stretch")
        with st.popover("", icon=":material/edit:", key=f"label_edit_pop_{lid}", help=_("Rename or recolour")):
            with st.form(f"label_edit_{lid}", border=False):
                st.text_input(_("Label Name"), value=label["name"], key=f"label_rename_{lid}", max_chars=40)
                colour_pills(_("Color"), f"label_recolor_{lid}",
                             default=label["color"] if label["color"] in labels.PALETTE else None)
                st.form_submit_button(_("Save"), type="primary", on_click=_update, args=(label,))
        st.button("", icon=":material/delete:", key=f"label_delete_{lid}", help=_("Delete label"),
                  on_click=_ask, args=(lid,))
    if st.session_state.get(CONFIRM) == lid:
        with st.container(border=True):
            n = label["chats"]
            st.warning(ngettext("Delete the label {name}? {count} chat will lose it; it is removed from every contact.",
                                "Delete the label {name}? {count} chats will lose it; it is removed from every contact.",
                                n).format(name=plain(label["name"]), count=i18n.number(n)))
            yes, no = st.columns(2)
            yes.button(_("Delete"), type="primary", key="label_confirm_yes", on_click=_delete, args=(label,))
            no.button(_("Cancel"), key="label_confirm_no", on_click=_cancel)
