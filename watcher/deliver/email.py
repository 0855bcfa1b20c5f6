"""The email channel: one digest → one multipart/alternative message over SMTP.

This module owns the message (headers, text + HTML parts with CSS inlined for mail
clients) and the SMTP dialogue (STARTTLS or implicit TLS, login, timeout), and turns
every SMTP or network failure into a one-line `DeliveryError`: 4xx replies, refused
connections and timeouts are retryable; 5xx replies, rejected logins and TLS problems
are not (they need a human).

It does not render the digest (`watcher.pipeline.digest`), schedule, batch or retry
(`watcher.deliver.outbox`).

TLS certificates are verified with `ssl.create_default_context()`, i.e. the system's
trust store. To trust a private CA (a company relay, a test server), point the standard
OpenSSL variable `SSL_CERT_FILE` at a PEM bundle that contains it.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

import css_inline

from watcher.config.models import EmailChannel, SmtpSettings
from watcher.deliver.redact import register_secrets
from watcher.exceptions import ConfigError, DeliveryError
from watcher.pipeline.digest import RenderedDigest, render_digest
from watcher.pipeline.digest_format import clean_line
from watcher.types import Digest

log = logging.getLogger("watcher.deliver.email")

# Remote stylesheets are never fetched: a digest must not make network requests.
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)
# Characters allowed in the left part of a Message-ID (RFC 5322 dot-atom text).
_MSGID_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")
_SERVER_TEXT_MAX = 200


class EmailDeliverer:
    """Sends digests to one email channel."""

    def __init__(self, channel: EmailChannel, *, templates: Path | None = None):
        self.channel = channel
        self.channel_id = channel.id
        self._templates = templates
        password = channel.smtp.password
        register_secrets([password.get_secret_value() if password else None])

    def send(self, digest: Digest) -> None:
        try:
            rendered = render_digest(digest, templates=self._templates,
                                     subject_prefix=self.channel.subject_prefix)
        except ConfigError as e:  # a broken template: retrying cannot help until it is fixed
            raise DeliveryError(f"email channel {self.channel_id!r}: {e}",
                                retryable=False) from e
        message = build_message(self.channel, digest, rendered)
        self._transmit(message)
        log.info("email channel %s: sent digest %s to %d recipient(s) via %s",
                 self.channel_id, digest.id, len(self.channel.to), _where(self.channel.smtp))

    def _transmit(self, message: EmailMessage) -> None:
        smtp = self.channel.smtp
        try:
            session = _connect(smtp)
            try:
                _login(session, smtp)
                refused = session.send_message(message, from_addr=envelope_sender(self.channel),
                                               to_addrs=list(self.channel.to))
            finally:
                _hang_up(session)
        except (smtplib.SMTPException, OSError) as e:
            raise classify(e, self.channel) from e
        if refused:
            # Some recipients got it: resending would duplicate it for them, so it counts
            # as delivered and the refusals are logged for the operator.
            log.warning("email channel %s: server refused %s; the others received digest %s",
                        self.channel_id, ", ".join(sorted(refused)), message["Message-ID"])


# --- the message -----------------------------------------------------------------------


def inline_css(html: str) -> str:
    """Move the template's <style> rules into style="" attributes (Gmail drops <style>)."""
    return _INLINER.inline(html)


def sender_domain(from_: str) -> str:
    """The domain of the From address, for Message-ID and List-Id."""
    address = parseaddr(from_)[1]
    domain = address.rpartition("@")[2].strip().strip("[]")
    return _MSGID_UNSAFE.sub("", domain) or "watcher.invalid"


def envelope_sender(channel: EmailChannel) -> str:
    return parseaddr(channel.from_)[1] or channel.from_


def message_id(digest_id: str, domain: str) -> str:
    """`<digest-id@domain>`: the same digest always gets the same Message-ID, so a
    retry after a lost reply is recognisable as the same message."""
    left = re.sub(r"\.{2,}", ".", _MSGID_UNSAFE.sub("-", digest_id)).strip(".") or "digest"
    return f"<{left}@{domain}>"


def header_text(value: str) -> str:
    """A header value from untrusted text: one line, no CR/LF (no header injection)."""
    return clean_line(value)


def list_unsubscribe(value: str) -> str:
    """'https://…, mailto:…' → '<https://…>, <mailto:…>' (RFC 2369 form)."""
    value = header_text(value)
    if "<" in value:
        return value
    return ", ".join(f"<{part.strip()}>" for part in value.split(",") if part.strip())


