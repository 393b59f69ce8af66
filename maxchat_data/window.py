"""T4: the 24-hour customer-service window, one small rule with a table per
channel (Chatwoot's MessageWindowService), used by the UI, the sender and the
Monitor; and the words that explain it, each said once here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .i18n import _, number
from .store import utcnow

# How long after the customer's last message a free-form reply is allowed;
# None: the channel has no window.
WINDOW = {"whatsapp": timedelta(hours=24), "messenger": timedelta(hours=24), "telegram": None}


def _hours(channel: str) -> str:
    return number(int(WINDOW[channel] // timedelta(hours=1)))


def closed_explanation(channel: str) -> str:
    """Why a free-form reply is refused on a chat whose window has closed:
    the composer's warning and the send's refusal."""
    return _("The {hours}-hour window is closed: the customer has not written for over {hours} hours, so a "
             "free-form reply is not allowed. Send an approved template to start a new conversation."
             ).format(hours=_hours(channel))


@dataclass(frozen=True)
class ReplyWindow:
    open: bool
    seconds_left: float | None  # None: no window on this channel
    channel: str

    def describe(self) -> str:
        if self.seconds_left is None:
            return _("No reply window on this channel")
        if not self.open:
            return _("{hours}-hour window closed — send a template").format(hours=_hours(self.channel))
        hours, rest = divmod(int(self.seconds_left), 3600)
        return _("{hours} h {minutes} min left to reply").format(hours=number(hours),
                                                                minutes=f"{rest // 60:02d}")


def reply_window(channel: str, last_inbound_at: datetime | None, now: datetime | None = None) -> ReplyWindow:
    """Timed from the provider's timestamp of the customer's last inbound
    message; a chat the customer never wrote in has its window closed."""
    span = WINDOW[channel]
    if span is None:
        return ReplyWindow(True, None, channel)
    if last_inbound_at is None:
        return ReplyWindow(False, 0.0, channel)
    left = (last_inbound_at + span - (now or utcnow())).total_seconds()
    return ReplyWindow(left > 0, max(left, 0.0), channel)
