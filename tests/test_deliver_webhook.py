"""Webhook delivery against a real HTTP receiver on 127.0.0.1: the SPEC's JSON body, Standard
Webhooks signatures checked by an independent verifier, and which answers are retried."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from tests.support.webhook_receiver import RecordedRequest, Reply, webhook_receiver
from watcher.config.models import WebhookChannel
from watcher.deliver import WebhookDeliverer, make_deliverer
from watcher.deliver.webhook import secret_key, sign
from watcher.exceptions import ConfigError, DeliveryError
from watcher.types import ArticleRef, Digest, FigureChange, FigureRecord

UTC = timezone.utc
CLOCK = 1_795_849_200.0  # 2026-11-28T07:00:00Z, the moment the tests "send" at
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def channel(url: str, **extra: Any) -> WebhookChannel:
    return WebhookChannel.model_validate({"id": "ops", "type": "webhook", "url": url, **extra})


def deliverer(url: str, **extra: Any) -> WebhookDeliverer:
    return WebhookDeliverer(channel(url, **extra), clock=lambda: CLOCK)


@pytest.fixture
def digest() -> Digest:
    article = ArticleRef(title="Seoul: 2,000 North Korean soldiers killed",
                         url="https://news.example.org/a/1", feed="example-world",
                         published=datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    previous = FigureRecord(value=600, value_max=None, qualifier="approx",
                            source="South Korean intelligence",
                            published=datetime(2025, 10, 24, 9, tzinfo=UTC),
                            quote="circa 600 militari nordcoreani sarebbero stati uccisi")
    current = FigureRecord(value=2000, value_max=None, qualifier="approx",
                           source="South Korean intelligence",
                           published=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
                           quote="Seoul now estimates about 2,000 killed.", articles=(article,))
    change = FigureChange(id="c1", topic="dprk-troops",
                          topic_name="North Korean troops in the Russia–Ukraine war",
                          metric="killed", kind="changed", previous=previous, current=current)
    return Digest(id="dg-7f3a", channel="ops", generated_at=datetime(2026, 11, 28, 7, tzinfo=UTC),
                  changes=(change,))


def verify_standard_webhook(secret: str, request: RecordedRequest) -> bool:
    """Written from the Standard Webhooks spec, independently of watcher's signer."""
    msg_id, timestamp = request.header("webhook-id"), request.header("webhook-timestamp")
    key = (base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_")
           else secret.encode("utf-8"))
    signed = f"{msg_id}.{timestamp}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = (request.header("webhook-signature") or "").split(" ")
    return any(version == "v1" and hmac.compare_digest(value, expected)
               for version, _, value in (s.partition(",") for s in signatures))


def test_the_receiver_gets_the_spec_json(digest: Digest):
    with webhook_receiver([200]) as hook:
        deliverer(hook.url).send(digest)
    [request] = hook.requests
    assert request.method == "POST"
    assert request.header("content-type") == "application/json"
    assert json.loads(request.body) == {
        "type": "watcher.digest", "version": 1, "id": "dg-7f3a",
        "generated_at": "2026-11-28T07:00:00Z",
        "changes": [{
            "topic": "dprk-troops",
            "topic_name": "North Korean troops in the Russia–Ukraine war",
            "metric": "killed", "kind": "changed",
            "previous": {"value": 600, "value_max": None, "qualifier": "approx",
                         "source": "South Korean intelligence",
                         "published": "2025-10-24T09:00:00Z"},
            "current": {"value": 2000, "value_max": None, "qualifier": "approx",
                        "source": "South Korean intelligence",
                        "published": "2026-11-27T09:30:00Z",
                        "quote": "Seoul now estimates about 2,000 killed.",
                        "articles": [{"title": "Seoul: 2,000 North Korean soldiers killed",
                                      "url": "https://news.example.org/a/1",
                                      "feed": "example-world",
                                      "published": "2026-11-27T09:30:00Z"}]},
            "delta": 1400, "delta_pct": 233.3,
        }],
    }
    assert isinstance(json.loads(request.body)["changes"][0]["current"]["value"], int)


def test_standard_webhooks_headers_and_a_signature_that_verifies(digest: Digest):
    with webhook_receiver([200]) as hook:
        deliverer(hook.url, secret=SECRET).send(digest)
    [request] = hook.requests
    assert request.header("webhook-id") == "dg-7f3a"
    assert request.header("webhook-timestamp") == "1795849200"
    assert request.header("webhook-signature").startswith("v1,")
    assert verify_standard_webhook(SECRET, request)
    assert not verify_standard_webhook("whsec_" + base64.b64encode(b"x" * 32).decode(), request)


