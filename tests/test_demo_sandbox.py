"""Demo mode: a channel without credentials delivers to the built-in
sandbox, whose customers tick every reply sent → delivered → read; outside
demo mode the same channel is simply not connected."""
from __future__ import annotations

import time

import pytest

from conftest import customer_writes, wait_until
from maxchat_data import actions, config, inbox
from maxchat_data.channels import clients, sandbox, sending_problem
from server.delivery import DeliveryWorker
from server.sandbox import SandboxReader
from tests.fakes.helpers import PNG

SETTINGS = ("WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "MESSENGER_PAGE_TOKEN", "TELEGRAM_BOT_TOKEN")


@pytest.fixture
def no_channels(monkeypatch):
    monkeypatch.setenv("MAXCHAT_SECRETS", "/nonexistent")
    config._secrets.cache_clear()
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def status_of(store, message_id):
    return store.one("SELECT status, provider_message_id FROM messages WHERE id = ?", [message_id])


@pytest.mark.slow
def test_replies_files_and_templates_tick_to_read_in_the_sandbox(store, team, no_channels):
    made = clients(sandbox=True)
    assert all(isinstance(c, sandbox.Client) for c in made.values())
    chat = customer_writes(store, "6281299", "Halo").chat_id
    tg = customer_writes(store, "4242", "Hi", channel="telegram", name="Tono").chat_id
    sent = [actions.reply(store, chat, team["budi"], "Siap kak"),
            actions.send_attachment(store, chat, team["budi"], "foto.png", PNG, caption="ini"),
            actions.reply(store, tg, team["budi"], "On my way")]
    workers = [DeliveryWorker(store, made, poll=0.05).start(), SandboxReader(store)]
    workers[1].every = 0.2
    workers[1].start()
    try:
        assert wait_until(lambda: all(status_of(store, m)[0] in ("delivered", "read") for m in sent), 10)
        assert all(status_of(store, m)[1].startswith(sandbox.PREFIX) for m in sent)
        started = time.monotonic()
        assert wait_until(lambda: all(status_of(store, m)[0] == "read" for m in sent), 10)
        assert time.monotonic() - started < 6
    finally:
        for w in workers:
            w.stop()
    assert [m["status"] for m in inbox.thread(store, chat) if m["direction"] == "out"] == ["read", "read"]


def test_outside_demo_mode_the_same_channel_is_not_connected(store, team, no_channels):
    made = clients()
    assert not any(isinstance(c, sandbox.Client) for c in made.values())
    assert sending_problem("whatsapp") == "WhatsApp is not connected: set WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID"
    assert sending_problem("whatsapp", sandbox=True) is None
    chat = customer_writes(store, "6281299", "Halo").chat_id
    mid = actions.reply(store, chat, team["budi"], "Siap kak")
    w = DeliveryWorker(store, made, poll=0.05).start()
    try:
        assert wait_until(lambda: status_of(store, mid)[0] == "failed", 5)
    finally:
        w.stop()


def test_a_connected_channel_is_never_replaced_by_the_sandbox(no_channels, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    made = clients(sandbox=True)
    assert not isinstance(made["telegram"], sandbox.Client)
    assert isinstance(made["whatsapp"], sandbox.Client)
