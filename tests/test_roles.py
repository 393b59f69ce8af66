"""SPEC U4: roles are enforced in the domain API, not only by hiding pages.

Every public function of ``maxchat_data`` that changes state is found by
reading the code (it reaches ``store.write``), and must be listed here:
either as a person's action in ACTIONS, with the capability (roles.CAN) it
needs, or as system-side in SYSTEM, with who calls it (roles explains the
rule). A new state-changing function that is in neither list fails
``test_every_state_changing_function_is_listed``.

Each person's action is then called by every role that may not, by a
deactivated account, an unknown id and None: each call is refused with
NotAllowed, in a sentence that says why, and the database (every table) and
the media folder are exactly as before. Then someone who may makes the same
call, and it goes through."""
from __future__ import annotations

import ast
import importlib
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import customer_writes, made_once
from maxchat_data import (NotAllowed, ValidationError, accounts, actions, broadcasts, channel_health, labels,
                          new_chat, quick_replies, reports, roles, simulator, system, team, template_sync,
                          templates)
from maxchat_data.broadcasts import Audience
from tests.fakes.helpers import PNG

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[1]
UNKNOWN = 987654  # an agent id nobody has

# System-side: what no person does. Each takes no actor (checked below).
SYSTEM = {
    "accounts.bootstrap_admin": "start-up: the first admin from the environment",
    "system.create_account": "the command line (create-admin) and the demo seeder",
    "system.set_password": "the command line (set-password)",
    "system.create_label": "the demo seeder",
    "system.create_template": "the demo seeder",
    "system.create_quick_reply": "the demo seeder",
    "system.review_template": "the demo seeder (a review verdict, as WhatsApp's webhook brings one)",
    "demo.generate": "the demo seeder",
    "demo.seed_if_empty": "start-up in demo mode",
    "demo.seed_reference_data": "the demo seeder",
    "ingest.receive": "channel webhooks, Telegram polling (and the simulator, after its own check)",
    "ingest.receive_async": "channel webhooks",
    "ticks.record_status_async": "channel webhooks: delivery ticks",
    "ingest.queue_parsed": "channel webhooks",
    "ingest.store_parsed": "channel webhooks",
    "fetching.take_media": "the fetcher worker",
    "fetching.media_fetched": "the fetcher worker",
    "fetching.media_failed": "the fetcher worker",
    "fetching.media_later": "the fetcher worker",
    "fetching.take_profiles": "the fetcher worker",
    "fetching.profile_done": "the fetcher worker",
    "fetching.profile_later": "the fetcher worker",
    "template_submission.take_templates": "the fetcher worker: template submission",
    "template_submission.template_submitted": "the fetcher worker: template submission",
    "template_submission.template_later": "the fetcher worker: template submission",
    "outbox.claim": "the delivery lanes",
    "outbox.alive": "the delivery lanes",
    "outbox.sending": "the delivery lanes",
    "outbox.step_done": "the delivery lanes",
    "outbox.mark_sent": "the delivery lanes",
    "outbox.mark_failed": "the delivery lanes",
    "outbox.reschedule": "the delivery lanes",
    "outbox.hold": "the delivery lanes",
    "outbox.settle_orphans": "the delivery lanes, at start and for a dead replica",
    "broadcasts.claim": "the broadcaster (pacing)",
    "broadcasts.hold": "the broadcaster (a provider asked to wait)",
    "team.tick": "the team worker",
    "team.assign_waiting_now": "the team worker",
    "template_sync.sync": "start-up: the template sync with WhatsApp",
    "settings.put": "Telegram polling's offset, the demo flag",
    "settings.keep_first": "start-up: the cookie-signing key",
    "login.sessions.revoke": "logout: the signed session itself says whose it is",
}
# System chores that read paths run too: they only bring derived data up to
# date or make a key once, so calling one does not make a function a writer.
CHORES = {"facts.catch_up", "facts.keep", "login.tokens.secret_key"}


# ---- the people and the data every action is tried on ------------------------------------
PASSWORD_HASH = accounts.password_hash("any-pass-1")  # hashed once: argon2 costs ~0.1-0.6 s a time


def account(store, username: str, role: str, active: bool = True) -> int:
    """system.create_account, with the one hash made above."""
    made = {"username": username, "display_name": username.title(), "password_hash": PASSWORD_HASH, "role": role}
    return store.write(accounts.insert_agent, made, None, active)


