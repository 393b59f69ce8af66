"""Fake provider servers (real HTTP on 127.0.0.1) for the channel tests."""
from .base import FakeServer, Recorded, Reply
from .meta import (FakeMessenger, FakeWhatsApp, error_131047, graph_error, listed_template, rate_limited,
                   server_error)
from .telegram import FakeTelegram, blocked, tg_error, too_many

__all__ = ["FakeServer", "Recorded", "Reply", "FakeMessenger", "FakeWhatsApp", "FakeTelegram", "error_131047",
           "graph_error", "listed_template", "rate_limited", "server_error", "blocked", "tg_error", "too_many"]
