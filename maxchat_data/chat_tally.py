"""Every tab's chat count without a scan (L2), kept by the writer.

Each chat belongs to one group: its (status, channel, archived, assignee,
labels). The writer keeps which group each chat is in and how many chats
each group holds; the finder adds up the groups its filters keep (529 groups
at 1M chats) instead of scanning a million rows after every commit (15-30 ms
at 1M, the finder's dearest part). Only for an engine with one process per
database: another replica's writes would not reach this memory.

How it stays true: a write function that inserts chats or sets one of the
grouped columns says which chats (``Writer.chats_changed``); before the
commit the writer reads those chats' groups as they now are, after it moves
them. A statement on chats that did not say so (a bulk load, a new write
forgotten here) makes the writer read every group again in that transaction:
slower, never wrong, and logged so that tests catch it."""
from __future__ import annotations

import re
import threading
from array import array
from collections import Counter

import numpy as np

# The grouped columns, in the order of a group's key.
GROUPED = "status, channel, archived, assignee_id, label_ids"
_WRITES_CHATS = re.compile(r"\b(UPDATE|DELETE\s+FROM|INSERT\s+(?:OR\s+\w+\s+)?INTO)\s+chats\b", re.I)
_SET = re.compile(r"\bSET\b(.*?)(?:\bFROM\b|\bWHERE\b|$)", re.I | re.S)
_GROUPED_SET = re.compile(r"\b(status|channel|archived|assignee_id|label_ids)\s*=", re.I)


def chats_write(sql: str) -> str | None:
    """INSERT, UPDATE or DELETE when the statement writes the chats table
    (anywhere in it: after a WITH too), else None. What the tab counts and
    the chat states the writer keeps both look for."""
    found = _WRITES_CHATS.search(sql)
    return found.group(1).split()[0].upper() if found else None


def changes_groups(sql: str) -> bool:
    """Whether the statement may move a chat between groups."""
    verb = chats_write(sql)
    if verb is None:
        return False
    if verb != "UPDATE":
        return True
    cut = _SET.search(sql)
    return cut is None or bool(_GROUPED_SET.search(cut.group(1)))


def _key(status, channel, archived, assignee_id, label_ids) -> tuple:
    return status, channel, bool(archived), assignee_id, tuple(label_ids or ())


def moved(chat_ids: list[int], rows) -> list[tuple[int, tuple | None]]:
    """Each chat's group from its row ``(id, *GROUPED)`` as the transaction
    left it (None: the chat is gone)."""
    found = {row[0]: _key(*row[1:]) for row in rows}
    return [(chat_id, found.get(chat_id)) for chat_id in chat_ids]


# Chat ids below this have their group in an array (4 bytes each, at most
# 128 MB); any other id (only a file not written by Maxchat holds one) in a
# dict, so that one huge id cannot ask for terabytes.
DENSE_IDS = 1 << 25


class Groups:
    """Which group each chat is in, and each group's size."""

    __slots__ = ("group_of", "other", "keys", "number", "sizes")

    def __init__(self, top: int = 0):
        # chat id -> group number + 1 (0: no such chat)
        self.group_of = array("i", bytes(4 * (min(max(top, 0), DENSE_IDS - 1) + 1)))
        self.other: dict[int, int] = {}
        self.keys: list[tuple] = []
        self.number: dict[tuple, int] = {}
        self.sizes: list[int] = []

    @classmethod
    def read(cls, con) -> "Groups":
        """Every chat's group, as ``con`` sees the chats table now."""
        rows = con.execute(f"SELECT {GROUPED}, list(id) FROM chats GROUP BY ALL").fetchall()
        made = cls(max((max(ids) for *_, ids in rows), default=0))
        for *key, ids in rows:
            n = made.group(_key(*key))
            made.sizes[n] = len(ids)
            for chat_id in ids:
                made._set(chat_id, n + 1)
        return made

    def _set(self, chat_id: int, value: int) -> None:
        if 0 <= chat_id < DENSE_IDS:
            if chat_id >= len(self.group_of):
                self.group_of.extend(array("i", bytes(4 * (chat_id + 1 - len(self.group_of) + 1024))))
            self.group_of[chat_id] = value
        elif value:
            self.other[chat_id] = value
        else:
            self.other.pop(chat_id, None)

    def _get(self, chat_id: int) -> int:
        if 0 <= chat_id < len(self.group_of):
            return self.group_of[chat_id]
        return self.other.get(chat_id, 0)

    def group(self, key: tuple) -> int:
        n = self.number.get(key)
        if n is None:
            n = self.number[key] = len(self.keys)
            self.keys.append(key)
            self.sizes.append(0)
        return n

    def move(self, chat_id: int, key: tuple | None) -> None:
        """Chat ``chat_id`` is now in the group of ``key`` (None: gone)."""
        old = self._get(chat_id) - 1
        if old >= 0:
            self.sizes[old] -= 1
        if key is None:
            self._set(chat_id, 0)
            return
        n = self.group(key)
        self.sizes[n] += 1
        self._set(chat_id, n + 1)


class ChatTally:
    """The writer's groups of chats (the writer moves chats; readers count)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._groups: Groups | None = None

    @property
    def ready(self) -> bool:
        return self._groups is not None

    def committed(self, prepared) -> None:
        """After the commit: what the writer read before it (every group, or
        the moves of ``moved``) becomes what readers count."""
        if prepared is None:
            return
        with self._lock:
            if isinstance(prepared, Groups):
                self._groups = prepared
            elif self._groups is not None:
                for chat_id, key in prepared:
                    self._groups.move(chat_id, key)

    def counts(self, statuses=(), channels=(), label_ids=(), assignees: tuple | None = None) -> Counter:
        """Chats per (archived, assignee) under the filters; ``assignees``:
        only these (None: anyone's)."""
        kept = kept_by(statuses, channels, label_ids, assignees)
        out: Counter = Counter()
        with self._lock:
            groups = self._groups
            for key, size in zip(groups.keys, groups.sizes):
                if size and kept(key):
                    out[key[2], key[3]] += size
        return out

    def groups_of(self, chat_ids: np.ndarray) -> tuple[np.ndarray, list[tuple], list[int]]:
        """Each chat's group number (-1: no such chat) as of the last commit,
        and every group's key and size by number."""
        found = np.zeros(len(chat_ids), dtype=np.int32)
        with self._lock:
            groups = self._groups
            dense = np.frombuffer(groups.group_of, dtype=np.int32)
            inside = (chat_ids >= 0) & (chat_ids < len(dense))
            found[inside] = dense[chat_ids[inside]]
            del dense  # the array may grow only once no view of it is left
            for n in np.flatnonzero(~inside):
                found[n] = groups.other.get(int(chat_ids[n]), 0)
            keys, sizes = list(groups.keys), list(groups.sizes)
        return found - 1, keys, sizes


def kept_by(statuses=(), channels=(), label_ids=(), assignees: tuple | None = None):
    """Whether a group's key passes the filters; ``assignees``: only these
    (None: anyone's)."""
    statuses, channels, wanted = set(statuses), set(channels), set(label_ids)

    def kept(key: tuple) -> bool:
        status, channel, _, assignee, labels = key
        return ((not statuses or status in statuses) and (not channels or channel in channels)
                and (not wanted or not wanted.isdisjoint(labels)) and (assignees is None or assignee in assignees))
    return kept
