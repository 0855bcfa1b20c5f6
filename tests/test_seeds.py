"""The bundled seeds behind `watcher demo`: a valid config, well-formed feeds, a coherent story.

What the pipeline makes of them (which figures change at which step) is the demo's own
end-to-end test; here we check what the demo relies on before it runs anything.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml

from watcher.config import load_settings
from watcher.exceptions import ConfigError
from watcher.types import BUILTIN_METRICS

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FEEDS = sorted((SEEDS / "feeds").glob("*.xml"))
DEMO_ENV = {
    "WATCHER_DEMO_DB": "sqlite:////tmp/watcher-demo/demo.db",
    "WATCHER_DEMO_FEEDS": "http://127.0.0.1:8731",
    "WATCHER_DEMO_SMTP_PORT": "2525",
    "WATCHER_DEMO_WEBHOOK_URL": "http://127.0.0.1:8732/hook",
}
QUALIFIERS = {"exact", "approx", "at_least", "at_most", "range"}


def _yaml(name: str) -> Any:
    return yaml.safe_load((SEEDS / name).read_text(encoding="utf-8"))


def _items(path: Path) -> list[Any]:
    return list(feedparser.parse(path.read_bytes()).entries)


def _published(entry: Any) -> datetime:
    return parsedate_to_datetime(entry.published)


def _all_items() -> list[tuple[str, Any]]:
    return [(path.stem, entry) for path in FEEDS for entry in _items(path)]


def _steps() -> list[dict[str, Any]]:
    return list(_yaml("story.yaml")["steps"])


# --- the demo config ------------------------------------------------------------------------


def test_seed_config_loads_with_the_demo_variables() -> None:
    settings = load_settings(SEEDS / "watcher.yaml", env=DEMO_ENV)
    assert settings.database == "sqlite:////tmp/watcher-demo/demo.db"
    assert [f.url for f in settings.feeds] == [
        f"http://127.0.0.1:8731/{p}.xml"
        for p in ("agenzia-it", "wire-en", "herald-en", "kyiv-uk", "presse-fr")]
    assert {f.interval.total_seconds() for f in settings.feeds} == {60}
    (topic,) = settings.topics
    assert topic.id == "dprk-troops"
    assert set(topic.figures) == {"deployed", "killed", "wounded", "casualties", "captured"}


def test_seed_channels_deliver_immediately_to_the_local_catchers() -> None:
    email, webhook = load_settings(SEEDS / "watcher.yaml", env=DEMO_ENV).channels
    assert (email.type, email.to, email.schedule) == ("email", ["demo@example.org"], "immediate")
    assert (email.smtp.host, email.smtp.port, email.smtp.starttls) == ("127.0.0.1", 2525, False)
    assert (webhook.type, webhook.url, webhook.schedule) == (
        "webhook", "http://127.0.0.1:8732/hook", "immediate")


def test_seed_config_names_every_variable_it_needs() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(SEEDS / "watcher.yaml", env={})
    named = str(caught.value)
    assert all(name in named for name in DEMO_ENV)


def test_seed_config_serves_exactly_the_seed_feeds() -> None:
    settings = load_settings(SEEDS / "watcher.yaml", env=DEMO_ENV)
    assert sorted(f.url.rsplit("/", 1)[1] for f in settings.feeds) == [p.name for p in FEEDS]


def test_topic_terms_cover_every_seed_language() -> None:
    topic = load_settings(SEEDS / "watcher.yaml", env=DEMO_ENV).topics[0]
    for word in ("North Korean", "nordcoreani", "nord-coréens", "північнокорейських", "КНДР"):
        assert word in topic.subject
        assert word in topic.match.all[0]


# --- the feeds ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: p.stem)
def test_feed_parses_cleanly_and_every_item_is_complete(path: Path) -> None:
    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert 3 <= len(parsed.entries) <= 6
    for entry in parsed.entries:
        assert entry.get("id") and entry.get("title") and entry.get("summary")
        assert entry.link.startswith("https://example.org/")
        assert _published(entry).tzinfo is not None


def test_feeds_are_in_at_least_four_languages_including_italian_and_english() -> None:
    languages = {feedparser.parse(p.read_bytes()).feed.language for p in FEEDS}
    assert {"it", "en"} <= languages and len(languages) >= 4
    assert 4 <= len(FEEDS) <= 5


def test_guids_and_links_are_unique_across_feeds() -> None:
    items = [entry for _, entry in _all_items()]
    assert len({e.id for e in items}) == len(items)
    assert len({e.link for e in items}) == len(items)


def test_one_story_is_syndicated_under_another_title() -> None:
    by_text: dict[str, list[tuple[str, str]]] = {}
    for feed, entry in _all_items():
        by_text.setdefault(entry.summary, []).append((feed, entry.title))
    copies = [found for found in by_text.values() if len(found) > 1]
    assert len(copies) == 1
    (first_feed, first_title), (second_feed, second_title) = copies[0]
    assert first_feed != second_feed and first_title != second_title


def test_the_italian_item_carries_the_founding_sentences() -> None:
    texts = [e.summary for e in _items(SEEDS / "feeds" / "agenzia-it.xml")]
    assert any("circa 15.000 soldati" in t and "Secondo i servizi segreti sudcoreani, circa 600 "
               "militari nordcoreani sarebbero stati uccisi e oltre 4mila feriti." in t
               for t in texts)


# --- the story ------------------------------------------------------------------------------


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def test_story_has_four_or_five_steps_each_with_a_title_and_expectation() -> None:
    steps = _steps()
    assert 4 <= len(steps) <= 5
    for step in steps:
        assert set(step) == {"date", "title", "expect"}
        assert step["title"].strip() and "\n" not in step["title"] and step["expect"].strip()


def test_story_dates_ascend_within_the_feeds_date_range() -> None:
    days = [_day(s["date"]) for s in _steps()]
    published = [_published(e).astimezone(timezone.utc).date() for _, e in _all_items()]
    assert days == sorted(set(days))
    assert min(published) <= days[0] and days[-1] <= max(published)


def test_every_step_brings_new_items() -> None:
    """The demo serves items published up to 23:59 UTC of the step's date."""
    cutoffs = [datetime.combine(_day(s["date"]), datetime.max.time(), tzinfo=timezone.utc)
               for s in _steps()]
    items = [_published(e) for _, e in _all_items()]
    counts = [sum(moment <= cut for moment in items) for cut in cutoffs]
    assert all(later > earlier for earlier, later in zip([0] + counts, counts))
    assert counts[-1] == len(items)  # the last step shows the whole story


