from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutgoingEmail:
    sender: str
    to: str
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None


class EmailDeliveryError(Exception):
    """Delivery failed; `permanent` tells the job not to retry (e.g. a rejected recipient)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class EmailTransport(Protocol):
    name: str

    async def send(self, email: OutgoingEmail) -> None: ...
