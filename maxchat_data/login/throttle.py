"""Slowing down password guessing, and which address a login comes from.

Every attempt is counted *before* its password is checked (reserved under a
lock, refunded when it succeeds), so parallel attempts cannot all slip in
before the first failure is counted. Counts are kept per (username, client
address) — so a guesser locks out only that username *from its own
address*, never the owner logging in from elsewhere — and per address,
across usernames."""
from __future__ import annotations

import ipaddress
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

from .. import config

log = logging.getLogger(__name__)


@dataclass
class _Attempts:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


@dataclass
class Ticket:
    """One reserved attempt: per key, the lock before it and the lock it set."""
    pair: str
    locks: list[tuple[str, float, float]] = field(default_factory=list)


class Throttle:
    """Per (username, address) the first ``user_free`` attempts, per address
    the first ``ip_free`` attempts (any usernames) cost nothing; every
    further attempt locks that key for a delay that doubles (``base``
    seconds, at most ``cap``). While a key is locked, attempts are refused
    without checking the password. Attempts older than ``window`` seconds
    are forgotten. A correct login refunds its own attempt and clears its
    (username, address) count, not the address's: one valid account cannot
    reset a guessing address."""

    def __init__(self, *, user_free: int = 3, ip_free: int = 10, base: float = 2.0, cap: float = 300.0,
                 window: float = 900.0, clock=time.monotonic):
        self.user_free, self.ip_free = user_free, ip_free
        self.base, self.cap, self.window = base, cap, window
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, _Attempts] = {}

    @staticmethod
    def _keys(username: str | None, address: str | None) -> tuple[str, str]:
        address = address or "unknown"
        return f"u:{(username or '').strip().lower()}@{address}", f"a:{address}"

    def _free(self, key: str) -> int:
        return self.user_free if key.startswith("u:") else self.ip_free

    def wait(self, username: str | None, address: str | None = None) -> float:
        """Seconds until this username may try again from this address (0: go ahead)."""
        now = self.clock()
        with self._lock:
            return self._wait(self._keys(username, address), now)

    def _wait(self, keys, now) -> float:
        return max([0.0, *(self._seen[k].locked_until - now for k in keys if k in self._seen)])

    def reserve(self, username: str | None, address: str | None = None) -> tuple[Ticket | None, float]:
        """Count one attempt now: ``(ticket, 0)`` to go ahead and check the
        password, or ``(None, seconds)`` while locked (nothing counted)."""
        now = self.clock()
        keys = self._keys(username, address)
        with self._lock:
            wait = self._wait(keys, now)
            if wait > 0:
                return None, wait
            if len(self._seen) > 50_000:
                self._seen = {k: v for k, v in self._seen.items() if now - v.last < self.window}
            ticket = Ticket(keys[0])
            for key in keys:
                entry = self._seen.get(key)
                if entry is None or now - entry.last > self.window:
                    entry = self._seen[key] = _Attempts()
                entry.count += 1
                entry.last = now
                before = entry.locked_until
                over = entry.count - self._free(key)
                if over > 0:
                    entry.locked_until = max(before, now + min(self.cap, self.base * 2 ** (over - 1)))
                ticket.locks.append((key, before, entry.locked_until))
            return ticket, 0.0

    def refund(self, ticket: Ticket) -> None:
        """The attempt did not count after all (password right, or never checked)."""
        with self._lock:
            for key, before, set_to in ticket.locks:
                entry = self._seen.get(key)
                if entry is None:
                    continue
                entry.count = max(0, entry.count - 1)
                if entry.locked_until == set_to:
                    entry.locked_until = before

    def succeeded(self, ticket: Ticket) -> None:
        self.refund(ticket)
        with self._lock:
            self._seen.pop(ticket.pair, None)

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


THROTTLE = Throttle()


# ---- the client's address ---------------------------------------------------
@lru_cache(maxsize=8)
def _parse_trusted(value: str) -> tuple:
    networks = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            log.warning("MAXCHAT_TRUSTED_PROXIES: %r is not an IP address or network; ignored", part)
    return tuple(networks)


def trusted_proxies() -> tuple:
    """MAXCHAT_TRUSTED_PROXIES: comma-separated IPs/CIDRs of the reverse
    proxies in front of the app (default: none)."""
    return _parse_trusted(config.get("MAXCHAT_TRUSTED_PROXIES") or "")


def _is_trusted(address: str, trusted) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str, forwarded_for: str | None = None, trusted=None) -> str:
    """The address a login is counted against: the direct peer, unless the
    peer is a trusted proxy; then the right-most ``X-Forwarded-For`` entry
    that is not itself a trusted proxy (entries to its left are whatever the
    client claimed)."""
    trusted = trusted_proxies() if trusted is None else trusted
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    address = peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage: keep the last hop a trusted proxy vouched for
        address = hop
        if not _is_trusted(hop, trusted):
            break
    return address