def the_actions_settings(patch: pytest.MonkeyPatch) -> None:
    patch.setenv("MAXCHAT_DEMO", "1")  # the simulator's condition: the role is what is refused
    for name in ("WHATSAPP_WABA_ID", "WHATSAPP_TOKEN", "MESSENGER_PAGE_TOKEN", "TELEGRAM_BOT_TOKEN"):
        patch.delenv(name, raising=False)  # Send test and Sync answer without calling anyone


def make_world(store) -> dict:
    """The people, chats, label, templates, broadcast and quick reply every action is tried on: ids by name."""
    w = {role: account(store, name, role)
         for role, name in (("admin", "ani"), ("supervisor", "sari"), ("agent", "budi"), ("analyst", "lina"))}
    w["deactivated"] = account(store, "gone", "admin", active=False)
    w["chat"] = customer_writes(store, "6281", "Halo kak", name="Rina").chat_id
    w["other"] = customer_writes(store, "6282", "Hi", name="Joko").chat_id
    actions.assign(store, w["other"], w["agent"], w["admin"])
    w["failed"] = actions.reply(store, w["other"], w["agent"], "On it")
    store.write(lambda wr: wr.execute("UPDATE messages SET status = 'failed' WHERE id = ?", [w["failed"]]))
    w["vip"] = system.create_label(store, "VIP", "Red")
    w["tg_tpl"] = system.create_template(store, channel="telegram", name="hello", language="en",
                                         category="UTILITY", body="Hi {{1}}", initiate=True)
    w["wa_tpl"] = system.create_template(store, channel="whatsapp", name="promo", language="id",
                                         category="MARKETING", body="Halo {{1}}", initiate=True)
    system.review_template(store, w["wa_tpl"], "Accepted")
    w["broadcast"] = broadcasts.create(store, w["supervisor"], w["wa_tpl"], Audience("channel"), ["Kak"])
    w["shared_reply"] = quick_replies.create(store, w["admin"], "thanks", "Terima kasih!", shared=True)
    return w


@pytest.fixture(scope="module")
def world_made(tmp_path_factory, migrated_duckdb) -> tuple[Path, dict]:
    """The world made once on DuckDB (~30 writes): each test's store is a copy of the file."""
    with pytest.MonkeyPatch.context() as patch:
        the_actions_settings(patch)
        return made_once(tmp_path_factory, migrated_duckdb, "world", make_world)


@pytest.fixture
def store_template(world_made) -> Path:
    return world_made[0]


@pytest.fixture
def world(store, backend, monkeypatch, request):
    the_actions_settings(monkeypatch)
    if backend == "duckdb":
        return dict(request.getfixturevalue("world_made")[1])  # ``store`` is already a copy of it
    return make_world(store)


@dataclass(frozen=True)
class Action:
    name: str                          # module.function, a word after it when one function has several rows
    may: str                           # the capability (roles.CAN) it needs
    call: Callable                     # (store, world, actor id)
    setup: Callable | None = None      # (store, world): the state the action needs, before anything is compared
    then: str | None = None            # the allowed call stops at the next check (a ValidationError saying this)
    deactivated_ok: bool = False       # logging out must work for anyone

    @property
    def function(self) -> str:
        return self.name.split()[0]


