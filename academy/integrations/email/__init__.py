from __future__ import annotations

from academy.config import EmailBackend, Settings, get_settings
from academy.integrations.email.outbox import OutboxTransport
from academy.integrations.email.protocol import EmailDeliveryError, EmailTransport, OutgoingEmail
from academy.integrations.email.smtp import SmtpTransport

__all__ = ["EmailDeliveryError", "EmailTransport", "OutgoingEmail", "email_transport"]


def email_transport(settings: Settings | None = None) -> EmailTransport:
    settings = settings or get_settings()
    if settings.email_backend is EmailBackend.smtp:
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            timeout=settings.smtp_timeout,
        )
    return OutboxTransport()
