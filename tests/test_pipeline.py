"""Polling scenarios, step by step, against a real feed server and a real database (a SQLite
file, and PostgreSQL when `WATCHER_TEST_POSTGRES_URL` is set: tests/support/databases.py).

Each test serves feeds over loopback, polls with the real pipeline, and asserts the
decisions a user would see in `watcher figures --explain` and the deliveries queued.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.support.databases import BACKENDS, database_url, use_database
from tests.support.feed_server import FeedServer
from tests.support.scenario import Item, dprk_config, rss
from watcher.app import make_watcher
from watcher.config.loader import load_settings

T0 = datetime(2025, 10, 20, 9, tzinfo=timezone.utc)


def item(guid: str, text: str, days: float = 0) -> Item:
    return Item(guid, f"Report {guid}", text, T0 + timedelta(days=days))


KILLED_600 = ("About 600 North Korean soldiers have been killed in Kursk, "
              "South Korea's intelligence service said.")
KILLED_2000 = ("About 2,000 North Korean soldiers have been killed in Kursk, "
               "South Korea's intelligence service said.")


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def make(tmp_path, feeds, database):
    watchers = []

    def build(webhook: str | None = "http://127.0.0.1:9/unused", extra: str = ""):
        config = dprk_config(tmp_path, feed_url=feeds.url("/wire.xml"), webhook_url=webhook)
        use_database(config, database)
        if extra:
            config.write_text(config.read_text() + extra)
        w = make_watcher(load_settings(config, env={}), clock=lambda: T0 + timedelta(days=30))
        watchers.append(w)
        return w

    yield build
    for w in watchers:
        w.close()


def decisions(w) -> list[tuple[str, str, float]]:
    found = w.store.outbox.decisions("dprk-troops")
    return [(kind, c.metric, c.current.value) for kind, _, c in found]


def test_articles_arriving_together_are_compared_in_publication_order(feeds, make):
    # feeds list the newest entry first; the older figure must still come first
    feeds.set("/wire.xml", rss([item("b", KILLED_2000, days=5), item("a", KILLED_600)]))
    w = make()
    w.poll()
    assert decisions(w) == [("new", "killed", 600), ("changed", "killed", 2000)]


def test_a_second_poll_of_the_same_feed_stores_and_alerts_nothing(feeds, make):
    feeds.set("/wire.xml", rss([item("a", KILLED_600)]), etag='"v1"')
    w = make()
    first = w.poll()
    second = w.poll()
    assert first.total("new_entries") == 1 and first.total("changes") == 1
    assert second.feeds[0].status == "not_modified" and second.total("changes") == 0
    assert w.store.outbox.backlog(["ops"])[0].undigested == 1


def test_an_edited_article_alerts_only_when_its_figure_changed(feeds, make):
    w = make()
    feeds.set("/wire.xml", rss([item("a", KILLED_600)]))
    w.poll()
    feeds.set("/wire.xml", rss([item("a", KILLED_600 + " Fighting continued on Sunday.")]))
    edited_wording = w.poll()
    feeds.set("/wire.xml", rss([item("a", KILLED_2000)]))
    edited_figure = w.poll()
    assert edited_wording.total("updated_entries") == 1 and edited_wording.total("changes") == 0
    assert edited_figure.total("changes") == 1
    assert decisions(w) == [("new", "killed", 600), ("changed", "killed", 2000)]
    # the figure the article no longer states is not the history's anymore
    assert [c.value for c in w.store.claims.history("dprk-troops", "killed")] == [2000]


def test_a_late_article_older_than_the_current_figure_alerts_nothing(feeds, make):
    w = make()
    feeds.set("/wire.xml", rss([item("new", KILLED_2000, days=10)]))
    w.poll()
    feeds.set("/wire.xml", rss([item("new", KILLED_2000, days=10), item("old", KILLED_600)]))
    w.poll()
    assert decisions(w) == [("new", "killed", 2000), ("late", "killed", 600)]
    assert w.store.outbox.backlog(["ops"])[0].undigested == 1


def test_baselines_make_the_first_article_a_change(feeds, make, tmp_path):
    (tmp_path / "known.yaml").write_text(
        "- {topic: dprk-troops, metric: killed, value: 300, qualifier: approx, "
        "source: NIS, published: '2025-01-13T00:00:00Z', quote: 'Some 300 were killed.'}\n")
    feeds.set("/wire.xml", rss([item("a", KILLED_600)]))
    w = make(extra="baselines: [known.yaml]\n")
    w.poll()
    assert decisions(w) == [("baseline", "killed", 300), ("changed", "killed", 600)]
    w2 = make(extra="baselines: [known.yaml]\n")  # loading again adds nothing
    assert len(w2.store.claims.history("dprk-troops", "killed")) == 2


def test_one_broken_feed_does_not_stop_the_others(tmp_path, feeds):
    feeds.set("/wire.xml", rss([item("a", KILLED_600)]))
    feeds.set("/broken.xml", b"", status=500)
    config = dprk_config(tmp_path, feed_url=feeds.url("/broken.xml"))
    config.write_text(config.read_text().replace(
        "topics:", f"  - id: good\n    url: {feeds.url('/wire.xml')}\ntopics:", 1))
    w = make_watcher(load_settings(config, env={}))
    try:
        report = w.poll()
        states = {s.id: s for s in w.store.feeds.all()}
    finally:
        w.close()
    assert [f.feed_id for f in report.failed] == ["wire"]
    assert "500" in (report.failed[0].error or "")
    assert report.total("new_entries") == 1
    assert states["wire"].consecutive_failures == 1 and states["good"].consecutive_failures == 0
    assert states["wire"].next_poll_at > states["wire"].last_poll_at


WIRE_STORY = ("About 600 North Korean soldiers have been killed fighting for Russia in the Kursk "
              "region, South Korea's intelligence service told lawmakers on Thursday, adding that "
              "the troops had little experience of drone warfare and were used in mass assaults.")
COPY_STORY = ("SEOUL (Wire) - About 600 North Korean soldiers have been killed fighting for "
              "Russia in the Kursk region, South Korea's intelligence service told lawmakers on "
              "Thursday, adding that the troops had little experience of drone warfare and were "
              "used in assaults.")
KYIV_STORY = ("Ukraine's military intelligence said about 1,000 North Korean soldiers had been "
              "killed in Kursk.")


def test_a_syndicated_copy_corroborates_and_never_revives_an_old_figure(tmp_path, feeds):
    feeds.set("/wire.xml", rss([item("w1", WIRE_STORY)]))
    feeds.set("/kyiv.xml", rss([item("k1", KYIV_STORY, days=1)]))
    feeds.set("/herald.xml", rss([Item("h1", "Seoul: Pyongyang's losses mount",
                                       COPY_STORY, T0 + timedelta(days=2))]))
    config = dprk_config(tmp_path, feed_url=feeds.url("/wire.xml"), webhook_url="http://127.0.0.1:9/x")
    extra = "".join(f"  - id: {name}\n    url: {feeds.url(f'/{name}.xml')}\n"
                    for name in ("kyiv", "herald"))
    config.write_text(config.read_text().replace("topics:", extra + "topics:", 1))
    w = make_watcher(load_settings(config, env={}), clock=lambda: T0 + timedelta(days=3))
    try:
        w.poll()
        kinds = decisions(w)
        current = w.store.claims.history("dprk-troops", "killed")[-1]
        first_digest = w.sender.build_digest(w.store.outbox.undigested("ops", T0), T0)
    finally:
        w.close()
    assert kinds == [("new", "killed", 600), ("conflict", "killed", 1000),
                     ("corroborated", "killed", 600)]
    assert current.value == 1000  # the late copy did not make 600 current again
    new_600 = first_digest.changes[0]
    assert [a.feed for a in new_600.current.articles] == ["wire", "herald"]  # two outlets


def test_a_headline_retelling_the_body_figure_adds_no_other_metric(feeds, make):
    headline = Item("h", "North Korea has lost about 300 soldiers in Russia's war, Seoul says",
                    "Some 300 North Korean soldiers have been killed and more than 2,700 wounded "
                    "in Kursk, South Korea's intelligence service said.", T0)
    feeds.set("/wire.xml", rss([headline]))
    w = make()
    w.poll()
    assert sorted((m, v) for _, m, v in decisions(w)) == [("killed", 300), ("wounded", 2700)]


def test_a_figure_only_the_headline_states_is_kept(feeds, make):
    feeds.set("/wire.xml", rss([Item("h", "About 600 North Korean soldiers killed in Kursk",
                                     "Fighting continued in the Kursk region on Sunday.", T0)]))
    w = make()
    w.poll()
    assert decisions(w) == [("new", "killed", 600)]
