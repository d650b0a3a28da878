"""`towne mail-sink`: the development SMTP server (aiosmtpd) that `towne run` starts beside the API.

It accepts every message on `TOWNE_SMTP_HOST:TOWNE_SMTP_PORT` (127.0.0.1:8025 by default, the mailer's
default too) and writes each one, as received, to `TOWNE_MAILBOX_DIR` (.data/mailbox) as
`{received UTC}-{n}.eml`, so a developer opens the invoices the worker sent. Nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_counter = itertools.count(1)
_counter_lock = threading.Lock()


class MailboxHandler:
    """An aiosmtpd handler that keeps each message (its envelope recipients as an X-Envelope-To header)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with _counter_lock:
            n = next(_counter)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{os.getpid()}-{n}.eml"
        header = ("X-Envelope-To: " + ", ".join(envelope.rcpt_tos) + "\r\n").encode()
        content = envelope.original_content or envelope.content
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(header + (content if isinstance(content, bytes) else content.encode()))
        temporary.replace(path)
        return "250 OK: kept in the development mailbox"


def start(host: str, port: int, directory: Path) -> Controller:
    """The sink, started on its own thread; `stop()` it when done."""
    controller = Controller(MailboxHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
