"""The SMTP adapter against a real SMTP server (aiosmtpd) on loopback."""

import socket
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from academy.integrations.email import EmailDeliveryError, OutgoingEmail
from academy.integrations.email.outbox import OutboxTransport
from academy.integrations.email.smtp import SmtpTransport
from academy.kit import ratelimit
from tests.fixtures.app import PASSWORD
from tests.fixtures.db import reconfigure


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


EMAIL = OutgoingEmail(
    sender="Academy <no-reply@academy.school>",
    to="ann@example.com",
    subject="Привет, Ann",
    text="Plain body — with unicode",
    html="<p>HTML body</p>",
)


@pytest.mark.parametrize("transport", [OutboxTransport(), None], ids=["outbox", "smtp"])
async def test_every_transport_accepts_a_message(transport, smtp_server):
    inbox, port = smtp_server
    transport = transport or SmtpTransport("127.0.0.1", port)
    await transport.send(EMAIL)
    if isinstance(transport, SmtpTransport):
        assert len(inbox.messages) == 1


async def test_smtp_delivers_multipart_message(smtp_server):
    inbox, port = smtp_server
    await SmtpTransport("127.0.0.1", port).send(EMAIL)
    ((rcpts, msg),) = inbox.messages
    assert rcpts == ["ann@example.com"]
    assert msg["Subject"] == "Привет, Ann" or "Ann" in str(msg["Subject"])
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode() for p in msg.walk() if not p.is_multipart()
    }
    assert parts["text/plain"].strip() == "Plain body — with unicode"
    assert "HTML body" in parts["text/html"]


async def test_refused_recipient_is_a_permanent_failure(smtp_server):
    _, port = smtp_server
    with pytest.raises(EmailDeliveryError) as err:
        await SmtpTransport("127.0.0.1", port).send(
            OutgoingEmail(sender="a@academy.school", to="x@refused.example", subject="s", text="t")
        )
    assert err.value.permanent


async def test_unreachable_server_is_a_temporary_failure():
    with pytest.raises(EmailDeliveryError) as err:
        await SmtpTransport("127.0.0.1", _free_port(), timeout=2).send(EMAIL)
    assert not err.value.permanent


async def test_signup_with_smtp_backend_delivers_the_verification_link(client, smtp_server, monkeypatch):
    inbox, port = smtp_server
    reconfigure(monkeypatch, email_backend="smtp", smtp_host="127.0.0.1", smtp_port=str(port))
    ratelimit.configure(enabled=True)
    r = await client.post("/api/v1/auth/register", json={"email": "smtp@example.com", "password": PASSWORD})
    assert r.status_code == 201
    ((rcpts, msg),) = inbox.messages
    assert rcpts == ["smtp@example.com"]
    body = (
        next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    )
    assert "http://testserver/verify-email?token=" in body
