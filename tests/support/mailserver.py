"""A real SMTP server (aiosmtpd) for the workflow tests: what it accepted is what a
mail server would deliver.  It can hold the first mail transaction at RCPT, so a test
can kill the worker while it is in the middle of sending."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller

from tests.support.processes import free_port


@dataclass
class Mailbox:
    hold_first: bool = False
    accepted: list[Message] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _held: bool = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold_first and not self._held:
            self._held = True
            self.holding.set()
            # Wait in a thread, not in the server's event loop (other tests' mail flows).
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Only here, once the whole message arrived, has the server taken it.
        self.accepted.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.accepted]


@contextmanager
def serving(handler) -> Iterator[int]:
    """An SMTP server on a free port whose ``handler`` (aiosmtpd's handle_* methods)
    takes the mail; yields the port.  The bench scripts bring their own handlers."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def smtp_server(*, hold_first: bool = False) -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox(hold_first=hold_first)
    try:
        with serving(mailbox) as port:
            yield port, mailbox
    finally:
        mailbox.release.set()
