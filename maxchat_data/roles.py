"""Who may do what (SPEC §0, U4). Agents, supervisors and admins form one
chain (admin ⊇ supervisor ⊇ agent) for acting on chats; an analyst stands
beside it: reads chats, the Monitor and Reports, runs read-only SQL, and
acts on no chat. So roles are checked by what they allow, not by rank.

How the domain API enforces it (U4): every public function of
``maxchat_data`` that changes state is one of two kinds.

- **A person's action** takes that person's agent id as a required argument
  (``actor_id``; ``agent_id`` where the person changes their own presence,
  availability or bell), never None. Its write looks the person up first
  (``common.acting``, or ``common.person`` before a call that writes nothing)
  and refuses an unknown id, a deactivated account, or a role without the
  capability below with ``NotAllowed`` and a sentence saying why, before
  anything is written.
- **System-side** is what no person does: channel webhooks and Telegram
  polling, the background workers, start-up, the command line (run by
  whoever runs the server) and the demo seeder. Such a function takes no
  actor at all, so no call can pass for a person's. ``maxchat_data.system``
  holds the ones that mirror a person's action (make an account, set a
  password, add a label or a template); app_pages/ and ui/ never import it.

Functions that take a ``Writer`` run inside another function's write, which
did the check. tests/test_roles.py finds every state-changing public
function and proves each person's action refuses whom it must."""
from __future__ import annotations

from .errors import NotAllowed
from .i18n import N_, _

ROLES = ("admin", "supervisor", "agent", "analyst")
RANK = {"agent": 0, "supervisor": 1, "admin": 2}  # the chain of roles that act on chats

# capability -> roles that have it
CAN = {
    "read_chats": frozenset(ROLES),                              # also: one's own bell, logging out
    "act": frozenset({"agent", "supervisor", "admin"}),         # reply, assign, resolve, label, notes ...
    "reports": frozenset({"analyst", "supervisor", "admin"}),    # Monitor and Reports
    "sql": frozenset({"analyst", "admin"}),                      # the SQL console
    "broadcast": frozenset({"supervisor", "admin"}),             # one template to many contacts (N2)
    "change_labels": frozenset({"supervisor", "admin"}),         # rename, recolour or delete a label (everyone's)
    "admin": frozenset({"admin"}),  # accounts, templates, team settings, shared quick replies, channels, simulator
}
ANALYST_REFUSAL = N_("An analyst can read chats but not act on them.")
# What a refused role is told, unless the action says more precisely. Callers
# mark their own refusal with N_(); check() translates it when it refuses.
REFUSAL = {
    "act": ANALYST_REFUSAL,
    "broadcast": N_("Only supervisors and admins can send or change broadcasts."),
    "change_labels": N_("Only a supervisor or an admin can change a label for everyone."),
    "admin": N_("Only an admin can do this."),
}
IS_ROLE = {  # the first sentence of a refusal: who the person is
    "admin": N_("{name} is an admin."),
    "supervisor": N_("{name} is a supervisor."),
    "agent": N_("{name} is an agent."),
    "analyst": N_("{name} is an analyst."),
}


def has_role(role: str, needed: str) -> bool:
    """``role`` is ``needed`` or above it in the chain; an analyst is only an analyst."""
    if role == needed:
        return True
    return role in RANK and needed in RANK and RANK[role] >= RANK[needed]


def can(role: str | None, what: str) -> bool:
    return role in CAN[what]


def can_act(role: str | None) -> bool:
    return can(role, "act")


def can_see_reports(role: str | None) -> bool:
    return can(role, "reports")


def can_use_sql(role: str | None) -> bool:
    return can(role, "sql")


def check(agent: dict | None, actor_id, what: str, refusal: str | None = None, *,
          deactivated_too: bool = False) -> dict:
    """``agent`` (the row of ``actor_id``, None when there is none) when it
    may do ``what``; else NotAllowed saying why. ``deactivated_too`` lets a
    deactivated account through (logging out must always work)."""
    if agent is None:
        raise NotAllowed(_("Nobody is logged in: log in first.") if actor_id is None else
                         _("There is no agent {id}: only a known account can do this.").format(id=actor_id))
    name = agent["display_name"]
    if not agent["active"] and not deactivated_too:
        raise NotAllowed(_("{name} is deactivated.").format(name=name))
    if agent["role"] not in CAN[what]:
        raise NotAllowed(_(IS_ROLE[agent["role"]]).format(name=name) + " " + _(refusal or REFUSAL[what]))
    return agent