ACTIONS = [
    Action("accounts.create_agent", "admin",
           lambda s, w, me: accounts.create_agent(s, "newbie", "New Admin", "newbie-pass-1", "admin", actor_id=me)),
    # Budi, the agent, calling this is the reported self-promotion.
    Action("accounts.update_agent", "admin",
           lambda s, w, me: accounts.update_agent(s, w["agent"], me, display_name="Budi", role="admin", active=True)),
    Action("actions.assign", "act", lambda s, w, me: actions.assign(s, w["chat"], w["agent"], me)),
    Action("actions.resolve", "act", lambda s, w, me: actions.resolve(s, w["chat"], me)),
    Action("actions.archive", "act", lambda s, w, me: actions.archive(s, w["chat"], me)),
    Action("actions.unarchive", "act", lambda s, w, me: actions.unarchive(s, w["chat"], me),
           setup=lambda s, w: actions.archive(s, w["chat"], w["admin"])),
    Action("actions.block", "act", lambda s, w, me: actions.block(s, w["chat"], me)),
    Action("actions.unblock", "act", lambda s, w, me: actions.unblock(s, w["chat"], me),
           setup=lambda s, w: actions.block(s, w["chat"], w["admin"])),
    Action("actions.reply", "act", lambda s, w, me: actions.reply(s, w["chat"], me, "Halo")),
    Action("actions.send_attachment", "act",
           lambda s, w, me: actions.send_attachment(s, w["chat"], me, "a.png", PNG, "the photo")),
    Action("actions.send_template", "act", lambda s, w, me: actions.send_template(s, w["chat"], me, w["wa_tpl"], ["Rina"])),
    Action("actions.retry", "act", lambda s, w, me: actions.retry(s, w["failed"], me)),
    Action("actions.add_note", "act", lambda s, w, me: actions.add_note(s, w["chat"], me, "Prefers English.")),
    Action("actions.update_contact", "act", lambda s, w, me: actions.update_contact(s, w["chat"], me, name="Rina K")),
    Action("actions.mark_read", "act", lambda s, w, me: actions.mark_read(s, w["chat"], me)),
    Action("actions.set_notify", "read_chats", lambda s, w, me: actions.set_notify(s, me, False)),
    Action("accounts.set_language", "read_chats", lambda s, w, me: accounts.set_language(s, me, "en")),
    Action("labels.create_label", "act", lambda s, w, me: labels.create_label(s, "Spam", "Blue", me)),
    Action("labels.set_label", "act", lambda s, w, me: labels.set_label(s, w["chat"], w["vip"], True, me)),
    Action("labels.update_label", "change_labels",
           lambda s, w, me: labels.update_label(s, w["vip"], "VVIP", "Red", me)),
    Action("labels.delete_label", "change_labels", lambda s, w, me: labels.delete_label(s, w["vip"], me)),
    Action("templates.create_template", "admin",
           lambda s, w, me: templates.create_template(s, me, channel="telegram", name="bye", language="en",
                                                      category="UTILITY", body="Bye {{1}}")),
    Action("templates.set_status", "admin", lambda s, w, me: templates.set_status(s, w["tg_tpl"], "Rejected", actor_id=me)),
    Action("templates.set_initiate", "admin",
           lambda s, w, me: templates.set_initiate(s, w["tg_tpl"], False, actor_id=me)),
    Action("template_sync.sync_now", "admin",
           lambda s, w, me: template_sync.sync_now(s, me, channel_health.clients()["whatsapp"]),
           then="Set WHATSAPP_WABA_ID"),
    Action("channel_health.send_test", "admin", lambda s, w, me: channel_health.send_test(s, "telegram", me)),
    Action("quick_replies.create", "act", lambda s, w, me: quick_replies.create(s, me, "mine", "My answer")),
    Action("quick_replies.create shared", "admin",
           lambda s, w, me: quick_replies.create(s, me, "hours", "Open 9-17", shared=True)),
    Action("quick_replies.update", "admin",
           lambda s, w, me: quick_replies.update(s, me, w["shared_reply"], "thanks", "Makasih!")),
    Action("quick_replies.delete", "admin", lambda s, w, me: quick_replies.delete(s, me, w["shared_reply"])),
    Action("broadcasts.create", "broadcast",
           lambda s, w, me: broadcasts.create(s, me, w["wa_tpl"], Audience("channel"), ["Kak"])),
    Action("broadcasts.preview", "broadcast",
           lambda s, w, me: broadcasts.preview(s, me, w["wa_tpl"], Audience("channel"), ["Kak"])),
    Action("broadcasts.pause", "broadcast", lambda s, w, me: broadcasts.pause(s, w["broadcast"], me)),
    Action("broadcasts.resume", "broadcast", lambda s, w, me: broadcasts.resume(s, w["broadcast"], me),
           setup=lambda s, w: broadcasts.pause(s, w["broadcast"], w["admin"])),
    Action("broadcasts.cancel", "broadcast", lambda s, w, me: broadcasts.cancel(s, w["broadcast"], me)),
    Action("new_chat.start", "act", lambda s, w, me: new_chat.start(s, me, w["wa_tpl"], ["Sinta"], number="081234567899")),
    Action("reports.set_business_hours", "admin",
           lambda s, w, me: reports.set_business_hours(s, {"mon": [["09:00", "17:00"]]}, me)),
    Action("simulator.simulate", "admin",
           lambda s, w, me: simulator.simulate(s, "telegram", "Tono", "5550123", "Halo", actor_id=me)),
    Action("team.save_settings", "admin",
           lambda s, w, me: team.save_settings(s, me, auto_assign="round_robin", capacity=5, offline_returns=False,
                                               agents_see_own=False)),
    Action("team.set_availability", "act", lambda s, w, me: team.set_availability(s, me, "Online")),
    Action("team.heartbeat", "act", lambda s, w, me: team.heartbeat(s, me, "tab-1")),
    Action("team.logged_out", "read_chats", lambda s, w, me: team.logged_out(s, me), deactivated_ok=True),
    Action("team.logged_in", "read_chats", lambda s, w, me: team.logged_in(s, me)),
]


