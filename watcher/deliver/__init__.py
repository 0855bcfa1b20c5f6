"""The delivery channels, as a small registry keyed by the channel's `type`.

This package owns *how* a digest leaves watcher: `email` (SMTP, text + HTML),
`webhook` (signed JSON POST: watcher's JSON, Slack or Discord) and, when the optional
Apprise package is installed, `apprise` (100+ notification services). Each deliverer takes
its validated channel settings and sends one `Digest`, raising `DeliveryError` with
`retryable` set when it fails.

It does not decide *when* to send, batch changes, retry or remember what was sent:
that is `watcher.deliver.outbox` and `watcher.storage`. Config validation of the
channel sections is `watcher.config.models`; this registry only maps a type to its
deliverer and to the one-line description shown in `--help`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from watcher.config.models import AppriseChannel, EmailChannel, WebhookChannel
from watcher.deliver.apprise_channel import AppriseDeliverer
from watcher.deliver.email import EmailDeliverer
from watcher.deliver.webhook import WebhookDeliverer
from watcher.exceptions import ConfigError
from watcher.types import Digest


class Deliverer(Protocol):
    """Sends digests to one channel."""

    channel_id: str

    def send(self, digest: Digest) -> None:
        """Deliver `digest`, or raise DeliveryError(retryable=…, retry_after=…)."""


@dataclass(frozen=True)
class ChannelType:
    """A registered channel type: its settings model, its deliverer and a help line."""

    settings: type[Any]
    factory: Callable[[Any], Deliverer]
    description: str


CHANNEL_TYPES: dict[str, ChannelType] = {
    "email": ChannelType(
        settings=EmailChannel,
        factory=EmailDeliverer,
        description="email digest over SMTP (STARTTLS or implicit TLS), plain text + HTML",
    ),
    "webhook": ChannelType(
        settings=WebhookChannel,
        factory=WebhookDeliverer,
        description="JSON POST of each digest (format: json, slack or discord), signed with "
                    "Standard Webhooks HMAC-SHA256",
    ),
    "apprise": ChannelType(
        settings=AppriseChannel,
        factory=AppriseDeliverer,
        description="plain-text notification to Apprise URLs (Telegram, Slack, ntfy, …); "
                    "needs pip install 'watcher[apprise]'",
    ),
}


def channel_types_help() -> str:
    """'email: …' lines for `watcher --help` and `watcher check`."""
    return "\n".join(f"{name}: {kind.description}" for name, kind in CHANNEL_TYPES.items())


def make_deliverer(channel: EmailChannel | WebhookChannel | AppriseChannel) -> Deliverer:
    """The deliverer for a validated channel section."""
    kind = CHANNEL_TYPES.get(channel.type)
    if kind is None:
        known = ", ".join(CHANNEL_TYPES)
        raise ConfigError(f"channel {channel.id!r}: unknown type {channel.type!r}; "
                          f"use one of: {known}")
    return kind.factory(channel)


__all__ = ["CHANNEL_TYPES", "AppriseDeliverer", "ChannelType", "Deliverer", "EmailDeliverer",
           "WebhookDeliverer", "channel_types_help", "make_deliverer"]
