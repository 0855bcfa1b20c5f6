"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd, an ephemeral port, messages collected.

    with smtp_server() as server:                          # plain SMTP
    with smtp_server(tls="starttls", cert=cert, auth=("u", "p")) as server:
    with smtp_server(tls="implicit", cert=cert) as server:  # SMTPS, port 465 style
    with smtp_server(data_reply="451 4.3.0 Try again later") as server:  # or quit_reply=…
    with smtp_server(port=port) as server:                 # a port chosen beforehand
    with smtp_server(hold=[3.0, 0.0]) as server:           # 1st message: 250 after 3 s
        ... server.host, server.port, server.messages (parsed EmailMessage), server.logins
        ... server.unique_messages()   # what a receiver that drops repeated Message-IDs keeps

A message is recorded when its DATA is complete, before the reply: a client killed
while waiting for the 250 has still delivered it.

`self_signed_cert(tmp_path)` writes a certificate for localhost/127.0.0.1 and its key;
a client trusts it by pointing `SSL_CERT_FILE` at `cert.cert_file`.

This module owns the test server only; it never listens on anything but loopback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from aiosmtpd.smtp import SMTP as SMTPProtocol
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class TlsCert:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed_cert(folder: Path, common_name: str = "localhost") -> TlsCert:
    """A fresh self-signed certificate valid for `localhost` and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(common_name), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{common_name}.crt", folder / f"{common_name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return TlsCert(cert_file=cert_file, key_file=key_file)


@dataclass
class SmtpServer:
    """What the server saw: parsed messages, envelopes, and the logins it accepted."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    failed_logins: list[str] = field(default_factory=list)

    def unique_messages(self) -> list[EmailMessage]:
        """The first message per Message-ID, as a deduplicating mail store keeps them."""
        seen: set[str] = set()
        kept = []
        for message in list(self.messages):
            msg_id = str(message["Message-ID"])
            if msg_id not in seen:
                seen.add(msg_id)
                kept.append(message)
        return kept


class _Handler:
    def __init__(self, server: SmtpServer, data_reply: str | None,
                 credentials: tuple[str, str] | None, quit_reply: str | None,
                 hold: Sequence[float] = ()):
        self.server = server
        self.data_reply = data_reply
        self.credentials = credentials
        self.quit_reply = quit_reply
        self.hold = list(hold)

    async def handle_QUIT(self, smtp: SMTPProtocol, session: Session,
                          envelope: Envelope) -> str:
        return self.quit_reply or "221 Bye"

    async def handle_MAIL(self, smtp: SMTPProtocol, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        # aiosmtpd cannot require AUTH over implicit TLS, so the rule is enforced here.
        if self.credentials and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self.server.envelopes.append(envelope)
        self.server.messages.append(message)
        if self.hold:
            delay = self.hold[min(len(self.server.messages), len(self.hold)) - 1]
            await asyncio.sleep(delay)
        return "250 OK queued"

    def authenticate(self, smtp: SMTPProtocol, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if self.credentials == (login, password):
            self.server.logins.append(login)
            return AuthResult(success=True)
        self.server.failed_logins.append(login)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    """An ephemeral loopback port (aiosmtpd's Controller needs the number up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(*, tls: Literal["starttls", "implicit"] | None = None,
                cert: TlsCert | None = None, auth: tuple[str, str] | None = None,
                data_reply: str | None = None, quit_reply: str | None = None,
                port: int | None = None, hold: Sequence[float] = ()) -> Iterator[SmtpServer]:
    """Run an SMTP server on 127.0.0.1 for the duration of the block.

    `auth` = (user, password) offers AUTH LOGIN/PLAIN and refuses mail without it;
    `data_reply` (e.g. "451 4.3.0 Try again later") answers DATA with that instead of 250;
    `quit_reply` (e.g. "421 4.3.2 Shutting down") answers QUIT with that instead of 221.
    `port` listens there instead of a fresh ephemeral port; `hold` delays the 250 after
    the n-th message by hold[n] seconds (the last value repeats).
    """
    if tls and cert is None:
        raise ValueError("tls needs cert=self_signed_cert(tmp_path)")
    server = SmtpServer(host=LOOPBACK, port=port or free_port())
    handler = _Handler(server, data_reply, auth, quit_reply, hold)
    kwargs: dict[str, Any] = {"server_hostname": "localhost", "ready_timeout": 5.0}
    if tls == "starttls":
        assert cert is not None
        kwargs.update(tls_context=cert.server_context(), require_starttls=True)
    if tls == "implicit":
        assert cert is not None
        kwargs["ssl_context"] = cert.server_context()
    if auth:
        # Over STARTTLS aiosmtpd itself refuses AUTH before TLS; over implicit TLS it
        # cannot tell the session is encrypted, so it must not require it.
        kwargs.update(authenticator=handler.authenticate, auth_require_tls=(tls == "starttls"))
    controller = Controller(handler, hostname=LOOPBACK, port=server.port, **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
