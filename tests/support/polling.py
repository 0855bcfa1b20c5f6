"""What the polling tests share: a config that watches floods in loopback feeds.

    path = floods_config(tmp_path, {"wire": srv.url("/feed.xml")}, extra=", interval: 5m")
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

T0 = datetime(2025, 11, 1, 12, tzinfo=UTC)


def floods_config(tmp: Path, feeds: dict[str, str],
                  fetch: str = "timeout: 2s, host_spacing: 0s", extra: str = "") -> Path:
    """watcher.yaml for feeds {id: url} (each given `extra` keys, e.g. ", interval: 5m"),
    the `fetch:` settings given, and one topic, floods, reading `evacuated`; no channels."""
    lines = "".join(f"  - {{id: {k}, url: '{u}'{extra}}}\n" for k, u in feeds.items())
    path = tmp / "watcher.yaml"
    path.write_text(f"""
database: sqlite:///{tmp / 'watcher.db'}
fetch: {{{fetch}}}
feeds:
{lines}topics:
  - id: floods
    name: Floods
    match: {{all: [[flood]]}}
    figures: [evacuated]
channels: []
""")
    return path

