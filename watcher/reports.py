"""What the CLI prints: poll summaries, figure tables, status, previews.

Plain text that reads in a terminal and in a log file; `--json` variants for scripts.
No decisions here, only presentation of what the store and the app return.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TextIO

from watcher.config.models import Settings
from watcher.pipeline.health import FeedHealth, health_of_feeds
from watcher.pipeline.orchestrator import PollReport
from watcher.storage import Store, StoredClaim
from watcher.types import iso


def print_poll_report(report: PollReport, out: TextIO, *, rich_table: bool = False) -> None:
    """The poll's totals and every failed or retired feed by name with its error; with
    `rich_table` (a terminal) the totals are a table."""
    counts = _poll_counts(report)
    if rich_table:
        _print_poll_table(report, counts, out)
    else:
        out.write(
            f"\npolled {counts['feeds']} feeds: {counts['ok']} ok, {counts['not modified']} not "
            f"modified, {counts['failed']} failed"
            + (f", {counts['retired']} retired" if counts["retired"] else "")
            + f" · {report.total('new_entries')} new articles, "
            f"{report.total('updated_entries')} updated · {report.total('matches')} matches · "
            f"{report.total('claims')} claims · {report.total('changes')} changes to deliver\n")
    for failed in report.failed:
        out.write(f"  failed: {failed.feed_id}: {failed.error}\n")
    for feed in report.feeds:
        if feed.status == "retired":
            out.write(f"  retired: {feed.feed_id}: {feed.error}\n")
    if report.total("changes"):
        out.write("deliver them with `watcher digest` (or let `watcher run` do it)\n")


def _poll_counts(report: PollReport) -> dict[str, int]:
    statuses = [f.status for f in report.feeds]
    return {"feeds": len(statuses), "ok": statuses.count("ok"),
            "not modified": statuses.count("not_modified"), "failed": statuses.count("error"),
            "retired": statuses.count("retired")}


def _print_poll_table(report: PollReport, counts: dict[str, int], out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"polled {counts['feeds']} feeds", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [("feeds ok", counts["ok"]), ("not modified", counts["not modified"]),
            ("failed", counts["failed"]), ("retired (not polled)", counts["retired"]),
            ("new articles", report.total("new_entries")),
            ("updated articles", report.total("updated_entries")),
            ("matches", report.total("matches")), ("claims", report.total("claims")),
            ("changes to deliver", report.total("changes"))]
    for name, value in rows:
        style = "bold red" if name == "failed" and value else None
        table.add_row(name, str(value), style=style)
    Console(file=out).print(table)


def print_send_reports(reports, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    if not reports:
        out.write("nothing to send\n")
        return 0
    failed = 0
    for r in reports:
        if r.ok:
            out.write(f"{r.channel_id}: sent digest {r.digest_id[:12]} ({r.changes} changes)\n")
            continue
        failed += 1
        when = f"; retry at {r.retry_at:%Y-%m-%d %H:%M:%S} UTC" if r.retry_at else \
            "; failed permanently (fix the channel, then `watcher digest --retry`)"
        out.write(f"{r.channel_id}: NOT sent ({r.error}){when}\n")
    return 1 if failed else 0


def preview_digests(watcher, channel_ids: list[str], out: TextIO) -> int:  # type: ignore[no-untyped-def]
    """Render what the next `watcher digest` would send, without touching the outbox."""
    from watcher.pipeline.digest import render_digest

    shown = 0
    now = watcher.clock()
    for channel_id in channel_ids:
        for item in watcher.sender.preview(channel_id, now):
            rendered = render_digest(watcher.sender.build_digest(item, now))
            out.write(f"=== channel {channel_id} · {rendered.subject}\n{rendered.text}\n")
            shown += 1
    if not shown:
        out.write("nothing waiting to be sent\n")
    return 0


def send_test_digests(settings: Settings, channel_ids: list[str], out: TextIO) -> int:
    from watcher.deliver import make_deliverer
    from watcher.exceptions import DeliveryError
    from watcher.pipeline.digest_sample import sample_digest

    failed = 0
    for channel in settings.channels:
        if channel.id not in channel_ids:
            continue
        try:
            make_deliverer(channel).send(sample_digest(channel.id, datetime.now(UTC)))
            out.write(f"{channel.id}: test digest sent\n")
        except DeliveryError as e:
            failed += 1
            out.write(f"{channel.id}: test digest NOT sent: {e}\n")
    return 1 if failed else 0


# -- figures --------------------------------------------------------------------------------
def print_figures(store: Store, settings: Settings, topic_id: str | None, metric: str | None, *,
                  as_json: bool, explain: bool, out: TextIO) -> None:
    names = {t.id: t.name for t in settings.topics}
    rows = [(t, m) for t, m in store.claims.topics_and_metrics()
            if (topic_id is None or t == topic_id) and (metric is None or m == metric)]
    if as_json:
        out.write(json.dumps([_figure_json(store, t, m, names, explain) for t, m in rows],
                             ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        out.write("no figures recorded yet (run `watcher poll`)\n")
        return
    current_topic = None
    for t, m in rows:
        if t != current_topic:
            out.write(f"\n{names.get(t, t)} [{t}]\n")
            current_topic = t
        _print_metric(store, t, m, explain, out)


def _print_metric(store: Store, topic: str, metric: str, explain: bool, out: TextIO) -> None:
    history = store.claims.history(topic, metric)
    current = history[-1]
    out.write(f"  {metric:<11} {format_figure(current):>16}  {current.source or '(no source)'}, "
              f"{current.published:%Y-%m-%d}\n")
    reasons = _reasons(store, topic, metric) if explain else {}
    for claim in reversed(history):
        outlet = claim.article.feed if claim.article else "baseline"
        out.write(f"      {claim.published:%Y-%m-%d}  {format_figure(claim):>16}  "
                  f"{claim.source or '(no source)'} · {outlet}\n")
        if explain and claim.id in reasons:
            out.write(f"{'':18}↳ {reasons[claim.id]}\n")


def _reasons(store: Store, topic: str, metric: str) -> dict[int, str]:
    from watcher.storage.outbox import claim_reasons

    return claim_reasons(store.db, topic, metric)


def _figure_json(store: Store, topic: str, metric: str, names: dict, explain: bool) -> dict:
    history = store.claims.history(topic, metric)
    reasons = _reasons(store, topic, metric) if explain else {}
    return {
        "topic": topic, "topic_name": names.get(topic, topic), "metric": metric,
        "current": _claim_json(history[-1], reasons),
        "history": [_claim_json(c, reasons) for c in history],
    }


def _claim_json(c: StoredClaim, reasons: dict[int, str]) -> dict:
    out = {"value": _num(c.value), "value_max": None if c.value_max is None else _num(c.value_max),
           "qualifier": c.qualifier, "source": c.source, "published": iso(c.published),
           "quote": c.quote, "outlet": c.article.feed if c.article else None,
           "url": c.article.url if c.article else None}
    if c.id in reasons:
        out["reason"] = reasons[c.id]
    return out


def format_figure(c) -> str:  # type: ignore[no-untyped-def]
    """'about 600', 'more than 4,000', '600–700'."""
    words = {"approx": "about ", "at_least": "more than ", "at_most": "up to "}
    if c.value_max is not None:
        return f"{c.value:,.0f}–{c.value_max:,.0f}"
    number = f"{c.value:,.0f}" if float(c.value).is_integer() else f"{c.value:,}"
    return words.get(c.qualifier, "") + number


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


# -- status ---------------------------------------------------------------------------------
def print_status(store: Store, settings: Settings, *, as_json: bool, out: TextIO) -> None:
    now = datetime.now(UTC)
    health = health_of_feeds(settings, store.feeds.all(), now)
    backlog = store.outbox.backlog([c.id for c in settings.channels])
    if as_json:
        out.write(json.dumps({"feeds": [_health_json(h) for h in health],
                              "channels": [b.__dict__ for b in backlog]}, indent=2) + "\n")
        return
    _print_feed_health(health, now, out)
    out.write(f"\n{'channel':<24} {'waiting':>8} {'pending':>8} {'failed':>8} {'sent':>6}"
              "  last error\n")
    for b in backlog:
        out.write(f"{b.channel_id:<24} {b.undigested:>8} {b.pending:>8} {b.dead:>8} {b.sent:>6}  "
                  f"{b.last_error or ''}\n")
    if any(b.dead for b in backlog):
        out.write("\nfailed digests: fix the channel settings, then `watcher digest --retry`\n")


def _health_json(h: FeedHealth) -> dict:
    return {"id": h.feed_id, "url": h.url, "state": h.state, "last_success": iso(h.last_success),
            "last_error": h.last_error, "last_error_at": iso(h.last_error_at),
            "consecutive_failures": h.consecutive_failures, "next_poll": iso(h.next_poll),
            "newest_entry": iso(h.newest_entry), "retired": h.state == "retired",
            "warning": h.warning}


def _print_feed_health(health: list[FeedHealth], now: datetime, out: TextIO) -> None:
    """One line per feed; then each feed that needs attention with what to do."""
    out.write(f"{'feed':<24} {'state':<12} {'last success':<14} {'failures':>8}  "
              f"{'next poll':<12} {'newest entry':<14} last error\n")
    for h in health:
        next_poll = "never" if h.state == "retired" else _until(h.next_poll, now)
        newest = _ago(h.newest_entry, now) if h.newest_entry else "-"
        last = _ago(h.last_success, now) if h.state != "never polled" else "never polled"
        out.write(f"{h.feed_id:<24} {h.state:<12} {last:<14} {h.consecutive_failures:>8}  "
                  f"{next_poll:<12} {newest:<14} {h.last_error or ''}\n")
    warnings = [h for h in health if h.warning]
    if warnings:
        out.write("\n")
    for h in warnings:
        out.write(f"warning: feed {h.feed_id}: {h.warning}\n")


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return _span((now - moment).total_seconds()) + " ago"


def _until(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "now"
    seconds = (moment - now).total_seconds()
    return "due" if seconds <= 0 else "in " + _span(seconds)


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
