"""Command line: ``python -m maxchat_data demo --chats N`` and friends.
It speaks MAXCHAT_LANGUAGE (``id`` unless set), like any work with no
person behind it."""
from __future__ import annotations

import argparse
import getpass
import sys
import time
from datetime import date

from . import MaxchatError, accounts, config, copy_to_pg, demo, export, facts, i18n, open_store, system
from .i18n import _
from .progress import Bar
from .store import is_database_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maxchat_data")
    parser.add_argument("--db", help=_("database file (default: {setting})").format(setting="MAXCHAT_DB"))
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help=_("fill the database with demo chats and the demo logins"))
    d.add_argument("--chats", type=int, default=60, help=_("how many chats"))
    d.add_argument("--messages-per-chat", type=float, default=6.0, help=_("messages per chat, on average"))
    d.add_argument("--days", type=float, default=2.0, help=_("spread of last activity, in days"))
    d.add_argument("--seed", type=int, default=7, help=_("random seed (the same seed makes the same demo)"))
    d.add_argument("--batch", type=int, metavar="CHATS",
                   help=_("chats per write (default: about {messages} messages' worth)").format(
                       messages=demo.BATCH_MESSAGES))
    x = sub.add_parser("export", help=_("write sessions, messages, chats and events as day-partitioned Parquet"))
    x.add_argument("--parquet", required=True, metavar="DIR",
                   help=_("output directory ({folder} under each table)").format(folder="dt=YYYY-MM-DD/"))
    x.add_argument("--since", type=date.fromisoformat, metavar="DATE", help=_("only rows from this UTC day on"))
    m = sub.add_parser("migrate", help=_("create or upgrade the schema; with --to, copy the DuckDB file to PostgreSQL"))
    m.add_argument("--to", metavar="URL", help=_("an empty PostgreSQL database ({url}) to copy the file into;"
                                                 " stop the server first").format(url="postgresql://…"))
    sub.add_parser("recompute-facts", help=_("make the figures Reports, the Monitor and the SQL console read again"
                                             " from every message (after a definition changed)"))
    a = sub.add_parser("create-admin", help=_("add an admin account (asks for the password)"))
    a.add_argument("username", help=_("the new admin's username"))
    p = sub.add_parser("set-password", help=_("set an agent's password (asks for it; ends their sessions)"))
    p.add_argument("username", help=_("the agent's username"))
    args = parser.parse_args(argv)
    if args.command == "migrate" and args.to:
        return _copy_to_postgresql(args.db or config.get("MAXCHAT_DB"), args.to)

    try:
        store = open_store(args.db, progress=Bar("migrate", "migrations") if args.command == "migrate" else None)
    except MaxchatError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        if args.command == "demo":
            accounts.bootstrap_admin(store, config.get("MAXCHAT_ADMIN_USER"),
                                     config.get("MAXCHAT_ADMIN_PASSWORD") or demo.DEMO_ADMIN_PASSWORD)
            started = time.perf_counter()
            made = demo.generate(store, args.chats, args.messages_per_chat, args.seed, args.days, batch=args.batch,
                                 progress=Bar("demo", "chats"))
            print(_("added {chats} chats and {messages} messages in {seconds} s to {path}").format(
                chats=i18n.number(made["chats"]), messages=i18n.number(made["messages"]),
                seconds=i18n.number(time.perf_counter() - started, 1), path=store.path))
        elif args.command == "export":
            written = export.export_parquet(store, args.parquet, args.since, progress=Bar("export", "rows"))
            print(_("{tables} written to {folder}").format(
                tables=", ".join(_("{table}: {count} rows").format(table=t, count=i18n.number(n))
                                 for t, n in written.items()), folder=args.parquet))
        elif args.command == "recompute-facts":
            started = time.perf_counter()
            # One transaction however long it takes (22 s for 1M sessions here): not
            # the 60 s a request waits for the writer.
            store.write(facts.recompute, timeout=None)
            (sessions,) = store.one("SELECT count(*) FROM session_facts")
            print(_("facts of {sessions} sessions made again in {seconds} s in {path}").format(
                sessions=i18n.number(sessions), seconds=i18n.number(time.perf_counter() - started, 1),
                path=store.path))
        elif args.command == "create-admin":
            system.create_account(store, args.username, args.username, _new_password(), "admin")
            print(_("admin {username} created").format(username=args.username))
        elif args.command == "set-password":
            agent = next((a for a in accounts.list_agents(store) if a["username"] == args.username.lower()), None)
            if agent is None:
                raise MaxchatError(_("There is no agent {username!r}.").format(username=args.username))
            system.set_password(store, agent["username"], _new_password())
            print(_("password of {username} changed").format(username=agent["username"]))
        else:
            print(_("schema up to date in {path}").format(path=store.path))
    except MaxchatError as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def _copy_to_postgresql(path: str, url: str) -> int:
    """0 when every table's row count matches, 1 when one differs, 2 when the
    copy was refused (nothing changed)."""
    if not is_database_url(url):
        print(_("--to takes a PostgreSQL URL ({form}), not {url!r}.").format(
            form="postgresql://user:password@host/database", url=url), file=sys.stderr)
        return 2
    print(_("copying {path} to {url}").format(path=path, url=copy_to_pg.hide_password(url)))
    try:
        return 0 if copy_to_pg.copy_database(path, url, progress=Bar("copy", "rows")) else 1
    except MaxchatError as exc:
        print(exc, file=sys.stderr)
        return 2


def _new_password() -> str:
    """From the terminal (twice), or one line of standard input: never an
    argument, which other users of the machine can read in the process list."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(_("New password: "))
    if getpass.getpass(_("Again: ")) != first:
        raise MaxchatError(_("The two passwords differ."))
    return first


if __name__ == "__main__":
    raise SystemExit(main())
