"""B2/B4: the labels agents attach to contacts. Create with `Label Name` and
a colour from `Add Color`; delete with the trash can, after confirmation."""
from __future__ import annotations

import streamlit as st

from maxchat_data import labels
from server import runtime
from ui import admin
from ui.chat_text import plain
from ui.access import require

me = require("admin")
store = runtime.store()
CONFIRM = "label_confirm_delete"


def _add() -> None:
    s = st.session_state
    name = " ".join((s.get("label_name") or "").split())
    color = labels.PALETTE.get(s.get("label_color") or "", "")
    if admin.run(labels.create_label, store, name, color, me["id"], success=f"Label {name} added."):
        s["label_name"] = ""


def _ask(label_id: int) -> None:
    st.session_state[CONFIRM] = label_id


def _delete(label: dict) -> None:
    st.session_state.pop(CONFIRM, None)
    admin.run(labels.delete_label, store, label["id"], me["id"],
              success=f"Label {label['name']} deleted (and removed from every contact).")


def _cancel() -> None:
    st.session_state.pop(CONFIRM, None)


st.title("Labels")
admin.show_flash()

with st.form("label_add"):
    st.text_input("Label Name", key="label_name", max_chars=40, placeholder="e.g. VIP, Complaint, Follow up")
    st.html(" ".join(f'{admin.swatch(hex_)} <small>{name}</small>&nbsp;' for name, hex_ in labels.PALETTE.items()))
    st.pills("Add Color", list(labels.PALETTE), default="Blue", key="label_color")
    st.form_submit_button("Add", type="primary", icon=":material/add:", on_click=_add)

st.subheader("Current Label")
current = labels.list_labels(store)
if not current:
    st.caption("No labels yet.")
for label in current:
    dot, name, trash = st.columns([0.05, 0.85, 0.1], vertical_alignment="center")
    with dot:
        st.html(admin.swatch(label["color"], 16))
    name.text(label["name"])
    trash.button("", icon=":material/delete:", key=f"label_delete_{label['id']}", help="Delete label",
                 on_click=_ask, args=(label["id"],))
    if st.session_state.get(CONFIRM) == label["id"]:
        with st.container(border=True):
            st.warning(f"Delete the label {plain(label['name'])}? It is removed from every contact.")
            yes, no = st.columns(2)
            yes.button("Delete", type="primary", key="label_confirm_yes", on_click=_delete, args=(label,))
            no.button("Cancel", key="label_confirm_no", on_click=_cancel)
