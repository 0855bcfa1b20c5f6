"""The `channels:` section: where digests go (email, webhook, Apprise), when, and retries.

This module owns the keys, defaults and checks of each channel type, told apart by its
`type:` key (`Channel`), with the SMTP settings of email, the schedule and topics every
channel shares, and how long a channel waits before retrying a failed delivery.

It does not own delivering (`watcher.deliver`, whose registry maps a `type` to its
deliverer) nor the checks that span sections, such as a channel naming an unknown topic
(`watcher.config.references`).
"""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from watcher.config.fields import Duration, Identifier, Section


class SmtpSettings(Section):
    host: str
    port: int = 587
    starttls: bool = True
    ssl: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: SecretStr | None = None
    timeout: Duration = timedelta(seconds=30)


class RetrySettings(Section):
    """How long a channel waits before retrying a temporary failure: `first`, doubling
    after each failed attempt up to `max` (±20% jitter; never less than Retry-After)."""

    first: Duration = timedelta(seconds=30)
    max: Duration = timedelta(hours=6)

    @model_validator(mode="after")
    def _ordered(self) -> RetrySettings:
        if self.first <= timedelta(0) or self.max < self.first:
            raise ValueError("retry.first must be positive and retry.max at least retry.first")
        return self


class _ChannelBase(Section):
    id: Identifier
    schedule: str = "immediate"  # "immediate" or a 5-field cron expression
    topics: list[str] | None = None  # None: every topic
    retry: RetrySettings = RetrySettings()


class EmailChannel(_ChannelBase):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)
    from_: str = Field(alias="from")
    smtp: SmtpSettings
    subject_prefix: str = "[watcher]"
    list_unsubscribe: str | None = None


class WebhookChannel(_ChannelBase):
    type: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    timeout: Duration = timedelta(seconds=15)
    format: Literal["json", "slack", "discord"] = "json"


def apprise_installed() -> bool:
    """Whether the optional `apprise` package can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("apprise") is not None
    except (ImportError, ValueError):
        return False


class AppriseChannel(_ChannelBase):
    """Notifications through Apprise (https://github.com/caronc/apprise): one plain-text
    digest to every URL (slack://, discord://, tgram://, mailto://, json://, …)."""

    type: Literal["apprise"]
    urls: list[SecretStr] = Field(min_length=1)  # URLs carry tokens: secrets, never logged

    @field_validator("type")
    @classmethod
    def _installed(cls, value: str) -> str:
        if not apprise_installed():
            raise ValueError("the apprise channel type needs the apprise package, which is "
                             "not installed; run: pip install 'watcher[apprise]'")
        return value


Channel = Annotated[EmailChannel | WebhookChannel | AppriseChannel,
                    Field(discriminator="type")]
