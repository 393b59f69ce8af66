"""U1-U3: agents, roles and passwords (argon2 hashes only)."""
from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import i18n
from .common import acting, record
from .errors import NotFound, ValidationError
from .i18n import N_, _, later
from .login.sessions import end_all_sessions
from .roles import RANK, ROLES, can, can_act, has_role  # noqa: F401 - the role rules, re-exported
from .store import Store, Writer, utcnow

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[a-z0-9_.\-]{2,32}$")
# Verified against when the username is unknown, so both cases take as long:
# a hash made once at argon2-cffi's default cost (the cost is read from the
# hash), written here because making it at import cost every process 0.7 s.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$B1HN7KoP4JoioV65rTZCsQ$zfykIyUmGQINO8SbrzxCAS58BFdJp2rA4Q2kNJKbhZA"


def _check(username: str, display_name: str, role: str) -> None:
    if not _USERNAME.match(username):
        raise ValidationError(_("A username is 2-32 lower-case letters, digits, '.', '_' or '-'."))
    _check_details(display_name, role)


def _check_details(display_name: str, role: str) -> None:
    if not display_name or len(display_name) > 60:
        raise ValidationError(_("A display name needs 1 to 60 characters."))
    if role not in ROLES:
        raise ValidationError(_("Role must be one of {roles}.").format(roles=", ".join(ROLES)))


def password_hash(password: str) -> str:
    """A password of at least 8 characters, hashed (argon2)."""
    if len(password or "") < 8:
        raise ValidationError(_("A password needs at least 8 characters."))
    return _hasher.hash(password)


MANAGE_REFUSAL = N_("Only an admin can manage accounts.")


def new_account(username: str, display_name: str, password: str, role: str) -> dict:
    """A checked account, its password hashed: what ``insert_agent`` stores."""
    username, display_name = (username or "").strip().lower(), (display_name or "").strip()
    _check(username, display_name, role)
    return {"username": username, "display_name": display_name, "password_hash": password_hash(password),
            "role": role}


def create_agent(store: Store, username: str, display_name: str, password: str, role: str = "agent", *,
                 actor_id: int) -> int:
    """U2: an admin adds an account."""
    return store.write(_create, actor_id, new_account(username, display_name, password, role))


def _create(w: Writer, actor_id, account):
    acting(w, actor_id, "admin", MANAGE_REFUSAL)
    return insert_agent(w, account, actor_id)


def insert_agent(w: Writer, account: dict, actor_id: int | None, active: bool = True) -> int:
    """Writer side of adding an account (an admin's, or system-side: ``system.create_account``)."""
    if w.one("SELECT 1 FROM agents WHERE username = ?", [account["username"]]):
        raise ValidationError(_("The username {username!r} is taken.").format(username=account["username"]))
    agent_id = w.ids.next("agents")
    w.forget_agents()
    now = utcnow()
    w.execute("INSERT INTO agents (id, username, display_name, password_hash, role, active, created_at)"
              " VALUES (?, ?, ?, ?, ?, ?, ?)", [agent_id, account["username"], account["display_name"],
                                                account["password_hash"], account["role"], active, now])
    record(w, None, actor_id, "agent_created", f"{agent_id} {account['username']} {account['role']}", now)
    return agent_id


def update_agent(store: Store, agent_id: int, actor_id: int, *, display_name: str, role: str,
                 active: bool, password: str | None = None) -> None:
    """U2: an admin edits an account, changes its role, (de)activates it or
    sets a new password. Nobody else: an agent cannot promote themselves."""
    display_name = (display_name or "").strip()
    _check_details(display_name, role)
    new_hash = password_hash(password) if password else None
    store.write(_update, agent_id, actor_id, display_name, role, bool(active), new_hash)


def _update(w: Writer, agent_id, actor_id, display_name, role, active, new_hash):
    acting(w, actor_id, "admin", MANAGE_REFUSAL)
    if not w.one("SELECT 1 FROM agents WHERE id = ?", [agent_id]):
        raise NotFound(_("Agent {id} does not exist.").format(id=agent_id))
    save_agent(w, agent_id, actor_id, display_name, role, active, new_hash)


