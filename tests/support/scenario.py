"""Building blocks for end-to-end tests: RSS documents and config files on disk.

The servers themselves are in feed_server.py, smtp.py and webhook_receiver.py.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    text: str
    published: datetime


# The founding story as two wire items: about 600 killed, then about 2,000 (same source).
NK_600 = Item("nk-1", "North Korean troops suffer losses in Kursk",
              "About 600 North Korean soldiers have been killed fighting for Russia in the Kursk "
              "region, South Korea's intelligence service said on Thursday.",
              datetime(2025, 10, 24, 9, tzinfo=UTC))
NK_2000 = Item("nk-2", "Toll rises among North Korean troops in Russia",
               "About 2,000 North Korean soldiers have been killed fighting for Russia in the "
               "Kursk region, South Korea's intelligence service said on Monday.",
               datetime(2025, 11, 10, 9, tzinfo=UTC))


def rss(items: list[Item], title: str = "Test wire") -> bytes:
    body = "".join(
        f"<item><guid>{escape(i.guid)}</guid><title>{escape(i.title)}</title>"
        f"<link>https://news.example.org/{escape(i.guid)}</link>"
        f"<description>{escape(i.text)}</description>"
        f"<pubDate>{format_datetime(i.published)}</pubDate></item>"
        for i in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{escape(title)}</title><link>https://news.example.org/</link>"
            f"<description>t</description>{body}</channel></rss>").encode()


def dprk_config(tmp: Path, *, feed_url: str, smtp_port: int | None = None,
                webhook_url: str | None = None, secret: str | None = None,
                interval: str = "15m") -> Path:
    """A config for the founding topic with whichever channels the test runs servers for."""
    channels = []
    if smtp_port:
        channels.append(f"""
  - id: desk
    type: email
    to: [desk@example.org]
    from: watcher@example.org
    smtp: {{host: 127.0.0.1, port: {smtp_port}, starttls: false}}
    schedule: immediate""")
    if webhook_url:
        channels.append(f"""
  - id: ops
    type: webhook
    url: {webhook_url}
    schedule: immediate""" + (f"\n    secret: {secret}" if secret else ""))
    text = f"""
database: sqlite:///{tmp / 'watcher.db'}
fetch: {{host_spacing: 0s}}  # all test feeds share one loopback host
feeds:
  - id: wire
    url: {feed_url}
    interval: {interval}
topics:
  - id: dprk-troops
    name: North Korean troops in the Russia–Ukraine war
    match:
      all: [[North Korea, North Korean, DPRK, Pyongyang]]
      any: [Russia, Kursk, Ukraine]
    subject: [North Korean, North Korea, DPRK]
    figures: [deployed, killed, wounded, captured]
channels:{''.join(channels) or ' []'}
"""
    path = tmp / "watcher.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def watcher_cmd(*args: str) -> list[str]:
    """Run the CLI from this checkout, as `python -m watcher`."""
    return [sys.executable, "-m", "watcher", *args]
