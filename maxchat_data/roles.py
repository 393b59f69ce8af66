"""Who may do what (SPEC §0, U4). Agents, supervisors and admins form one
chain (admin ⊇ supervisor ⊇ agent) for acting on chats; an analyst stands
beside it: reads chats, the Monitor and Reports, runs read-only SQL, and
acts on no chat. So roles are checked by what they allow, not by rank."""
from __future__ import annotations

ROLES = ("admin", "supervisor", "agent", "analyst")
RANK = {"agent": 0, "supervisor": 1, "admin": 2}  # the chain of roles that act on chats

# capability -> roles that have it
CAN = {
    "read_chats": frozenset(ROLES),
    "act": frozenset({"agent", "supervisor", "admin"}),       # reply, assign, resolve, label, notes ...
    "reports": frozenset({"analyst", "supervisor", "admin"}),  # Monitor and Reports
    "sql": frozenset({"analyst", "admin"}),                    # the SQL console
    "broadcast": frozenset({"supervisor", "admin"}),           # one template to many contacts (N2)
    "admin": frozenset({"admin"}),
}
ANALYST_REFUSAL = "An analyst can read chats but not act on them."


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