def build_message(channel: EmailChannel, digest: Digest, rendered: RenderedDigest) -> EmailMessage:
    """The complete email for one digest: deterministic for a given digest and channel."""
    domain = sender_domain(channel.from_)
    message = EmailMessage()
    message["Subject"] = header_text(rendered.subject)
    message["From"] = header_text(channel.from_)
    message["To"] = ", ".join(header_text(t) for t in channel.to)
    message["Date"] = format_datetime(digest.generated_at.astimezone(UTC), usegmt=True)
    message["Message-ID"] = message_id(digest.id, domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    message["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
    message["List-Id"] = f"watcher digest {channel.id} <{channel.id}.watcher.{domain}>"
    if channel.list_unsubscribe:
        message["List-Unsubscribe"] = list_unsubscribe(channel.list_unsubscribe)
    message.set_content(rendered.text)
    message.add_alternative(inline_css(rendered.html), subtype="html")
    return message


# --- SMTP -------------------------------------------------------------------------------


def _where(smtp: SmtpSettings) -> str:
    return f"{smtp.host}:{smtp.port}"


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    """An open session, TLS-protected unless the config turned both TLS modes off."""
    timeout = smtp.timeout.total_seconds()
    context = ssl.create_default_context()
    if smtp.ssl:
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
    session = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    if smtp.starttls:
        try:
            session.starttls(context=context)
        except BaseException:
            session.close()
            raise
    return session


def _hang_up(session: smtplib.SMTP) -> None:
    """QUIT, ignoring its failures: once the server accepted the message, a bad goodbye
    must not turn a delivery into a "failure" that would be sent again."""
    try:
        session.quit()
    except (smtplib.SMTPException, OSError):
        session.close()


def _login(session: smtplib.SMTP, smtp: SmtpSettings) -> None:
    if not smtp.username:
        return
    if not smtp.ssl and not smtp.starttls:
        log.warning("SMTP %s: sending the password without TLS (smtp.starttls and smtp.ssl "
                    "are both false)", _where(smtp))
    password = smtp.password.get_secret_value() if smtp.password else ""
    session.login(smtp.username, password)


def _server_text(error: smtplib.SMTPResponseException) -> str:
    raw = error.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return clean_line(text)[:_SERVER_TEXT_MAX]


def _reply_error(e: smtplib.SMTPResponseException, channel: EmailChannel) -> DeliveryError:
    smtp = channel.smtp
    prefix = f"email channel {channel.id!r}: SMTP server {_where(smtp)}"
    code = e.smtp_code
    temporary = not (500 <= code < 600)  # 4xx, and odd codes (-1: no reply), may pass later
    if isinstance(e, smtplib.SMTPAuthenticationError) and not temporary:
        return DeliveryError(f"{prefix} rejected the login of user {smtp.username!r} ({code}); "
                             "check smtp.username and smtp.password", retryable=False)
    hint = ("will retry later" if temporary else
            "check the channel's from/to addresses and the server's policy")
    return DeliveryError(f"{prefix} answered {code} {_server_text(e)}; {hint}",
                         retryable=temporary)


def _recipients_error(e: smtplib.SMTPRecipientsRefused, channel: EmailChannel) -> DeliveryError:
    codes = sorted({code for code, _ in e.recipients.values()})
    temporary = all(400 <= code < 500 for code in codes)
    hint = "will retry later" if temporary else "check the channel's `to` addresses"
    return DeliveryError(
        f"email channel {channel.id!r}: SMTP server {_where(channel.smtp)} refused every "
        f"recipient ({', '.join(map(str, codes))}): {', '.join(sorted(e.recipients))}; {hint}",
        retryable=temporary)


def _tls_error(e: ssl.SSLError, channel: EmailChannel) -> DeliveryError:
    where = _where(channel.smtp)
    if isinstance(e, ssl.SSLCertVerificationError):
        reason = clean_line(e.verify_message or str(e))
        return DeliveryError(
            f"email channel {channel.id!r}: the TLS certificate of {where} could not be "
            f"verified ({reason}); fix the server's certificate or point SSL_CERT_FILE at "
            "the CA bundle that signed it", retryable=False)
    reason = clean_line(e.reason or str(e))
    return DeliveryError(
        f"email channel {channel.id!r}: TLS with {where} failed ({reason}); "
        "check smtp.port with smtp.ssl (implicit TLS, usually 465) or smtp.starttls (587)",
        retryable=False)


def _timed_out(e: BaseException) -> bool:
    """A timeout, even when smtplib re-raised it as "Connection unexpectedly closed"."""
    return any(isinstance(x, TimeoutError) for x in (e, e.__cause__, e.__context__))


def _network_error(e: OSError, channel: EmailChannel) -> DeliveryError:
    where = _where(channel.smtp)
    prefix = f"email channel {channel.id!r}:"
    if isinstance(e, socket.gaierror):
        what = f"cannot resolve host {channel.smtp.host!r}"
    elif isinstance(e, ConnectionRefusedError):
        what = f"nothing accepts connections at {where}"
    elif _timed_out(e):
        what = f"{where} did not answer within {channel.smtp.timeout.total_seconds():g}s"
    else:
        what = f"network error talking to {where} ({clean_line(str(e)) or type(e).__name__})"
    return DeliveryError(f"{prefix} {what}; will retry later (check smtp.host and smtp.port "
                         "if this persists)", retryable=True)


def classify(e: BaseException, channel: EmailChannel) -> DeliveryError:
    """The DeliveryError for an smtplib/socket/ssl failure: retryable unless a human must act."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return _recipients_error(e, channel)
    if isinstance(e, smtplib.SMTPResponseException):
        return _reply_error(e, channel)
    if isinstance(e, smtplib.SMTPNotSupportedError):
        return DeliveryError(
            f"email channel {channel.id!r}: SMTP server {_where(channel.smtp)} does not "
            f"support a required feature ({clean_line(str(e))}); check smtp.starttls, "
            "smtp.ssl and smtp.username", retryable=False)
    if isinstance(e, ssl.SSLError):
        return _tls_error(e, channel)
    if isinstance(e, OSError):
        return _network_error(e, channel)
    return DeliveryError(f"email channel {channel.id!r}: SMTP failure with "
                         f"{_where(channel.smtp)} ({clean_line(str(e)) or type(e).__name__}); "
                         "will retry later", retryable=True)
