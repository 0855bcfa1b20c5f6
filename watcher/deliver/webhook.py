"""The webhook channel: one digest → one signed JSON POST.

This module owns the request (body = the SPEC's webhook JSON, with the additive field
`feeds_needing_attention` when some feed is failing, stale or retired; or with `format: slack`
or `format: discord` the chat message built by `watcher.deliver.chat`; Standard Webhooks
headers `webhook-id`, `webhook-timestamp`, `webhook-signature` in every format) and the
reading of the answer: 2xx is delivered; 5xx, 408, 429, timeouts and connection
errors are retryable (honouring `Retry-After`, in seconds or as an HTTP date); every
other answer, redirects included, is permanent. Redirects are never followed: the
signed body must go only where the config says.

Signing (https://www.standardwebhooks.com): `v1,` + base64(HMAC-SHA256(key,
"{webhook-id}.{webhook-timestamp}.{body}")). A secret written `whsec_<base64>` is
base64-decoded to get the key bytes (the Standard Webhooks convention, what receivers'
libraries expect); any other secret is used as its UTF-8 bytes. Without a secret no
signature header is sent.

It does not schedule, batch or retry (`watcher.deliver.outbox`). Error messages name the
channel and its URL redacted (`watcher.deliver.redact`): they end up in logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import requests

from watcher import __version__
from watcher.config.models import WebhookChannel
from watcher.deliver.chat import discord_body, slack_body
from watcher.deliver.redact import redact_url, register_secrets, url_secrets
from watcher.exceptions import ConfigError, DeliveryError
from watcher.retry_after import parse_retry_after
from watcher.types import Digest

log = logging.getLogger("watcher.deliver.webhook")

SECRET_PREFIX = "whsec_"
USER_AGENT = f"watcher/{__version__} (+https://github.com/watcher-news/watcher)"
_RETRYABLE_4XX = {408, 425, 429}


class WebhookDeliverer:
    """POSTs digests to one webhook channel."""

    def __init__(self, channel: WebhookChannel, *, clock: Callable[[], float] = time.time,
                 session: requests.Session | None = None):
        self.channel = channel
        self.channel_id = channel.id
        self._clock = clock  # unix seconds: the signature's timestamp and Retry-After dates
        self._session = session or requests.Session()
        secret = channel.secret.get_secret_value() if channel.secret else None
        register_secrets([secret, *url_secrets(channel.url)])
        self._key = None if channel.secret is None else _channel_key(channel)
        self._where = f"webhook channel {channel.id!r} ({redact_url(channel.url)})"

    def send(self, digest: Digest) -> None:
        body = json.dumps(webhook_body(self.channel.format, digest))
        headers = self.headers(digest.id, int(self._clock()), body)
        response = self._post(body, headers)
        with response:
            self._check(response)
        log.info("%s: delivered digest %s (%d)", self._where, digest.id, response.status_code)

    def headers(self, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
        }
        if self._key is not None:
            headers["webhook-signature"] = sign(self._key, msg_id, timestamp, body)
        return headers

    def _post(self, body: str, headers: dict[str, str]) -> requests.Response:
        timeout = self.channel.timeout.total_seconds()
        try:
            return self._session.post(self.channel.url, data=body.encode("utf-8"),
                                      headers=headers, timeout=timeout,
                                      allow_redirects=False, stream=True)
        except requests.Timeout as e:
            raise DeliveryError(f"{self._where}: no answer within {timeout:g}s; will retry "
                                "later", retryable=True) from e
        except requests.ConnectionError as e:
            raise DeliveryError(f"{self._where}: cannot connect ({_reason(e)}); will retry "
                                "later", retryable=True) from e
        except requests.RequestException as e:
            raise DeliveryError(f"{self._where}: the request could not be made ({_reason(e)}); "
                                "check the channel's url", retryable=False) from e

    def _check(self, response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        answered = f"{self._where}: the receiver answered {status} {response.reason or ''}".rstrip()
        if 300 <= status < 400:
            location = redact_url(response.headers.get("Location", "") or "?")
            raise DeliveryError(f"{answered} redirecting to {location}; redirects are not "
                                "followed: put the final URL in the channel's url",
                                retryable=False)
        if status >= 500 or status in _RETRYABLE_4XX:
            retry_after = parse_retry_after(response.headers.get("Retry-After"),
                                            datetime.fromtimestamp(self._clock(), UTC))
            when = f"in {retry_after:g}s as asked" if retry_after is not None else "later"
            raise DeliveryError(f"{answered}; will retry {when}", retryable=True,
                                retry_after=retry_after)
        raise DeliveryError(f"{answered}; check the channel's url and secret, and the "
                            "receiver's logs", retryable=False)


def webhook_body(format: str, digest: Digest) -> dict:
    """The JSON document for the channel's `format`: json (the SPEC's digest), slack, discord."""
    if format == "slack":
        return slack_body(digest)
    if format == "discord":
        return discord_body(digest)
    return digest.to_json()


# --- signing ------------------------------------------------------------------------------


def secret_key(secret: str) -> bytes:
    """The HMAC key for a configured secret: `whsec_<base64>` decoded, else UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    return secret.encode("utf-8")


def _channel_key(channel: WebhookChannel) -> bytes:
    assert channel.secret is not None
    try:
        return secret_key(channel.secret.get_secret_value())
    except (binascii.Error, ValueError) as e:
        raise ConfigError(f"channel {channel.id!r}: secret starts with {SECRET_PREFIX!r} but "
                          "the rest is not valid base64; paste the secret exactly as the "
                          "receiver gave it, or drop the prefix to use it as plain text") from e


def sign(key: bytes, msg_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


# --- answers ------------------------------------------------------------------------------



def _reason(e: requests.RequestException) -> str:
    """A short cause without the URL (requests puts the full URL, tokens included, in it)."""
    cause: BaseException = e
    for _ in range(10):  # the root cause, a few links down: requests → urllib3 → socket
        parent = cause.__cause__ or cause.__context__
        if parent is None:
            break
        cause = parent
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return type(e).__name__

