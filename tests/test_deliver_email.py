"""Email delivery against a real SMTP server on 127.0.0.1 (aiosmtpd): what arrives in the
mailbox, TLS and login, and which failures are worth retrying."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.support.smtp import TlsCert, self_signed_cert, smtp_server
from watcher.config.models import EmailChannel
from watcher.deliver import CHANNEL_TYPES, EmailDeliverer, WebhookDeliverer, make_deliverer
from watcher.exceptions import DeliveryError
from watcher.pipeline.digest import sample_digest
from watcher.types import Digest

# aiosmtpd itself (not our code) warns about its own deprecated Session.login_data on
# every successful AUTH; with warnings as errors that would break the server's thread.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Session.login_data is deprecated:DeprecationWarning")

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc)
SUBJECT = ("[watcher] killed 600 → 2,000 · North Korean troops in the Russia–Ukraine war "
           "(+2 more)")


def channel(host: str, port: int, **smtp: Any) -> EmailChannel:
    extra = {k: smtp.pop(k) for k in ("list_unsubscribe",) if k in smtp}
    return EmailChannel.model_validate({
        "id": "desk", "type": "email", "to": ["desk@example.org", "editor@example.org"],
        "from": "Watcher <watcher@news.example.org>",
        "smtp": {"host": host, "port": port, "starttls": False, "timeout": "5s", **smtp},
        **extra,
    })


@pytest.fixture
def digest() -> Digest:
    return sample_digest("desk", NOW)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> TlsCert:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trust(cert: TlsCert, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsCert]:
    """Make the test certificate trusted the way a user trusts a private CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert_file))
    yield cert


def test_the_digest_arrives_as_text_and_html_alternatives(digest: Digest):
    with smtp_server() as server:
        EmailDeliverer(channel(server.host, server.port)).send(digest)
    [message] = server.messages
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == SUBJECT
    assert message["From"] == "Watcher <watcher@news.example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == NOW  # the digest's generated_at
    text = message.get_body(("plain",)).get_content()
    assert "killed: 600 → 2,000 (+1,400, +233%)" in text
    assert sorted(server.envelopes[0].rcpt_tos) == ["desk@example.org", "editor@example.org"]
    assert server.envelopes[0].mail_from == "watcher@news.example.org"


def test_html_part_has_its_css_inlined_for_mail_clients(digest: Digest):
    with smtp_server() as server:
        EmailDeliverer(channel(server.host, server.port)).send(digest)
    html = server.messages[0].get_body(("html",)).get_content()
    assert "<style" not in html  # Gmail drops <style>: the rules must be on the elements
    assert 'style="' in html
    assert "killed: 600 → 2,000 (+1,400, +233%)" in html


def test_the_same_digest_sent_twice_keeps_its_message_id(digest: Digest):
    other = sample_digest("desk", datetime(2026, 11, 29, 7, tzinfo=timezone.utc))
    with smtp_server() as server:
        deliverer = EmailDeliverer(channel(server.host, server.port))
        deliverer.send(digest)
        deliverer.send(digest)  # a retry after a lost "250 OK"
        deliverer.send(other)
    ids = [m["Message-ID"] for m in server.messages]
    assert ids[0] == ids[1] == f"<{digest.id}@news.example.org>"
    assert ids[2] != ids[0]


def test_list_unsubscribe_only_when_configured(digest: Digest):
    with smtp_server() as server:
        EmailDeliverer(channel(server.host, server.port)).send(digest)
        EmailDeliverer(channel(server.host, server.port,
                               list_unsubscribe="mailto:unsubscribe@news.example.org")).send(digest)
    assert server.messages[0]["List-Unsubscribe"] is None
    assert server.messages[1]["List-Unsubscribe"] == "<mailto:unsubscribe@news.example.org>"


def test_starttls_with_login_over_a_verified_certificate(digest: Digest, trust: TlsCert):
    with smtp_server(tls="starttls", cert=trust, auth=("watcher", "s3cret")) as server:
        deliverer = EmailDeliverer(channel(server.host, server.port, starttls=True,
                                           username="watcher", password="s3cret"))
        deliverer.send(digest)
    # The server refuses MAIL before STARTTLS and before AUTH: arriving proves both happened.
    assert server.logins == ["watcher"]
    assert server.messages[0]["Subject"] == SUBJECT


def test_implicit_tls_with_login(digest: Digest, trust: TlsCert):
    with smtp_server(tls="implicit", cert=trust, auth=("watcher", "s3cret")) as server:
        EmailDeliverer(channel(server.host, server.port, ssl=True, username="watcher",
                               password="s3cret")).send(digest)
    assert server.logins == ["watcher"]
    assert len(server.messages) == 1


