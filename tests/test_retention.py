"""Retention: after `retention.article_text` an article's body is emptied; its figures, the
changes they caused, its title and link stay. Real pipeline, real feed server; SQLite, and
PostgreSQL when `WATCHER_TEST_POSTGRES_URL` is set."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.support.databases import BACKENDS, database_url, use_database
from tests.support.feed_server import FeedServer
from tests.support.scenario import Item, dprk_config, rss
from watcher.app import make_watcher
from watcher.config.loader import load_settings
from watcher.exceptions import ConfigError

T0 = datetime(2025, 10, 20, 9, tzinfo=timezone.utc)
OLD = Item("old", "Losses", "About 600 North Korean soldiers have been killed in Kursk, "
           "South Korea's intelligence service said.", T0)
NEW = Item("new", "Toll rises", "About 2,000 North Korean soldiers have been killed in Kursk, "
           "South Korea's intelligence service said.", T0 + timedelta(days=60))


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


def watcher_at(tmp_path, feeds, database, moment: datetime, retention: str = ""):
    config = use_database(dprk_config(tmp_path, feed_url=feeds.url("/wire.xml")), database)
    if retention:
        config.write_text(config.read_text() + f"retention: {retention}\n")
    return make_watcher(load_settings(config, env={}), clock=lambda: moment)


def test_old_article_bodies_are_emptied_and_their_figures_kept(tmp_path, feeds, database):
    feeds.set("/wire.xml", rss([OLD]))
    first = watcher_at(tmp_path, feeds, database, T0)
    first.poll()
    first.close()
    feeds.set("/wire.xml", rss([NEW, OLD]))
    later = watcher_at(tmp_path, feeds, database, T0 + timedelta(days=100))
    try:
        later.poll()  # the new article is first seen on day 100
        assert later.prune() == 1  # 100 days ≥ 90: only the old body goes
        assert later.prune() == 0  # once
        history = later.store.claims.history("dprk-troops", "killed")
        assert [(c.value, c.article.title if c.article else None) for c in history] == [
            (600, "Losses"), (2000, "Toll rises")]
        assert "600" in history[0].quote  # the figure's sentence is kept with the claim
        old_id, new_id = (c.article_id for c in history)
        assert later.store.articles.body(old_id) == ""  # type: ignore[arg-type]
        assert "2,000" in later.store.articles.body(new_id)  # type: ignore[arg-type]
        report = later.poll()  # the feed still lists the pruned article: nothing new, no alert
        assert report.total("new_entries") == 0 and report.total("changes") == 0
    finally:
        later.close()


def test_article_texts_can_be_kept_forever(tmp_path, feeds, database):
    feeds.set("/wire.xml", rss([OLD]))
    w = watcher_at(tmp_path, feeds, database, T0, retention="{article_text: forever}")
    try:
        w.poll()
        assert w.prune(T0 + timedelta(days=3650)) == 0
    finally:
        w.close()


def test_a_retention_shorter_than_a_day_is_a_config_error(tmp_path, feeds, database):
    with pytest.raises(ConfigError, match="at least 1d"):
        watcher_at(tmp_path, feeds, database, T0, retention="{article_text: 30s}")