def test_a_secret_without_the_whsec_prefix_is_used_as_its_utf8_bytes(digest: Digest):
    with webhook_receiver([200]) as hook:
        deliverer(hook.url, secret="correct horse battery staple").send(digest)
    assert verify_standard_webhook("correct horse battery staple", hook.requests[0])


def test_without_a_secret_nothing_is_signed(digest: Digest):
    with webhook_receiver([200]) as hook:
        deliverer(hook.url).send(digest)
    assert hook.requests[0].header("webhook-signature") is None


def test_signing_matches_the_standard_webhooks_reference_vector():
    key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_retry_after_a_500_carries_the_same_id(digest: Digest):
    with webhook_receiver([500, 200]) as hook:
        sender = deliverer(hook.url, secret=SECRET)
        with pytest.raises(DeliveryError) as caught:
            sender.send(digest)
        sender.send(digest)
    assert caught.value.retryable
    assert "500" in str(caught.value) and "'ops'" in str(caught.value)
    assert [r.header("webhook-id") for r in hook.requests] == ["dg-7f3a", "dg-7f3a"]
    assert hook.requests[0].body == hook.requests[1].body


@pytest.mark.parametrize("status", [404, 401, 410, 422])
def test_client_errors_are_permanent(digest: Digest, status: int):
    with webhook_receiver([status]) as hook:
        with pytest.raises(DeliveryError) as caught:
            deliverer(hook.url).send(digest)
    assert not caught.value.retryable
    assert str(status) in str(caught.value)


@pytest.mark.parametrize("status", [408, 429, 502, 503])
def test_timeouts_throttling_and_server_errors_are_retryable(digest: Digest, status: int):
    with webhook_receiver([status]) as hook:
        with pytest.raises(DeliveryError) as caught:
            deliverer(hook.url).send(digest)
    assert caught.value.retryable


def test_retry_after_in_seconds_is_honoured(digest: Digest):
    with webhook_receiver([Reply(429, {"Retry-After": "30"})]) as hook:
        with pytest.raises(DeliveryError) as caught:
            deliverer(hook.url).send(digest)
    assert caught.value.retryable and caught.value.retry_after == 30


def test_retry_after_as_an_http_date_is_honoured(digest: Digest):
    two_minutes_later = datetime.fromtimestamp(CLOCK + 120, UTC)
    when = format_datetime(two_minutes_later, usegmt=True)
    with webhook_receiver([Reply(503, {"Retry-After": when})]) as hook:
        with pytest.raises(DeliveryError) as caught:
            deliverer(hook.url).send(digest)
    assert caught.value.retryable and caught.value.retry_after == 120


def test_a_slow_receiver_past_the_timeout_is_retryable(digest: Digest):
    with webhook_receiver([200], delay=5.0) as hook:
        with pytest.raises(DeliveryError) as caught:
            deliverer(hook.url, timeout="0.3s").send(digest)
    assert caught.value.retryable
    assert "0.3s" in str(caught.value)


def test_a_redirect_is_not_followed(digest: Digest):
    with webhook_receiver([200]) as elsewhere:
        moved = Reply(307, {"Location": elsewhere.url})
        with webhook_receiver([moved]) as hook:
            with pytest.raises(DeliveryError) as caught:
                deliverer(hook.url, secret=SECRET).send(digest)
    assert len(hook.requests) == 1
    assert elsewhere.requests == []  # the signed digest never went where the config doesn't say
    assert not caught.value.retryable
    assert "redirect" in str(caught.value)


def test_nothing_listening_is_retryable(digest: Digest):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError) as caught:
        deliverer(f"http://127.0.0.1:{port}/hook").send(digest)
    assert caught.value.retryable
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_error_messages_never_show_credentials_from_the_url(digest: Digest):
    with webhook_receiver([404]) as hook:
        url = hook.url.replace("http://", "http://bot:pa55word@") + "?token=t0ps3cret&team=desk"
        with pytest.raises(DeliveryError) as caught:
            deliverer(url).send(digest)
    message = str(caught.value)
    assert "pa55word" not in message and "t0ps3cret" not in message and "bot:" not in message
    assert hook.url in message  # still says where it went
    assert "\n" not in message


def test_a_broken_whsec_secret_is_a_config_error_naming_the_channel():
    with pytest.raises(ConfigError) as caught:
        make_deliverer(channel("http://127.0.0.1:9/hook", secret="whsec_not base64!"))
    assert "'ops'" in str(caught.value) and "not base64!" not in str(caught.value)