def test_an_untrusted_certificate_is_refused_and_not_retried(
        digest: Digest, cert: TlsCert, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    stranger = self_signed_cert(tmp_path, "localhost")  # trusted: some other certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(stranger.cert_file))
    with smtp_server(tls="starttls", cert=cert) as server:
        with pytest.raises(DeliveryError) as caught:
            EmailDeliverer(channel(server.host, server.port, starttls=True)).send(digest)
    assert not caught.value.retryable
    assert "certificate" in str(caught.value) and "SSL_CERT_FILE" in str(caught.value)
    assert server.messages == []


def test_a_wrong_password_is_permanent_and_never_shown(digest: Digest, trust: TlsCert):
    with smtp_server(tls="starttls", cert=trust, auth=("watcher", "s3cret")) as server:
        with pytest.raises(DeliveryError) as caught:
            EmailDeliverer(channel(server.host, server.port, starttls=True, username="watcher",
                                   password="hunter2-wrong")).send(digest)
    assert not caught.value.retryable
    assert "hunter2-wrong" not in str(caught.value)
    assert "smtp.password" in str(caught.value)
    assert server.messages == []


def test_a_451_answer_to_data_is_retryable(digest: Digest):
    with smtp_server(data_reply="451 4.3.0 Mailbox busy, try again later") as server:
        with pytest.raises(DeliveryError) as caught:
            EmailDeliverer(channel(server.host, server.port)).send(digest)
    assert caught.value.retryable
    assert "451" in str(caught.value) and "'desk'" in str(caught.value)


def test_a_550_answer_to_data_is_permanent(digest: Digest):
    with smtp_server(data_reply="550 5.7.1 Message rejected as spam") as server:
        with pytest.raises(DeliveryError) as caught:
            EmailDeliverer(channel(server.host, server.port)).send(digest)
    assert not caught.value.retryable
    assert "550" in str(caught.value)


def test_nothing_listening_is_retryable(digest: Digest):
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError) as caught:
        EmailDeliverer(channel("127.0.0.1", port)).send(digest)
    assert caught.value.retryable
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_a_server_that_never_greets_times_out_retryably(digest: Digest):
    with socket.socket() as mute:  # accepts TCP connections (backlog) but never speaks
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)
        port = mute.getsockname()[1]
        with pytest.raises(DeliveryError) as caught:
            EmailDeliverer(channel("127.0.0.1", port, timeout="0.3s")).send(digest)
    assert caught.value.retryable
    assert "did not answer within 0.3s" in str(caught.value)


def test_feed_text_cannot_inject_headers(digest: Digest):
    change = digest.changes[0]
    hostile = type(change)(**{**{f: getattr(change, f) for f in change.__slots__},
                              "topic_name": "Troops\r\nBcc: victim@example.net\r\n"})
    evil = type(digest)(id=digest.id, channel=digest.channel, generated_at=digest.generated_at,
                        changes=(hostile,), history=digest.history)
    with smtp_server() as server:
        EmailDeliverer(channel(server.host, server.port)).send(evil)
    [message] = server.messages
    assert message["Bcc"] is None
    assert message["Subject"] == "[watcher] killed 600 → 2,000 · Troops Bcc: victim@example.net"
    assert "victim@example.net" not in server.envelopes[0].rcpt_tos


def test_the_registry_builds_the_deliverer_for_each_channel_type():
    email = channel("127.0.0.1", 25)
    assert isinstance(make_deliverer(email), EmailDeliverer)
    assert make_deliverer(email).channel_id == "desk"
    assert set(CHANNEL_TYPES) == {"email", "webhook", "apprise"}
    assert CHANNEL_TYPES["webhook"].factory is WebhookDeliverer
    assert all(kind.description for kind in CHANNEL_TYPES.values())


def test_a_broken_template_fails_permanently_before_anything_is_sent(digest: Digest,
                                                                    tmp_path: Path):
    (tmp_path / "digest.txt.j2").write_text("{{ missing.value }}")
    (tmp_path / "digest.html.j2").write_text("<p></p>")
    with smtp_server() as server:
        with pytest.raises(DeliveryError) as caught:
            EmailDeliverer(channel(server.host, server.port), templates=tmp_path).send(digest)
    assert not caught.value.retryable
    assert "digest.txt.j2:1" in str(caught.value)
    assert server.messages == []


def test_an_accepted_message_counts_as_sent_even_if_the_goodbye_fails(digest: Digest):
    with smtp_server(quit_reply="421 4.3.2 Shutting down") as server:
        EmailDeliverer(channel(server.host, server.port)).send(digest)  # no error: no resend
    assert len(server.messages) == 1