# ---- finding the state-changing functions by reading the code ------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(module: str, is_package: bool, node: ast.ImportFrom) -> str | None:
    if not node.level:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def read_code(folder: str) -> tuple[dict, dict, dict]:
    """(function qualname -> (its module, its node), per module: name -> what
    it refers to, qualname -> what it calls) for every module under ``folder``
    (methods as module.Class.method)."""
    functions, namespaces, calls = {}, {}, {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        module, tree = _module_name(path), ast.parse(path.read_text())
        names = namespaces.setdefault(module, {})
        for node in ast.walk(tree):  # imports inside functions count too
            if isinstance(node, ast.ImportFrom):
                source = _imported(module, path.name == "__init__.py", node)
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{source}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name] = alias.name
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions[f"{module}.{node.name}"] = (module, node)
                names.setdefault(node.name, f"{module}.{node.name}")
            elif isinstance(node, ast.ClassDef):
                functions.update({f"{module}.{node.name}.{f.name}": (module, f) for f in node.body
                                  if isinstance(f, ast.FunctionDef)})
    for qualname, (module, fn) in functions.items():
        calls[qualname] = {called(node.func, namespaces[module]) for node in ast.walk(fn) if isinstance(node, ast.Call)}
        if any(called(d, namespaces[module]) == "maxchat_data.store.writes" for d in fn.decorator_list):
            calls[qualname].add("#write")  # @writes: called with the store, it runs on the writer
    return functions, namespaces, calls


def called(func: ast.expr, names: dict) -> str:
    """What a call calls: a qualname, "#write" for the store's writer, or "#.method"."""
    if isinstance(func, ast.Attribute):
        owner = func.value
        if func.attr in ("write", "submit", "every") and (
                isinstance(owner, ast.Name) and owner.id == "store" or
                isinstance(owner, ast.Attribute) and owner.attr == "store"):
            return "#write"
        if isinstance(owner, ast.Name) and owner.id in names:
            return f"{names[owner.id]}.{func.attr}"
        return f"#.{func.attr}"
    return names.get(func.id, func.id) if isinstance(func, ast.Name) else "#"


def resolve(qualname: str, functions: dict, namespaces: dict) -> str:
    """A name re-exported by a package (``login.revoke``) -> where it is defined."""
    for _ in range(5):
        if qualname in functions:
            return qualname
        module, _, name = qualname.rpartition(".")
        if name not in namespaces.get(module, {}):
            return qualname
        qualname = namespaces[module][name]
    return qualname


def state_changing() -> set[str]:
    """Every public module-level function of maxchat_data that reaches the
    store's writer, directly or through another function (chores aside)."""
    functions, namespaces, calls = read_code("maxchat_data")
    machinery = ("maxchat_data.store.", "maxchat_data.pg_store.", "maxchat_data.copy_to_pg.")
    stop = {f"maxchat_data.{c}" for c in CHORES}
    edges = {q: {resolve(c, functions, namespaces) for c in cs} - stop for q, cs in calls.items()}
    writers = {q for q, cs in edges.items() if "#write" in cs and not q.startswith(machinery) and q not in stop}
    while True:
        methods = {"#." + q.rsplit(".", 1)[1] for q in writers if q.rsplit(".", 2)[-2][:1].isupper()}
        more = {q for q, cs in edges.items() if q not in writers and q not in stop
                and not q.startswith(machinery) and cs & (writers | methods)}
        if not more:
            break
        writers |= more
    public = {q for q in writers if not any(p.startswith("_") for p in q.split(".")[1:])
              and not q.rsplit(".", 2)[-2][:1].isupper()}
    return {q.removeprefix("maxchat_data.") for q in public}


