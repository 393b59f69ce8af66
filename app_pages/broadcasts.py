"""N2: Broadcasts (supervisors and admins): one initiate template to many
WhatsApp contacts, chosen by label, the whole channel or a CSV file; a
preview, then `Send`; each broadcast's progress live, per recipient."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from maxchat_data import broadcasts, i18n, labels
from maxchat_data.broadcasts import Audience
from maxchat_data.errors import MaxchatError
from maxchat_data.i18n import N_, _
from maxchat_data.new_chat import CANNOT_WRITE_FIRST
from server import runtime
from ui import admin
from ui.access import require
from ui.chat_text import plain, when
from ui.insight import downloads, headed
from ui.template_picker import pick_initiate_template

me = require("broadcast")
store = runtime.store()
ss = st.session_state
STATUS_ICON = {"queued": "⏳", "sent": "✓", "delivered": "✓✓", "read": "✓✓", "failed": "⚠"}
# The recipients' table (and its CSV): language-free column ids -> headers.
HEADERS = {"line": N_("Line"), "number": N_("Number"), "name": N_("Name"), "status": N_("Status"),
           "reason": N_("Reason")}
CONFIRM_CANCEL = "bc_confirm_cancel"  # the broadcast whose `Cancel broadcast` awaits a yes

st.title(_("Broadcasts"))
st.caption(_("One initiate template to many WhatsApp contacts.") + " " + _(CANNOT_WRITE_FIRST))
admin.show_flash()


def _new_broadcast() -> None:
    tpl = pick_initiate_template(store, "whatsapp", "bc_tpl")
    if tpl is None:
        return
    tid = tpl["id"]
    st.caption(plain(tpl["body"]))
    how = st.radio(_("Send to"), list(broadcasts.AUDIENCES), key="bc_how", horizontal=True,
                   format_func=lambda kind: _(broadcasts.AUDIENCES[kind]))
    audience, values = None, []
    if how == "csv":
        columns = ",".join(broadcasts.csv_columns(tpl["variables"]))
        st.caption(_("The first line names the columns: {columns} (name may be left out). Numbers with their "
                     "country code, or Indonesian 08…; UTF-8, at most 1 MB.").format(columns=columns))
        st.caption(_("How the columns fill the template:"))
        st.dataframe(headed(pd.DataFrame(broadcasts.csv_mapping(tpl["variables"])),
                            {"Column": N_("Column"), "Becomes": N_("Becomes")}),
                     hide_index=True, key=f"bc_map_{tid}")
        upload = st.file_uploader(_("CSV file"), type=["csv"], key=f"bc_csv_{tid}")
        if upload is not None:
            try:
                found = broadcasts.read_csv(upload.getvalue(), tpl["variables"])
            except MaxchatError as exc:
                st.error(plain(str(exc)), icon=":material/error:")
                return
            if found.errors:
                st.warning(_("{count} row(s) cannot be sent and are left out:")
                           .format(count=i18n.number(len(found.errors))), icon=":material/warning:")
                st.dataframe([{_("Line"): line, _("Why"): reason} for line, reason in found.errors[:500]],
                             hide_index=True, height=min(300, 38 + 35 * len(found.errors)))
            audience = Audience("csv", rows=tuple(found.rows))
    else:
        if how == "label":
            all_labels = labels.list_labels(store)
            names = {lb["id"]: lb["name"] for lb in all_labels}
            chosen = st.multiselect(_("Labels"), list(names), key="bc_labels", format_func=names.get,
                                    placeholder=_("Choose labels") if names else _("No labels yet"))
            audience = Audience("label", label_ids=tuple(chosen)) if chosen else None
        else:
            audience = Audience("channel")
        st.caption(_("Type a value for each variable; {token} becomes each contact's name.")
                   .format(token=broadcasts.NAME_TOKEN))
        for n in range(1, tpl["variables"] + 1):
            key = f"bc_val_{tid}_{n}"
            ss.setdefault(key, broadcasts.NAME_TOKEN if n == 1 else "")
            values.append(st.text_input(f"{{{{{n}}}}}", key=key))
    rate = st.number_input(_("Messages per second"), min_value=0.1, max_value=broadcasts.MAX_RATE,
                           value=broadcasts.default_rate(), step=1.0, key="bc_rate",
                           help=_("WhatsApp allows 80 per second per number by default."))
    if audience is None:
        return
    try:
        plan = broadcasts.preview(store, me["id"], tid, audience, values)
    except MaxchatError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return
    count = i18n.number(plan["recipients"])
    st.markdown("**" + _("{count} recipient(s)").format(count=count) + "**"
                + (" · " + _("{count} blocked contact(s) skipped").format(count=i18n.number(plan["skipped_blocked"]))
                   if plan["skipped_blocked"] else ""))
    _first_messages(plan)
    if st.button(_("Send to {count} recipient(s)").format(count=count), key="bc_send", type="primary",
                 icon=":material/campaign:"):
        try:
            bid = broadcasts.create(store, me["id"], tid, audience, values, rate)
        except MaxchatError as exc:
            st.error(plain(str(exc)), icon=":material/error:")
            return
        ss["bc_pick"] = bid
        ss["_admin_flash"] = ("success", _("Broadcast #{id} queued: it sends in the background.").format(id=bid))
        st.rerun()


def _first_messages(plan: dict) -> None:
    """The first recipients' values, then their messages exactly as each
    customer reads them (values from a CSV are data: shown as text)."""
    first = plan["first"]
    st.caption(_("The first {count} of them, with the value each variable gets:").format(count=len(first)))
    st.dataframe(pd.DataFrame([{_("Line"): r["line"], _("To"): r["to"], _("Name"): r["name"],
                                **dict(zip(plan["variables"], r["values"]))} for r in first]),
                 hide_index=True, key="bc_first_values")
    st.caption(_("Their messages, as each customer will read them:"))
    for n, r in enumerate(first):
        with st.container(border=True, key=f"bc_first_message_{n}"):
            st.caption(plain(_("To {number} · {name}").format(number=r["to"], name=r["name"])))
            st.text(r["message"])


with st.expander(_("New broadcast"), expanded=not broadcasts.list_broadcasts(store, 1), icon=":material/add:"):
    _new_broadcast()


def _act(fn, bid: int, done: str) -> None:
    admin.run(fn, store, bid, me["id"], success=done)


def _ask_cancel(bid: int) -> None:
    ss[CONFIRM_CANCEL] = bid


def _cancel(bid: int) -> None:
    ss.pop(CONFIRM_CANCEL, None)
    _act(broadcasts.cancel, bid, _("Broadcast cancelled: the rest is not sent."))


@st.fragment(run_every=1.0)
def live(bid: int) -> None:
    p = broadcasts.progress(store, bid)
    c = p["counts"]
    st.subheader(f"#{bid} · {p['template_name']} · {p['state_label']}")
    st.caption(plain(_("{audience} · by {agent} · {when} · {rate} per second").format(
        audience=p["audience"], agent=p["created_by_name"], when=when(p["created_at"], full=True),
        rate=i18n.number(p["rate"]))))
    st.progress(p["handled"] / p["total"] if p["total"] else 1.0,
                text=_("{handled} of {total} handled").format(handled=i18n.number(p["handled"]),
                                                              total=i18n.number(p["total"])))
    cols = st.columns(6)
    shown = [(_(broadcasts.RECIPIENT_STATUSES[s]), c[s]) for s in broadcasts.RECIPIENT_STATUSES]
    for col, (label, value) in zip(cols, shown + [(_("Blocked, skipped"), p["skipped_blocked"])]):
        col.metric(label, i18n.number(value))
    if not p["done"]:
        with st.container(horizontal=True):
            if p["state"] == "running":
                st.button(_("Pause"), key=f"bc_pause_{bid}", icon=":material/pause:",
                          on_click=_act, args=(broadcasts.pause, bid, _("Broadcast paused.")))
            else:
                st.button(_("Resume"), key=f"bc_resume_{bid}", icon=":material/play_arrow:",
                          on_click=_act, args=(broadcasts.resume, bid, _("Broadcast resumed.")))
            st.button(_("Cancel broadcast"), key=f"bc_cancel_{bid}", icon=":material/cancel:",
                      on_click=_ask_cancel, args=(bid,))
        if ss.get(CONFIRM_CANCEL) == bid:
            with st.container(border=True, key=f"bc_cancel_confirm_{bid}"):
                st.warning(_("Cancel broadcast #{id}? The {count} recipient(s) not yet sent will not get it. "
                             "This cannot be undone.").format(id=bid, count=i18n.number(c["queued"])),
                           icon=":material/warning:")
                with st.container(horizontal=True):
                    st.button(_("Yes, cancel broadcast"), key=f"bc_cancel_yes_{bid}", type="primary",
                              on_click=_cancel, args=(bid,))
                    st.button(_("Don't cancel"), key=f"bc_cancel_no_{bid}", on_click=ss.pop,
                              args=(CONFIRM_CANCEL, None))
    elif ss.get(CONFIRM_CANCEL) == bid:
        ss.pop(CONFIRM_CANCEL)  # it finished meanwhile: nothing left to cancel
    show = st.segmented_control(_("Recipients"), ["all", *broadcasts.RECIPIENT_STATUSES], default="all",
                                key=f"bc_filter_{bid}", format_func=_status_word)
    rows = broadcasts.recipients(store, bid, None if show in (None, "all") else show, limit=200)
    st.dataframe(_table(rows), hide_index=True, height=300)
    if len(rows) == 200:
        st.caption(_("The first 200 shown; the CSV below holds every recipient."))


def _status_word(status: str) -> str:
    return _("All") if status == "all" else _(broadcasts.RECIPIENT_STATUSES[status])


def _table(rows: list[dict]) -> pd.DataFrame:
    return headed(pd.DataFrame([{"line": r["line"], "number": r["number"], "name": r["name"],
                                 "status": f"{STATUS_ICON[r['status']]} {_status_word(r['status'])}",
                                 "reason": r["error"] or ""} for r in rows], columns=list(HEADERS)), HEADERS)


past = broadcasts.list_broadcasts(store)
if past:
    st.subheader(_("Sent broadcasts"))
    by_bid = {b["id"]: b for b in past}
    if ss.get("bc_pick") not in by_bid:
        ss["bc_pick"] = past[0]["id"]
    pick = st.selectbox(_("Broadcast"), list(by_bid), key="bc_pick",
                        format_func=lambda i: _("#{id} · {template} · {count} recipients · {when}").format(
                            id=i, template=by_bid[i]["template_name"], count=i18n.number(by_bid[i]["total"]),
                            when=when(by_bid[i]["created_at"], full=True)))
    with st.container(border=True):
        live(pick)
        # Made when clicked: every recipient, each cell safe to open in a spreadsheet.
        downloads(lambda: _table(broadcasts.recipients(store, pick, limit=max(1, by_bid[pick]["total"]))),
                  f"broadcast_{pick}")
