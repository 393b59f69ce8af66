"""System-side counterparts of a few people's actions: what the command line
(run by whoever runs the server), start-up and the demo seeder do with no
person behind them. Nothing here takes an actor, and app_pages/ and ui/ never
import this module (roles explains the rule; tests/test_roles.py holds it)."""
from __future__ import annotations

from . import accounts, labels, quick_replies, templates
from .common import row
from .errors import NotFound
from .i18n import _
from .store import Store, Writer


def create_account(store: Store, username: str, display_name: str, password: str, role: str = "agent", *,
                   active: bool = True) -> int:
    """``create-admin`` on the command line, the demo's logins."""
    return store.write(accounts.insert_agent, accounts.new_account(username, display_name, password, role), None,
                       active)


def set_password(store: Store, username: str, password: str) -> dict:
    """``set-password`` on the command line: the agent's new password (their
    sessions end). Returns the agent."""
    return store.write(_set_password, (username or "").strip().lower(), accounts.password_hash(password))


def _set_password(w: Writer, username, new_hash) -> dict:
    agent = row(w, "SELECT id, username, display_name, role, active FROM agents WHERE username = ?", [username])
    if agent is None:
        raise NotFound(_("There is no agent {username!r}.").format(username=username))
    accounts.save_agent(w, agent["id"], None, agent["display_name"], agent["role"], agent["active"], new_hash)
    return agent


def create_label(store: Store, name: str, color: str) -> int:
    """The demo's labels."""
    return store.write(labels.insert_label, labels.clean(name, color), color, None)


def create_quick_reply(store: Store, shortcut: str, body: str) -> int:
    """The demo's shared quick replies."""
    return store.write(quick_replies.insert, quick_replies.clean_shortcut(shortcut), quick_replies.clean_body(body),
                       None, None)


def create_template(store: Store, *, channel: str, name: str, language: str, category: str, body: str,
                    initiate: bool = False) -> int:
    """The demo's templates (WhatsApp's go for review like any)."""
    template = templates.new_template(channel=channel, name=name, language=language, category=category, body=body,
                                      initiate=initiate)
    return store.write(templates.insert_template, template, None)


def review_template(store: Store, template_id: int, status: str, reason: str | None = None) -> None:
    """A review's verdict, as WhatsApp's review webhook brings it (the demo's,
    whose sandbox reviews nothing)."""
    store.write(templates.record_review, template_id, templates.check_status(status), reason)
