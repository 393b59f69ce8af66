"""What the process starts and stops around serving: the background
workers, and TCP_NODELAY on Streamlit's listening socket."""
from __future__ import annotations

import gc
import logging
import os
import socket
import stat
import sys
from contextlib import asynccontextmanager, contextmanager

from maxchat_data import MaxchatError, config
from maxchat_data.channels import clients, telegram

from . import runtime
from .delivery import DeliveryWorker
from .fetcher import Fetcher
from .sandbox import SandboxReader
from .team_worker import TeamWorker
from .telegram_poll import Poller
from .template_syncer import StartupSync

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app):
    """st.App's lifespan: open the store, run the workers, close on the way out."""
    try:
        store = runtime.store()
    except MaxchatError as exc:
        # A refusal to start (file in use or damaged, demo passwords): one
        # clear line and out, with Streamlit's exit code for a failed start.
        # Raising would make Starlette print a traceback under that line;
        # nothing runs yet that needs stopping.
        print(f"Maxchat Inbox cannot start: {exc}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(3)
    # The tab counts are read now (1M chats: 0.4 s), not by the first agent
    # to open the Chat page.
    store.chat_tally()
    with workers(store):
        # Everything loaded so far lives as long as the process: out of the
        # collector's sight, a full collection no longer walks it. Walking
        # it stopped every thread for 70-140 ms every few seconds under
        # webhook load (bench_webhooks' p99).
        gc.freeze()
        yield {}
    runtime.close()


def tcp_nodelay_on_listeners() -> int:
    """Streamlit binds its listening socket itself with proto 0, so asyncio
    skips TCP_NODELAY on accepted connections; uvicorn writes headers and body
    separately, and Nagle + delayed ACK then add ~40 ms to every keep-alive
    response. Linux copies TCP_NODELAY from the listener to accepted sockets,
    so set it on this process's listening TCP sockets. Returns how many."""
    done = 0
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return 0
    for fd in fds:
        # Look before duplicating: closing a duplicate of the database file's
        # descriptor would drop this process's lock on it (POSIX locks belong
        # to the process and go with any close), letting a second writer in.
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            dup = os.dup(fd)
        except OSError:
            continue  # closed meanwhile (e.g. the listdir's own fd)
        s = socket.socket(fileno=dup)
        try:
            if (s.family in (socket.AF_INET, socket.AF_INET6) and s.type == socket.SOCK_STREAM
                    and s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                done += 1
        except OSError:
            pass
        finally:
            s.close()  # closes the duplicate only
    return done


@contextmanager
def workers(store):
    """Outbound delivery, inbound media/profile fetching, and Telegram long
    polling when a bot token is set without a webhook secret. A channel
    without credentials stays idle, or in demo mode delivers to the sandbox."""
    if tcp_nodelay_on_listeners():
        log.debug("TCP_NODELAY set on the listening socket")
    demo = runtime.demo_mode()
    shared = clients(sandbox=demo)
    running = [DeliveryWorker(store, shared).start(), Fetcher(store, shared).start(), TeamWorker(store).start()]
    if demo:
        running.append(SandboxReader(store).start())
    if StartupSync.wanted(shared["whatsapp"]):
        running.append(StartupSync(store, shared["whatsapp"]).start())
    if config.get("TELEGRAM_BOT_TOKEN") and not config.get("TELEGRAM_WEBHOOK_SECRET"):
        running.append(Poller(store, telegram.Client()).start())
        log.info("Telegram long polling started")
    try:
        yield running
    finally:
        for worker in reversed(running):
            worker.stop()
