"""Run a news scenario written in YAML: feeds served over loopback, polled step by step, and
the changes each step delivers by webhook compared with the ones a human reader expects.

Owns: reading a scenario file (tests/data/scenarios/*.yaml), serving its feeds with a real
`FeedServer`, receiving webhooks with a real `webhook_receiver`, driving an in-process
watcher (`make_watcher`) on the scenario's clock, and comparing what arrived. It does not
own any watcher code, and it never looks at anything but what a webhook user receives.

A scenario file::

    lang: it
    story: one line saying what happens
    topic: {id, name, match: {all, any, exclude}, subject, figures, alert}   # as in the config
    feeds: [{id: ansa, lang: it}, {id: agi, lang: it}]
    steps:
      - date: 2025-10-24T12:00:00Z            # the watcher's clock at this step
        note: what this step is about
        feeds:                                # each feed's full content now, newest first:
          ansa:                               #   a mapping is a new item,
            - {guid: a2, title: …, text: …, published: 2025-10-24T10:00:00Z}
            - a1                              #   a string an item given at an earlier step
        expect:                               # the exact webhook changes of this step
          - {metric: killed, kind: changed, value: 2000, previous: 600, source: intelligence}
        xfail: "one line: why the program gets this step wrong"   # optional

A feed a step leaves out serves what it served before. `expect: []` means nothing is
delivered. Changes are compared without regard to order; values numerically; `source`
is a case-insensitive substring of the change's current source (omitted: not checked).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.support.feed_server import FeedServer
from tests.support.scenario import Item, rss
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver
from watcher.app import make_watcher
from watcher.config.loader import load_settings

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"


@dataclass(frozen=True)
class Expected:
    metric: str
    kind: str
    value: float
    previous: float | None
    source: str | None = None

    def show(self) -> str:
        before = "null" if self.previous is None else f"{self.previous:g}"
        who = f" [{self.source}]" if self.source else ""
        return f"{self.metric} {self.kind} {before} → {self.value:g}{who}"


@dataclass(frozen=True)
class Received:
    metric: str
    kind: str
    value: float
    previous: float | None
    source: str | None
    quote: str

    def show(self) -> str:
        before = "null" if self.previous is None else f"{self.previous:g}"
        return f"{self.metric} {self.kind} {before} → {self.value:g} [{self.source}] «{self.quote}»"


@dataclass(frozen=True)
class Step:
    index: int
    date: datetime
    note: str
    feeds: dict[str, list[Item]]  # only the feeds this step sets
    expect: list[Expected]
    xfail: str | None
    new_items: list[Item]  # the items first published at this step


@dataclass(frozen=True)
class Scenario:
    name: str
    lang: str
    story: str
    topic: dict[str, Any]
    feeds: list[dict[str, Any]]
    steps: list[Step]


@dataclass
class StepResult:
    step: Step
    received: list[Received] = field(default_factory=list)

    @property
    def missing(self) -> list[Expected]:
        left = list(self.received)
        out = []
        for want in self.step.expect:
            hit = next((r for r in left if _matches(want, r)), None)
            if hit is None:
                out.append(want)
            else:
                left.remove(hit)
        return out

    @property
    def unexpected(self) -> list[Received]:
        left = list(self.step.expect)
        out = []
        for got in self.received:
            hit = next((w for w in left if _matches(w, got)), None)
            if hit is None:
                out.append(got)
            else:
                left.remove(hit)
        return out

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected

    def explain(self) -> str:
        lines = [f"step {self.step.index} ({self.step.date:%Y-%m-%d %H:%M}): {self.step.note}",
                 "  expected: " + ("; ".join(e.show() for e in self.step.expect) or "nothing"),
                 "  received:"]
        lines += [f"    {r.show()}" for r in self.received] or ["    nothing"]
        lines += [f"  missing:    {e.show()}" for e in self.missing]
        lines += [f"  unexpected: {r.show()}" for r in self.unexpected]
        return "\n".join(lines)


# -- reading -------------------------------------------------------------------------------
def scenario_files() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml"))


def load_scenario(path: Path) -> Scenario:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    known: dict[str, Item] = {}
    steps = [_step(i, raw, known) for i, raw in enumerate(data["steps"], start=1)]
    declared = {f["id"] for f in data["feeds"]}
    for step in steps:
        if undeclared := set(step.feeds) - declared:
            raise ValueError(f"{path.name} step {step.index}: "
                             f"feeds {sorted(undeclared)} not declared")
    return Scenario(name=path.stem, lang=data["lang"], story=data.get("story", ""),
                    topic=data["topic"], feeds=data["feeds"], steps=steps)


STEP_KEYS = {"date", "note", "feeds", "expect", "xfail"}
ITEM_KEYS = {"guid", "title", "text", "published"}
EXPECT_KEYS = {"metric", "kind", "value", "previous", "source"}
KINDS = {"new", "changed", "conflict"}


def _check(what: str, raw: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    """A misspelt key must not silently turn an expectation into no expectation."""
    if unknown := set(raw) - allowed:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)} (allowed: {sorted(allowed)})")
    if missing := required - set(raw):
        raise ValueError(f"{what}: missing keys {sorted(missing)}")


def _step(index: int, raw: dict[str, Any], known: dict[str, Item]) -> Step:
    _check(f"step {index}", raw, STEP_KEYS, {"date", "expect"})
    for e in raw.get("expect") or []:
        _check(f"step {index} expect", e, EXPECT_KEYS, {"metric", "kind", "value", "previous"})
        if e["kind"] not in KINDS:
            raise ValueError(f"step {index}: kind {e['kind']!r} is never delivered "
                             f"(one of {sorted(KINDS)})")
    feeds = {}
    before = set(known)
    for feed_id, items in (raw.get("feeds") or {}).items():
        feeds[feed_id] = [_item(x, known) for x in items]
    new_items = [item for guid, item in known.items() if guid not in before]
    expect = [Expected(e["metric"], e["kind"], float(e["value"]),
                       None if e.get("previous") is None else float(e["previous"]),
                       e.get("source")) for e in raw.get("expect") or []]
    return Step(index, _when(raw["date"]), raw.get("note", ""), feeds, expect, raw.get("xfail"),
                new_items)


def _item(raw: str | dict[str, Any], known: dict[str, Item]) -> Item:
    if isinstance(raw, str):
        return known[raw]
    _check(f"item {raw.get('guid')}", raw, ITEM_KEYS, ITEM_KEYS)
    if raw["guid"] in known:
        raise ValueError(f"item {raw['guid']!r} is defined twice: refer to it by its guid")
    item = Item(raw["guid"], raw["title"], " ".join(raw["text"].split()), _when(raw["published"]))
    known[item.guid] = item
    return item


def _when(value: str | datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 12, tzinfo=UTC)
    return _when(datetime.fromisoformat(value))


# -- running -------------------------------------------------------------------------------
def run_scenario(scenario: Scenario, workdir: Path) -> list[StepResult]:
    """Play every step; what the webhook received at each one."""
    with _servers() as (feeds, hook):
        clock = [scenario.steps[0].date]
        config = _write_config(scenario, workdir, feeds, hook.url)
        watcher = make_watcher(load_settings(config, env={}), clock=lambda: clock[0])
        results = []
        try:
            for step in scenario.steps:
                clock[0] = step.date
                for feed_id, items in step.feeds.items():
                    feeds.set(f"/{feed_id}.xml", rss(items, title=feed_id))
                seen = len(hook.requests)
                watcher.poll()
                watcher.deliver_immediate()
                results.append(StepResult(step, _received(hook, seen)))
        finally:
            watcher.close()
    return results


@contextmanager
def _servers() -> Iterator[tuple[FeedServer, WebhookReceiver]]:
    with ExitStack() as stack:
        feeds = stack.enter_context(FeedServer())
        hook = stack.enter_context(webhook_receiver())
        yield feeds, hook


def _write_config(scenario: Scenario, workdir: Path, feeds: FeedServer, hook_url: str) -> Path:
    config = {
        "database": f"sqlite:///{workdir / 'watcher.db'}",
        "fetch": {"host_spacing": "0s", "per_host_concurrency": 8},  # all feeds are on loopback
        "feeds": [{"id": f["id"], "url": feeds.url(f"/{f['id']}.xml"), "lang": f["lang"]}
                  for f in scenario.feeds],
        "topics": [scenario.topic],
        "channels": [{"id": "hook", "type": "webhook", "url": hook_url, "schedule": "immediate"}],
    }
    for f in scenario.feeds:  # a feed that has published nothing yet is an empty channel
        feeds.set(f"/{f['id']}.xml", rss([], title=f["id"]))
    path = workdir / "watcher.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _received(hook: WebhookReceiver, since: int) -> list[Received]:
    out = []
    for request in hook.requests[since:]:
        for c in json.loads(request.body)["changes"]:
            previous = c.get("previous")
            current = c["current"]
            out.append(Received(c["metric"], c["kind"], float(current["value"]),
                                None if previous is None else float(previous["value"]),
                                current.get("source"), current.get("quote") or ""))
    return out


def _matches(want: Expected, got: Received) -> bool:
    if (want.metric, want.kind) != (got.metric, got.kind) or want.value != got.value:
        return False
    if want.previous != got.previous:
        return False
    return want.source is None or want.source.casefold() in (got.source or "").casefold()


def summary(results: list[StepResult]) -> Counter[str]:
    return Counter("pass" if r.ok else ("xfail" if r.step.xfail else "fail") for r in results)
