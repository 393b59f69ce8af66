"""U2: admins create, edit and deactivate agents and set their roles."""
from __future__ import annotations

import streamlit as st

from maxchat_data import accounts, team
from maxchat_data.i18n import N_, _
from server import runtime
from ui import admin
from ui.access import require
from ui.team import badge

me = require("admin")
store = runtime.store()
ROLE_ORDER = ("agent", "supervisor", "admin", "analyst")
ROLE_NAMES = {"agent": N_("Agent"), "supervisor": N_("Supervisor"), "admin": N_("Admin"), "analyst": N_("Analyst")}
ROLE_HELP = N_("Agent: answers chats. Supervisor: also watches queues and reports. Admin: also manages the team."
               " Analyst: reads chats, the Monitor and Reports, runs read-only SQL; acts on no chat.")


def role_name(role: str) -> str:
    return _(ROLE_NAMES.get(role, role))


def _create() -> None:
    s = st.session_state
    username = s.get("agent_new_username", "")
    if admin.run(accounts.create_agent, store, username, s.get("agent_new_display", ""),
                 s.get("agent_new_password", ""), s.get("agent_new_role", "agent"), actor_id=me["id"],
                 success=_("Agent {username} created.").format(username=username.strip().lower())):
        for key in ("agent_new_username", "agent_new_display", "agent_new_password"):
            s[key] = ""
        s["agent_new_role"] = "agent"


def _save(agent: dict) -> None:
    s, i = st.session_state, agent["id"]
    active = s.get(f"agent_active_{i}", True)
    message = _("{username} saved.").format(username=agent["username"]) if active else _(
        "{username} is deactivated: they can no longer log in and their chats went back to the queue.").format(
        username=agent["username"])
    if admin.run(accounts.update_agent, store, i, me["id"], display_name=s.get(f"agent_display_{i}", ""),
                 role=s.get(f"agent_role_{i}", agent["role"]), active=active,
                 password=s.get(f"agent_password_{i}") or None, success=message):
        s[f"agent_password_{i}"] = ""


st.title(_("Agents"))
admin.show_flash()

with st.form("agent_add", border=True):
    st.subheader(_("Add agent"))
    left, right = st.columns(2)
    left.text_input(_("Username"), key="agent_new_username", max_chars=32,
                    help=_("2-32 lower-case letters, digits, '.', '_' or '-'; used to log in."))
    right.text_input(_("Display name"), key="agent_new_display", max_chars=60)
    left.selectbox(_("Role"), ROLE_ORDER, key="agent_new_role", format_func=role_name, help=_(ROLE_HELP))
    right.text_input(_("Password"), key="agent_new_password", type="password", help=_("At least 8 characters."),
                     autocomplete="new-password")
    st.form_submit_button(_("Add agent"), type="primary", icon=":material/person_add:", on_click=_create)

agents = accounts.list_agents(store)
st.subheader(_("Team"))
st.dataframe(
    [{_("Name"): a["display_name"], _("Username"): a["username"], _("Role"): role_name(a["role"]),
      _("Status"): _("Active") if a["active"] else _("Deactivated"),
      _("Availability"): "—" if a["role"] == "analyst" else badge(a["availability"]),
      _("Open chats"): a["open_chats"]} for a in team.team_overview(store)],
    hide_index=True, width="stretch")


def _save_assignment() -> None:
    s = st.session_state
    admin.run(team.save_settings, store, me["id"], auto_assign=s["team_auto"], capacity=s["team_capacity"],
              offline_returns=s["team_returns"], agents_see_own=s["team_own"], success=_("Assignment settings saved."))


current = team.settings(store)
with st.form("team_settings"):
    st.subheader(_("Assignment"))
    left, right = st.columns(2)
    left.selectbox(_("Auto-assignment"), list(team.METHODS), index=list(team.METHODS).index(current.auto_assign),
                   format_func=lambda m: _(team.METHODS[m]), key="team_auto",
                   help=_("New and reopened chats, and chats back in the queue, go to an Online agent under"
                          " capacity. Round robin: by turns. Least busy: fewest open chats first."))
    right.number_input(_("Capacity (open chats per agent)"), min_value=1, max_value=team.CAPACITY_LIMIT,
                       value=current.capacity, step=1, key="team_capacity")
    left.toggle(_("Agents going Offline hand their open chats back to the queue"), value=current.offline_returns,
                key="team_returns")
    right.toggle(_("Agents see only My Chat and Unassigned"), value=current.agents_see_own, key="team_own",
                 help=_("Supervisors and admins always see All."))
    st.form_submit_button(_("Save assignment settings"), type="primary", on_click=_save_assignment)

st.subheader(_("Edit agent"))
by_id = {a["id"]: a for a in agents}
chosen = st.selectbox(_("Agent"), list(by_id), key="agent_edit_id",
                      format_func=lambda i: f"{by_id[i]['display_name']} ({by_id[i]['username']})"
                      + ("" if by_id[i]["active"] else " - " + _("deactivated")))
if chosen is not None:
    agent = by_id[chosen]
    with st.form(f"agent_edit_{chosen}"):
        left, right = st.columns(2)
        left.text_input(_("Display name"), value=agent["display_name"], key=f"agent_display_{chosen}", max_chars=60)
        right.selectbox(_("Role"), ROLE_ORDER, index=ROLE_ORDER.index(agent["role"]), key=f"agent_role_{chosen}",
                        format_func=role_name, help=_(ROLE_HELP))
        left.text_input(_("New password"), key=f"agent_password_{chosen}", type="password",
                        help=_("Leave empty to keep the current password."), autocomplete="new-password")
        right.toggle(_("Active (can log in)"), value=bool(agent["active"]), key=f"agent_active_{chosen}",
                     help=_("A deactivated agent cannot log in and is not offered for assignment."))
        if chosen == me["id"]:
            st.caption(_("This is you: deactivating yourself or giving up admin logs you out of this page."))
        st.form_submit_button(_("Save changes"), type="primary", on_click=_save, args=(agent,))
