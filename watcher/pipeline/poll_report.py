"""What a poll did, per feed: the report `watcher poll` prints, the daemon logs and
/metrics counts. Plain data; `pipeline.orchestrator` fills it in."""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.pipeline.record import Recorded


@dataclass
class FeedReport:
    feed_id: str
    status: str = "ok"  # ok / not_modified / error / retired (not polled)
    http_status: int | None = None
    error: str | None = None
    entries: int = 0
    new_entries: int = 0
    updated_entries: int = 0
    matches: int = 0
    claims: int = 0
    changes: int = 0
    elapsed: float = 0.0
    pages: int = 0  # article pages fetched (full_text feeds)
    next_poll: str | None = None  # "next poll in 1h (feed asks ttl 1h)": the feed lengthened it

    def summary(self) -> str:
        return self._line() + (f"; {self.next_poll}" if self.next_poll else "")

    def _line(self) -> str:
        if self.status == "error":
            return f"feed {self.feed_id}: FAILED {self.error} ({self.elapsed:.2f}s)"
        if self.status == "retired":
            return f"feed {self.feed_id}: retired, not polled: {self.error}"
        if self.status == "not_modified":
            return f"feed {self.feed_id}: not modified ({self.elapsed:.2f}s)"
        return (f"feed {self.feed_id}: ok, {self.entries} entries ({self.new_entries} new, "
                f"{self.updated_entries} updated), {self.matches} matched, {self.claims} claims, "
                f"{self.changes} changes ({self.elapsed:.2f}s)")

    def add(self, recorded: Recorded) -> None:
        self.new_entries += recorded.new_entries
        self.updated_entries += recorded.updated_entries
        self.matches += recorded.matches
        self.claims += recorded.claims
        self.changes += recorded.changes



@dataclass
class PollReport:
    feeds: list[FeedReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.feeds)

    @property
    def failed(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.status == "error"]