def save_agent(w: Writer, agent_id, actor_id, display_name, role, active, new_hash) -> None:
    """Writer side of changing an account (an admin's, or system-side: ``system.set_password``)."""
    if not active or role != "admin":
        others = w.one("SELECT count(*) FROM agents WHERE role = 'admin' AND active AND id <> ?", [agent_id])[0]
        if others == 0:
            raise ValidationError(_("Keep at least one active admin."))
    w.forget_agents()
    w.execute("UPDATE agents SET display_name = ?, role = ?, active = ?,"
              " password_hash = coalesce(?, password_hash) WHERE id = ?",
              [display_name, role, active, new_hash, agent_id])
    if new_hash or not active:
        end_all_sessions(w, agent_id)  # a stolen cookie or an old tab must not outlive this
    if not active:
        # A deactivated agent's open chats go back to the queue.
        chats = w.all("SELECT id FROM chats WHERE assignee_id = ?", [agent_id])
        w.execute("UPDATE chats SET assignee_id = NULL, status = 'Open' WHERE assignee_id = ?", [agent_id])
        w.chats_changed(chat_id for (chat_id,) in chats)
        for (chat_id,) in chats:
            record(w, chat_id, actor_id, "assign", f"{agent_id} -> None (agent deactivated)", utcnow(),
                   later._("{name} was deactivated: chat back to the queue", name=display_name))
    record(w, None, actor_id, "agent_updated", f"{agent_id} role={role} active={active}", utcnow())


def verify_password(store: Store, username: str, password: str) -> dict | None:
    """The agent (with ``active``) when the password matches, else None. An
    unknown username costs the same hashing time as a known one."""
    found = store.dicts("SELECT id, username, display_name, role, active, notify, language, password_hash FROM agents"
                        " WHERE username = ?", [(username or "").strip().lower()])
    stored = found[0]["password_hash"] if found else _DUMMY_HASH
    try:
        _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if not found:
        return None
    agent = found[0]
    agent.pop("password_hash")
    return agent


def authenticate(store: Store, username: str, password: str) -> dict | None:
    """The agent when the password matches and the agent is active, else None."""
    agent = verify_password(store, username, password)
    return agent if agent is not None and agent["active"] else None


def get_agent(store: Store, agent_id: int) -> dict | None:
    found = store.dicts("SELECT id, username, display_name, role, active, notify, language FROM agents WHERE id = ?",
                        [agent_id])
    return found[0] if found else None


def list_agents(store: Store, *, active_only: bool = False) -> list[dict]:
    where = "WHERE active" if active_only else ""
    return store.dicts(f"SELECT id, username, display_name, role, active, notify, language FROM agents {where}"
                       " ORDER BY display_name")


def assignable_agents(store: Store) -> list[dict]:
    """A1: the agents a chat can be given to: active, and in a role that acts on chats."""
    return [a for a in list_agents(store, active_only=True) if can_act(a["role"])]


def set_language(store: Store, agent_id: int, code: str) -> None:
    """The person's own language for the app's words (any role)."""
    chosen = i18n.clean(code)
    if chosen is None:
        raise ValidationError(i18n._("Unknown language \"{code}\": choose one of {choices}.").format(
            code=code, choices=", ".join(i18n.LANGUAGES)))
    store.write(_set_language, agent_id, chosen)


def _set_language(w: Writer, agent_id, code):
    acting(w, agent_id, "read_chats")  # their own setting: any role
    w.execute("UPDATE agents SET language = ? WHERE id = ?", [code, agent_id])


def bootstrap_admin(store: Store, username: str | None, password: str | None) -> int | None:
    """U1, system-side (start-up): on an empty database, the first admin
    comes from the environment."""
    if not username or not password or store.one("SELECT count(*) FROM agents")[0]:
        return None
    return store.write(_create_first, new_account(username, "Administrator", password, "admin"))


def _create_first(w: Writer, account) -> int | None:
    # Replicas starting together on an empty database: one makes the admin.
    w.serialize("first admin")
    if w.one("SELECT count(*) FROM agents")[0]:
        return None
    return insert_agent(w, account, None)
