"""Command line: ``python -m maxchat_data demo --chats N`` and friends."""
from __future__ import annotations

import argparse
import time

from . import accounts, config, demo, open_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maxchat_data")
    parser.add_argument("--db", help="database file (default: MAXCHAT_DB)")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="fill the database with demo chats")
    d.add_argument("--chats", type=int, default=60)
    d.add_argument("--messages-per-chat", type=float, default=6.0)
    d.add_argument("--days", type=float, default=2.0, help="spread of last activity, in days")
    d.add_argument("--seed", type=int, default=7)
    sub.add_parser("migrate", help="create or upgrade the schema")
    a = sub.add_parser("create-admin", help="add an admin account")
    a.add_argument("username")
    a.add_argument("password")
    args = parser.parse_args(argv)

    store = open_store(args.db)
    try:
        if args.command == "demo":
            accounts.bootstrap_admin(store, config.get("MAXCHAT_ADMIN_USER"),
                                     config.get("MAXCHAT_ADMIN_PASSWORD") or "admin1234")
            started = time.perf_counter()
            made = demo.generate(store, args.chats, args.messages_per_chat, args.seed, args.days)
            print(f"added {made['chats']} chats and {made['messages']} messages"
                  f" in {time.perf_counter() - started:.1f} s to {store.path}")
        elif args.command == "create-admin":
            accounts.create_agent(store, args.username, args.username, args.password, "admin")
            print(f"admin {args.username} created")
        else:
            print(f"schema up to date in {store.path}")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
