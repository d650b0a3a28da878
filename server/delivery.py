"""What the send channels share (domain.md §3.5 send actions, §3.8): the channels and how a delivery fails.

A statement is sent through one or more channels (legacy `bs_emailgenerationprocess` actions SendEmail,
SendToGP, SendAll = both). The worker (`towne worker`) runs one send job per statement version and channel;
a channel's delivery function either returns or raises `DeliveryFailed`.
"""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    """A way a Ready To Send statement leaves Towne Graph (§3.5): the customer's e-mail, the Great Plains
    posting of its GL batches (§3.8)."""

    EMAIL = "EMAIL"
    GREAT_PLAINS = "GREAT_PLAINS"


class DeliveryFailed(Exception):
    """A delivery did not happen. `reason` is for people (shown in `Statement.sendAttempts`; no SQL, no
    paths, no secrets); `retryable` says whether trying again later may succeed (a refused connection, a
    5xx) or cannot (no recipient on the site, a 4xx refusal of the batch)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