# --- baselines ------------------------------------------------------------------------------


def test_baselines_are_complete_and_belong_to_the_seed_topic() -> None:
    settings = load_settings(SEEDS / "watcher.yaml", env=DEMO_ENV)
    figures = {t.id: set(t.figures) for t in settings.topics}
    first_step = _day(_steps()[0]["date"])
    baselines = _yaml("baselines.yaml")
    assert baselines
    for entry in baselines:
        assert set(entry) == {"topic", "metric", "value", "value_max", "qualifier", "source",
                              "published", "url", "quote"}
        assert entry["metric"] in figures[entry["topic"]] and entry["metric"] in BUILTIN_METRICS
        assert entry["qualifier"] in QUALIFIERS and entry["value"] > 0
        published = datetime.fromisoformat(entry["published"].replace("Z", "+00:00"))
        assert published.tzinfo is not None and published.date() < first_step


def test_seed_sources_name_each_agency_as_the_story_outlets_write_it() -> None:
    """Seoul's agency appears in English, Italian and French; the demo's last step relies on
    those names being one source, and on Kyiv's military intelligence being another."""
    from watcher.pipeline.compare import canonical_source

    settings = load_settings(SEEDS / "watcher.yaml", env=DEMO_ENV)
    names = settings.topics[0].alert.source_names
    seoul = {canonical_source(n, names) for n in (
        "South Korea's National Intelligence Service", "South Korea's spy agency",
        "servizi segreti sudcoreani", "intelligence sudcoreana", "renseignement sud-coréen")}
    kyiv = {canonical_source(n, names) for n in ("ГУР", "renseignement militaire ukrainien")}
    assert seoul == {"South Korea's National Intelligence Service"}
    assert kyiv == {"Ukraine's military intelligence (HUR)"}
    feeds = " ".join(e.summary for _, e in _all_items())
    for alias in ("South Korea's spy agency", "servizi segreti sudcoreani",
                  "intelligence sudcoreana", "renseignement sud-coréen",
                  "renseignement militaire ukrainien", "ГУР"):
        assert alias in feeds, f"no seed feed names a source {alias!r}"
