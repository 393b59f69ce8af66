"""Command line: ``python -m maxchat_data demo --chats N`` and friends."""
from __future__ import annotations

import argparse
import getpass
import sys
import time
from datetime import date

from . import MaxchatError, accounts, config, copy_to_pg, demo, export, open_store, system
from .progress import Bar
from .store import is_database_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maxchat_data")
    parser.add_argument("--db", help="database file (default: MAXCHAT_DB)")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="fill the database with demo chats and the demo logins")
    d.add_argument("--chats", type=int, default=60)
    d.add_argument("--messages-per-chat", type=float, default=6.0)
    d.add_argument("--days", type=float, default=2.0, help="spread of last activity, in days")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--batch", type=int, metavar="CHATS",
                   help="chats per write (default: about %d messages' worth)" % demo.BATCH_MESSAGES)
    x = sub.add_parser("export", help="write sessions, messages, chats and events as day-partitioned Parquet")
    x.add_argument("--parquet", required=True, metavar="DIR", help="output directory (dt=YYYY-MM-DD/ under each table)")
    x.add_argument("--since", type=date.fromisoformat, metavar="DATE", help="only rows from this UTC day on")
    m = sub.add_parser("migrate", help="create or upgrade the schema; with --to, copy the DuckDB file to PostgreSQL")
    m.add_argument("--to", metavar="URL", help="an empty PostgreSQL database (postgresql://…) to copy the file into;"
                   " stop the server first")
    a = sub.add_parser("create-admin", help="add an admin account (asks for the password)")
    a.add_argument("username")
    p = sub.add_parser("set-password", help="set an agent's password (asks for it; ends their sessions)")
    p.add_argument("username")
    args = parser.parse_args(argv)
    if args.command == "migrate" and args.to:
        return _copy_to_postgresql(args.db or config.get("MAXCHAT_DB"), args.to)

    try:
        store = open_store(args.db)
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
            print(f"added {made['chats']} chats and {made['messages']} messages"
                  f" in {time.perf_counter() - started:.1f} s to {store.path}")
        elif args.command == "export":
            written = export.export_parquet(store, args.parquet, args.since, progress=Bar("export", "rows"))
            print(", ".join(f"{t}: {n:,} rows" for t, n in written.items()) + f" written to {args.parquet}")
        elif args.command == "create-admin":
            system.create_account(store, args.username, args.username, _new_password(), "admin")
            print(f"admin {args.username} created")
        elif args.command == "set-password":
            agent = next((a for a in accounts.list_agents(store) if a["username"] == args.username.lower()), None)
            if agent is None:
                raise MaxchatError(f"There is no agent {args.username!r}.")
            system.set_password(store, agent["username"], _new_password())
            print(f"password of {agent['username']} changed")
        else:
            print(f"schema up to date in {store.path}")
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
        print(f"--to takes a PostgreSQL URL (postgresql://user:password@host/database), not {url!r}.",
              file=sys.stderr)
        return 2
    print(f"copying {path} to {copy_to_pg.hide_password(url)}")
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
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise MaxchatError("The two passwords differ.")
    return first


if __name__ == "__main__":
    raise SystemExit(main())
