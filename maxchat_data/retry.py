"""One rule for "try again later, or give up" for every background job
(outbound delivery, inbound media, profile look-ups, template submission,
Telegram polling).

Every failure counts as an attempt, whatever raised it: a provider's 429,
a full disk or a bug alike, so no job retries forever. The wait doubles
from ``base`` with some jitter, never below ``floor`` (a ``Retry-After: 0``
must not turn into a burst of calls) nor above ``cap``. A provider asking
for a longer wait than ``cap`` is not waited for: the job gives up with
that reason, so a person sees it now rather than a day later. A policy
without ``max_attempts`` (polling, which has nothing to give up on) never
says give up: it waits at most ``cap``, even after a "permanent" refusal
(an admin may fix the token or the webhook meanwhile)."""
from __future__ import annotations

import random
from dataclasses import dataclass

from .channels.base import Permanent, RetryLater
from .errors import MaxchatError
from .i18n import later


# Two stored sentences one after the other: punctuation only, the same in
# every language (so not in the catalogs).
TWO_SENTENCES = "{doing}: {reason}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int | None  # None: never give up
    base: float = 1.0         # seconds after the first failure
    cap: float = 900.0        # longest wait (15 minutes)
    floor: float = 1.0        # shortest wait, whatever the provider says

    def decide(self, attempts: int, exc: BaseException) -> float | None:
        """Seconds to wait before the next try, or None to give up.
        ``attempts`` counts the tries made so far, this failed one included."""
        asked = retry_after(exc)
        if self.max_attempts is not None and (isinstance(exc, Permanent) or attempts >= self.max_attempts
                                              or (asked is not None and asked > self.cap)):
            return None
        if asked is not None:
            return min(self.cap, max(self.floor, asked))
        delay = self.base * 2 ** max(0, attempts - 1) * random.uniform(0.8, 1.2)
        return min(self.cap, max(self.floor, delay))

    def gave_up(self, doing: str, attempts: int, exc: BaseException) -> str:
        """The sentence a person reads once ``decide`` said None, stored as
        ``i18n.later`` says, e.g. ``gave_up(later._("Could not send"), 8, exc)``."""
        if isinstance(exc, Permanent):
            return later._(TWO_SENTENCES, doing=doing, reason=str(exc))  # already in words
        asked = retry_after(exc)
        if asked is not None and asked > self.cap:
            return later._("{doing}: {reason}, and asked to wait {wait} before trying again (too long to hold it):"
                           " try again later", doing=doing, reason=describe(exc), wait=span(asked))
        return later.ngettext("{doing} after {count} attempt: {reason}", "{doing} after {count} attempts: {reason}",
                              attempts, doing=doing, count=attempts, reason=describe(exc))


def retry_after(exc: BaseException) -> float | None:
    return exc.retry_after if isinstance(exc, RetryLater) else None


def describe(exc: BaseException) -> str:
    """A failure in a few words (stored as ``i18n.later`` says): the
    provider's sentence, or what went wrong here."""
    if isinstance(exc, (RetryLater, Permanent, MaxchatError)):
        return str(exc)  # already a sentence for a person
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return later._("unexpected error ({error})", error=type(exc).__name__)


def span(seconds: float) -> str:
    if seconds >= 3600:
        return later._("{count} h", count=round(seconds / 3600))
    if seconds >= 60:
        return later._("{count} min", count=round(seconds / 60))
    return later._("{count} s", count=round(seconds))


# The policies of the background jobs (tests pass their own).
DELIVERY = RetryPolicy(max_attempts=8, base=1.0)
FETCH = RetryPolicy(max_attempts=6, base=2.0)    # inbound media, profiles, template submission
POLLING = RetryPolicy(max_attempts=None, base=1.0, cap=60.0)