def function(name: str):
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(f"maxchat_data.{module}"), attr)


ACTOR_PARAMETERS = {"actor_id", "actor", "actor_role", "author_id"}


def test_every_state_changing_function_is_listed():
    found = state_changing()
    listed_actions = {a.function for a in ACTIONS}
    assert not listed_actions & set(SYSTEM)
    assert found - listed_actions - set(SYSTEM) == set(), "a new function that changes state: list it here"
    # Nothing listed that is not there any more (a renamed function would escape the test).
    for name in listed_actions | set(SYSTEM) | CHORES:
        assert callable(function(name)), name
    # The scan sees what it must: the reported functions, a write through a helper, a method, @writes.
    assert {"accounts.update_agent", "accounts.create_agent", "templates.set_status", "reports.set_business_hours",
            "simulator.simulate", "team.heartbeat", "fetching.media_later", "fetching.take_media"} <= found


def test_a_person_is_named_by_actions_only_and_never_by_the_system():
    """Every public function that takes an actor is a person's action (but
    the writer-level pieces they run); no system-side function takes one,
    so no call can pass for a person's."""
    listed_actions = {a.function for a in ACTIONS}
    for module in {n.rpartition(".")[0] for n in listed_actions | set(SYSTEM)} | {"inbox", "monitor", "sql_console"}:
        mod = importlib.import_module(f"maxchat_data.{module}")
        for attr, fn in vars(mod).items():
            if attr.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != mod.__name__:
                continue
            takes = list(inspect.signature(fn).parameters)
            if takes[:1] == ["w"]:
                continue  # a writer-level piece: it runs inside a write that did the check
            if set(takes) & ACTOR_PARAMETERS:
                assert f"{module}.{attr}" in listed_actions, f"{module}.{attr} takes an actor: list it in ACTIONS"
    for name in SYSTEM:
        assert not set(inspect.signature(function(name)).parameters) & (ACTOR_PARAMETERS | {"agent_id"}), name


