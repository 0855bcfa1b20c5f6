"""The topic index is a prefilter: it may let through topics that do not match, never
drop one that `TopicMatcher` would match."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.config.models import MatchSettings, TopicSettings
from watcher.pipeline.match import TopicIndex, TopicMatcher

# Letters that exercise normalisation: accents, ligatures, Cyrillic with й/ё, apostrophes.
_LETTERS = "abcdeéèkmnorstuàüçœłäöКНДРкндрйиёеуаїі'’-"
_WORDS = st.text(alphabet=_LETTERS, min_size=1, max_size=9)
_TERMS = st.lists(_WORDS, min_size=1, max_size=3).map(" ".join)


def _topic(i: int, match: MatchSettings) -> TopicSettings:
    return TopicSettings(id=f"t{i}", name=f"T{i}", match=match)


_MATCH = st.builds(
    MatchSettings,
    all=st.lists(st.lists(_TERMS, min_size=1, max_size=3), max_size=2),
    any=st.lists(_TERMS, max_size=3),
    exclude=st.lists(_TERMS, max_size=1),
    min_score=st.integers(min_value=0, max_value=100),
)


def _text(draw: st.DrawFn, terms: list[str]) -> str:
    """Words drawn from the topics' own terms (sometimes altered) and random ones."""
    words = []
    for _ in range(draw(st.integers(0, 12))):
        if terms and draw(st.booleans()):
            word = draw(st.sampled_from(terms))
            if draw(st.booleans()) and len(word) > 1:  # an inflection or a typo
                cut = draw(st.integers(1, len(word) - 1))
                word = word[:cut] + draw(_WORDS)[: draw(st.integers(0, 3))]
            words.append(word)
        else:
            words.append(draw(_WORDS))
    return " ".join(words)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[MatchSettings], str, str]:
    matches = draw(st.lists(_MATCH, min_size=1, max_size=6))
    terms = [t for m in matches for t in [*(x for g in m.all for x in g), *m.any]]
    return matches, _text(draw, terms), _text(draw, terms)


@settings(max_examples=400, deadline=None)
@given(_cases())
def test_index_never_drops_a_matching_topic(case):
    matches, title, text = case
    matchers = [TopicMatcher(_topic(i, m)) for i, m in enumerate(matches)]
    candidates = set(TopicIndex(matchers).candidates(title, text))
    for i, m in enumerate(matchers):
        if m.match(title, text).matched:
            assert i in candidates, (matches[i], title, text)


def test_index_narrows_many_topics_to_the_few_named():
    places = ["Kharkiv", "Kursk", "Gaza", "Pyongyang", "Corea del Nord", "КНДР", "Iran"]
    matchers = [TopicMatcher(_topic(i, MatchSettings(all=[[p]]))) for i, p in enumerate(places)]
    index = TopicIndex(matchers)
    assert index.candidates("Truppe della Corea del Nord", "Schierate vicino a Kursk") == [1, 4]
    assert index.candidates("Войска КНДР", "") == [5]
    assert index.candidates("Nothing here", "Sunny in Rome") == []


def test_topics_without_terms_are_always_candidates():
    matchers = [TopicMatcher(_topic(0, MatchSettings())),
                TopicMatcher(_topic(1, MatchSettings(all=[["Gaza"]])))]
    assert TopicIndex(matchers).candidates("Weather", "Rain") == [0]


# -- parsing in worker processes gives the same poll --------------------------------------
def _poll_with(tmp_path, feeds, name: str, pool_from: int):
    from datetime import UTC, datetime, timedelta

    from tests.support.scenario import Item, dprk_config, rss
    from watcher.app import make_watcher
    from watcher.config.loader import load_settings

    t0 = datetime(2025, 10, 20, 9, tzinfo=UTC)
    stories = ["About 600 North Korean soldiers have been killed in Kursk, officials said.",
               "About 2,000 North Korean soldiers have been killed in Kursk, officials said.",
               "Rain in Rome."]
    for n, text in enumerate(stories):
        feeds.set(f"/w{n}.xml", rss([Item(f"g{n}", f"Report {n}", text, t0 + timedelta(days=n))]))
    (tmp_path / name).mkdir()
    config = dprk_config(tmp_path / name, feed_url=feeds.url("/w0.xml"))
    extra = "".join(f"  - id: w{n}\n    url: {feeds.url(f'/w{n}.xml')}\n" for n in (1, 2))
    config.write_text(config.read_text().replace("topics:", extra + "topics:", 1))
    w = make_watcher(load_settings(config, env={}), clock=lambda: t0 + timedelta(days=30))
    w.pipeline.readers.min_feeds = pool_from
    try:
        report = w.poll()
        used_pool = w.pipeline.readers._pool is not None
        found = w.store.outbox.decisions("dprk-troops")
        changes = [(k, c.metric, c.current.value) for k, _, c in found]
    finally:
        w.close()
    assert w.pipeline.readers._pool is None  # closed with the watcher
    return [f.summary().rsplit(" (", 1)[0] for f in report.feeds], changes, used_pool


def test_parsing_in_worker_processes_changes_nothing(tmp_path):
    from tests.support.feed_server import FeedServer

    with FeedServer() as feeds:
        here = _poll_with(tmp_path, feeds, "in-process", pool_from=1000)
        pooled = _poll_with(tmp_path, feeds, "pooled", pool_from=1)
    assert here[:2] == pooled[:2]
    assert len(here[1]) == 2
    assert (here[2], pooled[2]) == (False, True)
