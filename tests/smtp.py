"""A real SMTP server (aiosmtpd) on a free local port, for the mail tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller

from tests.ports import free_port


class Inbox:
    """A handler that takes every mail, kept in `messages` (aiosmtpd envelopes)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@contextmanager
def running_smtp(handler) -> Iterator[Controller]:
    """`handler` (aiosmtpd's handle_* methods) answers on 127.0.0.1 until the block ends."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
