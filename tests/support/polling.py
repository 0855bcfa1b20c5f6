"""What the polling tests share: a config that watches floods in loopback feeds, and a
clock the test moves by hand.

    path = floods_config(tmp_path, {"wire": srv.url("/feed.xml")}, extra=", interval: 5m")
    clock = Clock(); clock.now += timedelta(hours=1)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

T0 = datetime(2025, 11, 1, 12, tzinfo=UTC)


def floods_config(tmp: Path, feeds: dict[str, str], fetch: str = "host_spacing: 0s",
                  extra: str = "") -> Path:
    """watcher.yaml for feeds {id: url} (each given `extra` keys, e.g. ", interval: 5m")
    and one topic, floods, reading `evacuated`; no channels."""
    lines = "".join(f"  - {{id: {k}, url: '{u}'{extra}}}\n" for k, u in feeds.items())
    path = tmp / "watcher.yaml"
    path.write_text(f"""
database: sqlite:///{tmp / 'watcher.db'}
fetch: {{timeout: 2s, {fetch}}}
feeds:
{lines}topics:
  - id: floods
    name: Floods
    match: {{all: [[flood]]}}
    figures: [evacuated]
channels: []
""")
    return path


class Clock:
    """A watcher clock that stands still until the test moves `now`."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
