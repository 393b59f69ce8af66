"""N2: Broadcasts (supervisors and admins): one initiate template to many
WhatsApp contacts, chosen by label, the whole channel or a CSV file; a
preview, then `Send`; each broadcast's progress live, per recipient."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from maxchat_data import broadcasts, labels
from maxchat_data.broadcasts import Audience
from maxchat_data.errors import MaxchatError
from maxchat_data.new_chat import CANNOT_WRITE_FIRST
from server import runtime
from ui import admin
from ui.access import require
from ui.chat_text import plain, when
from ui.insight import downloads
from ui.template_picker import pick_initiate_template

me = require("broadcast")
store = runtime.store()
ss = st.session_state
BY_LABEL, BY_CHANNEL, BY_CSV = "Contacts with a label", "Every WhatsApp contact", "Numbers from a CSV file"
STATUS_ICON = {"queued": "⏳ queued", "sent": "✓ sent", "delivered": "✓✓ delivered", "read": "✓✓ read",
               "failed": "⚠ failed"}
CONFIRM_CANCEL = "bc_confirm_cancel"  # the broadcast whose `Cancel broadcast` awaits a yes

st.title("Broadcasts")
st.caption("One initiate template to many WhatsApp contacts. " + CANNOT_WRITE_FIRST)
admin.show_flash()


def _new_broadcast() -> None:
    tpl = pick_initiate_template(store, "whatsapp", "bc_tpl")
    if tpl is None:
        return
    tid = tpl["id"]
    st.caption(plain(tpl["body"]))
    how = st.radio("Send to", (BY_LABEL, BY_CHANNEL, BY_CSV), key="bc_how", horizontal=True)
    audience, values = None, []
    if how == BY_CSV:
        columns = ",".join(broadcasts.csv_columns(tpl["variables"]))
        st.caption(f"The first line names the columns: {columns} (name may be left out). Numbers with their "
                   "country code, or Indonesian 08…; UTF-8, at most 1 MB.")
        st.caption("How the columns fill the template:")
        st.dataframe(broadcasts.csv_mapping(tpl["variables"]), hide_index=True, key=f"bc_map_{tid}")
        upload = st.file_uploader("CSV file", type=["csv"], key=f"bc_csv_{tid}")
        if upload is not None:
            try:
                found = broadcasts.read_csv(upload.getvalue(), tpl["variables"])
            except MaxchatError as exc:
                st.error(plain(str(exc)), icon=":material/error:")
                return
            if found.errors:
                st.warning(f"{len(found.errors)} row(s) cannot be sent and are left out:", icon=":material/warning:")
                st.dataframe([{"Line": line, "Why": reason} for line, reason in found.errors[:500]],
                             hide_index=True, height=min(300, 38 + 35 * len(found.errors)))
            audience = Audience("csv", rows=tuple(found.rows))
    else:
        if how == BY_LABEL:
            all_labels = labels.list_labels(store)
            names = {lb["id"]: lb["name"] for lb in all_labels}
            chosen = st.multiselect("Labels", list(names), key="bc_labels", format_func=names.get)
            audience = Audience("label", label_ids=tuple(chosen)) if chosen else None
        else:
            audience = Audience("channel")
        st.caption(f"Type a value for each variable; {broadcasts.NAME_TOKEN} becomes each contact's name.")
        for n in range(1, tpl["variables"] + 1):
            key = f"bc_val_{tid}_{n}"
            ss.setdefault(key, broadcasts.NAME_TOKEN if n == 1 else "")
            values.append(st.text_input(f"{{{{{n}}}}}", key=key))
    rate = st.number_input("Messages per second", min_value=0.1, max_value=broadcasts.MAX_RATE,
                           value=broadcasts.default_rate(), step=1.0, key="bc_rate",
                           help="WhatsApp allows 80 per second per number by default.")
    if audience is None:
        return
    try:
        plan = broadcasts.preview(store, me["id"], tid, audience, values)
    except MaxchatError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return
    st.markdown(f"**{plan['recipients']:,} recipient(s)**"
                + (f" · {plan['skipped_blocked']} blocked contact(s) skipped" if plan["skipped_blocked"] else ""))
    _first_messages(plan)
    if st.button(f"Send to {plan['recipients']:,} recipient(s)", key="bc_send", type="primary",
                 icon=":material/campaign:"):
        try:
            bid = broadcasts.create(store, me["id"], tid, audience, values, rate)
        except MaxchatError as exc:
            st.error(plain(str(exc)), icon=":material/error:")
            return
        ss["bc_pick"] = bid
        ss["_admin_flash"] = ("success", f"Broadcast #{bid} queued: it sends in the background.")
        st.rerun()


def _first_messages(plan: dict) -> None:
    """The first recipients' values, then their messages exactly as each
    customer reads them (values from a CSV are data: shown as text)."""
    first = plan["first"]
    st.caption(f"The first {len(first)} of them, with the value each variable gets:")
    st.dataframe(pd.DataFrame([{"Line": r["line"], "To": r["to"], "Name": r["name"],
                                **dict(zip(plan["variables"], r["values"]))} for r in first]),
                 hide_index=True, key="bc_first_values")
    st.caption("Their messages, as each customer will read them:")
    for n, r in enumerate(first):
        with st.container(border=True, key=f"bc_first_message_{n}"):
            st.caption(plain(f"To {r['to']} · {r['name']}"))
            st.text(r["message"])


with st.expander("New broadcast", expanded=not broadcasts.list_broadcasts(store, 1), icon=":material/add:"):
    _new_broadcast()


def _act(fn, bid: int, done: str) -> None:
    admin.run(fn, store, bid, me["id"], success=done)


def _ask_cancel(bid: int) -> None:
    ss[CONFIRM_CANCEL] = bid


def _cancel(bid: int) -> None:
    ss.pop(CONFIRM_CANCEL, None)
    _act(broadcasts.cancel, bid, "Broadcast cancelled: the rest is not sent.")


@st.fragment(run_every=1.0)
def live(bid: int) -> None:
    p = broadcasts.progress(store, bid)
    c = p["counts"]
    st.subheader(f"#{bid} · {p['template_name']} · {p['state_label']}")
    st.caption(plain(f"{p['audience']} · by {p['created_by_name']} · {when(p['created_at'], full=True)}"
                   f" · {p['rate']:g} per second"))
    st.progress(p["handled"] / p["total"] if p["total"] else 1.0,
                text=f"{p['handled']:,} of {p['total']:,} handled")
    cols = st.columns(6)
    for col, (label, value) in zip(cols, (("Queued", c["queued"]), ("Sent", c["sent"]), ("Delivered", c["delivered"]),
                                          ("Read", c["read"]), ("Failed", c["failed"]),
                                          ("Blocked, skipped", p["skipped_blocked"]))):
        col.metric(label, f"{value:,}")
    if not p["done"]:
        with st.container(horizontal=True):
            if p["state"] == "running":
                st.button("Pause", key=f"bc_pause_{bid}", icon=":material/pause:",
                          on_click=_act, args=(broadcasts.pause, bid, "Broadcast paused."))
            else:
                st.button("Resume", key=f"bc_resume_{bid}", icon=":material/play_arrow:",
                          on_click=_act, args=(broadcasts.resume, bid, "Broadcast resumed."))
            st.button("Cancel broadcast", key=f"bc_cancel_{bid}", icon=":material/cancel:",
                      on_click=_ask_cancel, args=(bid,))
        if ss.get(CONFIRM_CANCEL) == bid:
            with st.container(border=True, key=f"bc_cancel_confirm_{bid}"):
                st.warning(f"Cancel broadcast #{bid}? The {c['queued']:,} recipient(s) not yet sent will not get "
                           "it. This cannot be undone.", icon=":material/warning:")
                with st.container(horizontal=True):
                    st.button("Yes, cancel broadcast", key=f"bc_cancel_yes_{bid}", type="primary",
                              on_click=_cancel, args=(bid,))
                    st.button("Don't cancel", key=f"bc_cancel_no_{bid}", on_click=ss.pop,
                              args=(CONFIRM_CANCEL, None))
    elif ss.get(CONFIRM_CANCEL) == bid:
        ss.pop(CONFIRM_CANCEL)  # it finished meanwhile: nothing left to cancel
    show = st.segmented_control("Recipients", ("all", "queued", "sent", "delivered", "read", "failed"),
                                default="all", key=f"bc_filter_{bid}")
    rows = broadcasts.recipients(store, bid, None if show in (None, "all") else show, limit=200)
    st.dataframe(_table(rows), hide_index=True, height=300)
    if len(rows) == 200:
        st.caption("The first 200 shown; the CSV below holds every recipient.")


def _table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"Line": r["line"], "Number": r["number"], "Name": r["name"],
                          "Status": STATUS_ICON[r["status"]], "Reason": r["error"] or ""} for r in rows],
                        columns=["Line", "Number", "Name", "Status", "Reason"])


past = broadcasts.list_broadcasts(store)
if past:
    st.subheader("Sent broadcasts")
    by_bid = {b["id"]: b for b in past}
    if ss.get("bc_pick") not in by_bid:
        ss["bc_pick"] = past[0]["id"]
    pick = st.selectbox("Broadcast", list(by_bid), key="bc_pick",
                        format_func=lambda i: f"#{i} · {by_bid[i]['template_name']} · {by_bid[i]['total']:,} "
                                              f"recipients · {when(by_bid[i]['created_at'], full=True)}")
    with st.container(border=True):
        live(pick)
        # Made when clicked: every recipient, each cell safe to open in a spreadsheet.
        downloads(lambda: _table(broadcasts.recipients(store, pick, limit=max(1, by_bid[pick]["total"]))),
                  f"broadcast_{pick}")