def test_pages_and_ui_never_act_as_the_system():
    """app_pages/ and ui/ import no ``maxchat_data.system`` and call no
    system-side function but logging out (and the chores of reading)."""
    functions, namespaces, calls = read_code("maxchat_data")
    allowed = {"login.sessions.revoke"}
    for folder in ("app_pages", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "maxchat_data":
                    assert "system" not in {a.name for a in node.names}, path
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    assert "maxchat_data.system" not in {getattr(node, "module", None)} | {a.name for a in node.names}
            names = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("maxchat_data"):
                    names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    target = resolve(called(node.func, names), functions, namespaces).removeprefix("maxchat_data.")
                    assert target not in set(SYSTEM) - allowed, f"{path.name} calls {target}"


# ---- each person's action refuses whom it must and changes nothing ------------------------------
def snapshot(store) -> dict:
    """Every row of every table, and the media folder."""
    rows = {t: sorted(map(repr, store.all(f"SELECT * FROM {t}"))) for t in tables(store)}
    rows["media files"] = sorted(str(p) for p in Path(store.media_dir).rglob("*")) \
        if os.path.isdir(store.media_dir) else []
    return rows


def tables(store) -> list[str]:
    return [t for (t,) in store.all("SELECT table_name FROM information_schema.tables"
                                    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                                    " ORDER BY table_name")]


def fingerprint(store) -> list:
    """Each table's row count and the sum of its rows' hashes, in one query,
    and the media folder: a cheap stand-in for ``snapshot`` between calls
    (a changed, added or removed row changes it)."""
    row_hash = "hash(t)::HUGEINT" if store.engine.name == "duckdb" else "('x' || md5(t::text))::bit(60)::bigint"
    query = " UNION ALL ".join(f"SELECT '{name}', count(*), sum({row_hash}) FROM {name} AS t" for name in tables(store))
    return [sorted(store.all(query)), sorted(str(p) for p in Path(store.media_dir).rglob("*"))]


def refused(action: Action, w: dict) -> list[tuple[int | None, str]]:
    """(actor id, what the refusal must say) for everyone who may not."""
    out = []
    for role in roles.ROLES:
        if role not in roles.CAN[action.may]:
            out.append((w[role], f"is an? {role}\\."))
    if not action.deactivated_ok:
        out.append((w["deactivated"], "Gone is deactivated."))
    out.append((UNKNOWN, f"There is no agent {UNKNOWN}"))
    out.append((None, "Nobody is logged in"))  # None once passed for the BOT, and went through
    return out


def allowed(action: Action, w: dict) -> int:
    """The least role that may: an analyst's own bell, an agent's chat action ..."""
    return next(w[r] for r in ("analyst", "agent", "supervisor", "admin") if r in roles.CAN[action.may])


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_each_action_refuses_whom_it_must_and_changes_nothing(store, world, action):
    if action.setup:
        action.setup(store, world)
    before, unchanged = snapshot(store), fingerprint(store)
    who = refused(action, world)
    assert who, "an action every role may do checks only the account"
    for actor, says in who:
        with pytest.raises(NotAllowed, match=says):
            action.call(store, world, actor)
        if fingerprint(store) != unchanged:  # the whole snapshot, to show what changed
            assert snapshot(store) == before, f"{action.name} by {actor} changed the database"
            pytest.fail(f"{action.name} by {actor} changed the database")
    # The check refuses the person, not the action.
    if action.then:
        with pytest.raises(ValidationError, match=action.then):
            action.call(store, world, allowed(action, world))
    else:
        action.call(store, world, allowed(action, world))


def test_the_reported_escalations_are_refused(store, world):
    """Issue 17: an agent promoted himself to admin; an analyst created an
    admin and accepted a template."""
    with pytest.raises(NotAllowed, match="Budi is an agent. Only an admin can manage accounts."):
        accounts.update_agent(store, world["agent"], world["agent"], display_name="Budi", role="admin", active=True)
    with pytest.raises(NotAllowed, match="Lina is an analyst. Only an admin can manage accounts."):
        accounts.create_agent(store, "mallory", "Mallory", "mallory-pass-1", "admin", actor_id=world["analyst"])
    pending = system.create_template(store, channel="messenger", name="later", language="en", category="UTILITY",
                                     body="Later {{1}}")
    with pytest.raises(NotAllowed, match="Lina is an analyst. Only an admin can manage templates."):
        templates.set_status(store, pending, "Rejected", actor_id=world["analyst"])
    with pytest.raises(NotAllowed, match="Only an admin"):  # refused before it tells whether the account exists
        accounts.update_agent(store, 424242, world["agent"], display_name="X", role="admin", active=True)
    assert accounts.get_agent(store, world["agent"])["role"] == "agent"
    assert "mallory" not in {a["username"] for a in accounts.list_agents(store)}
    assert templates.list_templates(store, "messenger")[0]["status"] == "Accepted"


def test_a_whatsapp_status_is_set_by_hand_only_in_demo_mode(store, world, monkeypatch):
    """M2: WhatsApp's review gives a WhatsApp template its status; an admin
    sets one by hand only where no review runs (demo mode)."""
    pending = system.create_template(store, channel="whatsapp", name="review_me", language="en", category="UTILITY",
                                     body="Hi {{1}}")
    monkeypatch.setenv("MAXCHAT_DEMO", "0")
    with pytest.raises(NotAllowed, match="comes from WhatsApp's review"):
        templates.set_status(store, pending, "Accepted", actor_id=world["admin"])
    assert {t["id"]: t["status"] for t in templates.list_templates(store, "whatsapp")}[pending] == "Pending"
    monkeypatch.setenv("MAXCHAT_DEMO", "1")
    templates.set_status(store, pending, "Accepted", actor_id=world["admin"])
    assert {t["id"]: t["status"] for t in templates.list_templates(store, "whatsapp")}[pending] == "Accepted"


def test_an_analyst_logs_out_without_an_error(store, world):
    """Logging out asked for a role that takes chats: an analyst's raised."""
    team.logged_out(store, world["analyst"])
    team.logged_out(store, world["deactivated"])  # an account deactivated meanwhile too
    assert team.chosen_availability(store, world["agent"]) == "Offline"


def test_a_refused_heartbeat_leaves_no_presence_behind(store, world):
    with pytest.raises(NotAllowed):
        team.heartbeat(store, world["analyst"], "tab-1")
    assert world["analyst"] not in team.presence(store).present_ids(store)
    team.heartbeat(store, world["agent"], "tab-1")
    assert team.presence(store).present_ids(store) == {world["agent"]}
