"""B1-B4: the label pop-up behind the `[+]` beside the customer's name:
`Current Label` checkboxes, create (`Label Name`, `Add Color`, `Add`),
trash-can delete with confirmation (supervisors and admins only)."""
from __future__ import annotations

import streamlit as st

from maxchat_data import labels
from maxchat_data.errors import MaxchatError
from maxchat_data.i18n import _

from .chat_feedback import flash
from .css import colour_pills
from .chat_text import label_swatch, plain

K_DELETE = "chat_label_delete"


def label_popover(store, agent: dict, chat: dict, labels_all: list[dict], where: str) -> None:
    # Drawn only while open: a closed pop-up's contents cost every page run
    # (two of them, header and profile, were a third of the page's time).
    pop = st.popover("", icon=":material/add:", key=f"chat_labels_pop_{where}", help=_("Labels"), on_change="rerun")
    if pop.open:
        with pop:
            label_manager(store, agent, chat, labels_all, where)


def label_manager(store, agent: dict, chat: dict, labels_all: list[dict], where: str) -> None:
    # Create first, then the list in a box of its own height: `Add` stays in
    # view however many labels there are.
    name_key, color_key = f"chat_newlabel_name_{where}", f"chat_newlabel_color_{where}"
    st.text_input(_("Label Name"), key=name_key, max_chars=40)
    colour_pills(_("Add Color"), color_key)
    st.button(_("Add"), key=f"chat_newlabel_add_{where}", type="primary", on_click=_create,
              args=(store, agent["id"], chat["id"], name_key, color_key))
    err = st.session_state.pop(f"chat_label_error_{where}", None)
    if err:
        st.error(plain(err))
    st.markdown("**" + _("Current Label") + "**")
    current = set(chat["label_ids"])
    may_delete = labels.can_delete_labels(agent["role"])
    if not labels_all:
        st.caption(_("No labels yet: create one above."))
    with st.container(height=min(260, 12 + 44 * max(1, len(labels_all))), border=False, key=f"chat_lbl_list_{where}"):
        for label in labels_all:
            _label_row(store, agent, chat, label, label["id"] in current, may_delete, where)


def _label_row(store, agent: dict, chat: dict, label: dict, on: bool, may_delete: bool, where: str) -> None:
    lid = label["id"]
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.html(label_swatch(label["color"]), width="content")
        # The store is the truth: set before drawing, so a change made in the
        # other place or by another agent shows, and a refused one springs back.
        key = f"chat_lbl_{where}_{chat['id']}_{lid}"
        st.session_state[key] = on
        st.checkbox(plain(label["name"]), key=key, on_change=_toggle, args=(store, agent["id"], chat["id"], lid, key))
        if may_delete:
            st.space("stretch")
            st.button("", icon=":material/delete:", key=f"chat_lbl_del_{where}_{lid}", type="tertiary",
                      help=_("Delete label {name}").format(name=plain(label["name"])), on_click=_ask_delete,
                      args=(lid,))
    if may_delete and st.session_state.get(K_DELETE) == lid:
        st.warning(_("Delete label {name} from the list and from every contact?").format(name=plain(label["name"])))
        with st.container(horizontal=True, gap="small"):
            st.button(_("OK"), key=f"chat_lbl_delok_{where}_{lid}", type="primary", on_click=_delete,
                      args=(store, agent["id"], lid))
            st.button(_("Cancel"), key=f"chat_lbl_delno_{where}_{lid}", on_click=_ask_delete, args=(None,))


def _toggle(store, actor_id: int, chat_id: int, label_id: int, key: str) -> None:
    try:
        labels.set_label(store, chat_id, label_id, bool(st.session_state[key]), actor_id)
    except MaxchatError as exc:
        flash("error", str(exc))


def _ask_delete(label_id: int | None) -> None:
    st.session_state[K_DELETE] = label_id


def _delete(store, actor_id: int, label_id: int) -> None:
    st.session_state[K_DELETE] = None
    try:
        labels.delete_label(store, label_id, actor_id)
    except MaxchatError as exc:
        flash("error", str(exc))


def _create(store, actor_id: int, chat_id: int, name_key: str, color_key: str) -> None:
    ss = st.session_state
    where = name_key.rsplit("_", 1)[-1]
    color = ss.get(color_key)
    if color not in labels.PALETTE:
        ss[f"chat_label_error_{where}"] = _("Pick a colour from Add Color.")
        return
    try:
        labels.create_label(store, ss.get(name_key) or "", color, actor_id)
    except MaxchatError as exc:
        ss[f"chat_label_error_{where}"] = str(exc)
    else:
        ss[name_key] = ""
        ss[color_key] = None
