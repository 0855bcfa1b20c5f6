"""The optional `apprise` channel: one digest → a plain-text notification to every
Apprise URL of the channel (Telegram, Slack, Discord, Teams, ntfy, mailto, json, …).

This module owns the hand-off to Apprise: the title (the digest's subject line), the
body (the plain-text digest, which ends with the digest id so a repeat can be
recognised by a reader) and the reading of Apprise's answer. Apprise reports only
success or failure per service, so a failure is treated as temporary (retried with
the channel's backoff). When some services accepted and others failed, the digest is
retried for all: Apprise cannot address a subset of one channel's URLs by result.

Apprise is an optional dependency (`pip install 'watcher[apprise]'`): it is imported
here, when a channel of this type is built, never when watcher is imported. Config
validation (`watcher check`) already refuses this channel type when it is missing.

The URLs hold tokens: they are registered with `watcher.deliver.redact` and never
written into an error message.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from watcher.config.models import AppriseChannel
from watcher.deliver.redact import opaque_url_secrets, register_secrets
from watcher.exceptions import ConfigError, DeliveryError
from watcher.pipeline.digest import render_digest
from watcher.types import Digest

log = logging.getLogger("watcher.deliver.apprise")

INSTALL_HINT = "pip install 'watcher[apprise]'"


@contextmanager
def _quiet() -> Iterator[None]:
    """Apprise loads its plugins lazily, one of which imports the deprecated `imghdr`:
    a warning about Apprise's code, not the user's, so it is not shown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _import_apprise() -> Any:
    try:
        with _quiet():
            import apprise
    except ImportError as e:
        raise ConfigError(f"the apprise channel type needs the apprise package, which is not "
                          f"installed; run: {INSTALL_HINT}") from e
    return apprise


class AppriseDeliverer:
    """Sends digests to the services of one apprise channel."""

    def __init__(self, channel: AppriseChannel, *, templates: Path | None = None):
        self.channel = channel
        self.channel_id = channel.id
        self._templates = templates
        urls = [u.get_secret_value() for u in channel.urls]
        register_secrets([piece for url in urls for piece in opaque_url_secrets(url)])
        self._apprise = _import_apprise()
        self._notifier = self._apprise.Apprise()
        for i, url in enumerate(urls):
            with _quiet():
                added = self._notifier.add(url)
            if not added:
                raise ConfigError(f"channel {channel.id!r}: urls[{i}] is not a URL Apprise "
                                  "understands; see https://github.com/caronc/apprise/wiki "
                                  "for the URL of your service")

    def send(self, digest: Digest) -> None:
        try:
            rendered = render_digest(digest, templates=self._templates, subject_prefix="")
        except ConfigError as e:
            raise DeliveryError(f"apprise channel {self.channel_id!r}: {e}",
                                retryable=False) from e
        with _quiet():
            ok = self._notifier.notify(body=rendered.text, title=rendered.subject,
                                       body_format=self._apprise.NotifyFormat.TEXT)
        if not ok:
            raise DeliveryError(
                f"apprise channel {self.channel_id!r}: not every service accepted digest "
                f"{digest.id} (URLs not shown: they hold tokens; run with --debug for "
                "Apprise's own log); will retry later", retryable=True)
        log.info("apprise channel %s: sent digest %s to %d service(s)", self.channel_id,
                 digest.id, len(self.channel.urls))
