from __future__ import annotations

import structlog

from academy.integrations.email.protocol import OutgoingEmail

log = structlog.get_logger()


class OutboxTransport:
    """Embedded default: the message already sits in the `emails` table; show it, send nothing.

    In development `/dev/outbox` lists these messages so verification links work offline.
    """

    name = "outbox"

    async def send(self, email: OutgoingEmail) -> None:
        log.info("email.stored_in_outbox", to=email.to, subject=email.subject)
