"""Digest rendering as a reader sees it: headline numbers, deltas, qualifiers, history,
one section per topic, and feed text that cannot inject markup, links or headers."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.exceptions import ConfigError
from watcher.pipeline.digest import render_digest, sample_digest
from watcher.types import ArticleRef, Digest, FeedWarning, FigureChange, FigureRecord

UTC = timezone.utc
DPRK = ("dprk-troops", "North Korean troops in the Russia–Ukraine war")


def record(value: float, when: datetime, *, qualifier: str = "approx",
           value_max: float | None = None, source: str | None = "South Korean intelligence",
           quote: str = "A sentence with a figure.",
           articles: tuple[ArticleRef, ...] = ()) -> FigureRecord:
    return FigureRecord(value=value, value_max=value_max,
                        qualifier=qualifier,  # type: ignore[arg-type]
                        source=source, published=when, quote=quote, articles=articles)


def change(metric: str, previous: FigureRecord | None, current: FigureRecord, *,
           kind: str = "changed", topic: tuple[str, str] = DPRK) -> FigureChange:
    return FigureChange(id=f"c-{metric}-{current.value}", topic=topic[0], topic_name=topic[1],
                        metric=metric, kind=kind, previous=previous,  # type: ignore[arg-type]
                        current=current)


def digest(*changes: FigureChange,
           history: dict[tuple[str, str], tuple[FigureRecord, ...]] | None = None,
           feeds: tuple[FeedWarning, ...] = ()) -> Digest:
    return Digest(id="d-1", channel="desk", generated_at=datetime(2026, 11, 28, 7, tzinfo=UTC),
                  changes=changes, history=history or {}, feeds_needing_attention=feeds)


OCT_2025 = datetime(2025, 10, 24, 9, tzinfo=UTC)
NOV_2026 = datetime(2026, 11, 27, 9, tzinfo=UTC)


def test_a_change_reads_previous_arrow_current_with_delta_and_percentage():
    d = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)))
    rendered = render_digest(d)
    # 2,000 - 600 = 1,400; 1,400 / 600 = 233.3%
    assert "killed: 600 → 2,000 (+1,400, +233%)" in rendered.text
    assert "killed: 600 → 2,000 (+1,400, +233%)" in rendered.html


def test_a_fall_shows_a_minus_and_a_small_move_keeps_one_decimal():
    fall = change("killed", record(2000, OCT_2025), record(1500, NOV_2026))
    small = change("wounded", record(4000, OCT_2025), record(4180, NOV_2026))
    text = render_digest(digest(fall, small)).text
    assert "killed: 2,000 → 1,500 (-500, -25%)" in text
    assert "wounded: 4,000 → 4,180 (+180, +4.5%)" in text


def test_qualifiers_are_said_in_words_and_ranges_with_a_dash():
    before = record(4000, OCT_2025, qualifier="at_least")
    now = record(600, NOV_2026, qualifier="range", value_max=700)
    text = render_digest(digest(change("wounded", before, now))).text
    assert "more than 4,000" in text
    assert "600–700" in text
    approx = render_digest(digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026))))
    assert "about 2,000" in approx.text and "about 600" in approx.text


def test_new_figures_and_conflicts_are_labelled_for_what_they_are():
    new = change("deployed", None, record(15000, NOV_2026), kind="new")
    conflict = change("killed", record(600, OCT_2025, source="South Korean intelligence"),
                      record(2000, NOV_2026, source="Ukrainian military intelligence"),
                      kind="conflict")
    text = render_digest(digest(new, conflict)).text
    assert "deployed: 15,000 (new figure)" in text
    assert "killed: 600 vs 2,000 (sources disagree)" in text
    assert "Ukrainian military intelligence" in text and "South Korean intelligence" in text


def test_source_quote_and_article_link_are_shown():
    article = ArticleRef(title="Seoul: 2,000 North Korean soldiers killed",
                         url="https://news.example.org/a/1", feed="example-world",
                         published=NOV_2026)
    now = record(2000, NOV_2026, quote="Seoul now estimates 2,000 killed.", articles=(article,))
    rendered = render_digest(digest(change("killed", record(600, OCT_2025), now)))
    for body in (rendered.text, rendered.html):
        assert "South Korean intelligence" in body
        assert "Seoul now estimates 2,000 killed." in body
        assert "Seoul: 2,000 North Korean soldiers killed" in body
        assert "example-world" in body and "27 Nov 2026" in body
    assert "https://news.example.org/a/1" in rendered.text
    assert '<a href="https://news.example.org/a/1">' in rendered.html


def test_history_at_a_glance_in_text_and_as_a_bar_row_in_html():
    first = record(300, datetime(2024, 12, 20, tzinfo=UTC))
    before, now = record(600, OCT_2025), record(2000, NOV_2026)
    d = digest(change("killed", before, now),
               history={("dprk-troops", "killed"): (first, before, now)})
    rendered = render_digest(d)
    assert "history: 300 (Dec 2024) → 600 (Oct 2025) → 2,000 (Nov 2026)" in rendered.text
    bars = re.findall(r'class="bar[ "]', rendered.html)
    assert len(bars) == 3  # one bar per point, drawn with table cells: no image, no script
    assert "<img" not in rendered.html and "<script" not in rendered.html


def test_the_tallest_bar_is_the_largest_figure():
    before, now = record(600, OCT_2025), record(2000, NOV_2026)
    d = digest(change("killed", before, now), history={("dprk-troops", "killed"): (before, now)})
    heights = [int(h) for h in re.findall(r'style="height: (\d+)px"', render_digest(d).html)]
    assert len(heights) == 2 and heights[1] > heights[0] * 3  # 2,000 is 3.3× 600


def test_two_topics_make_two_sections_each_with_its_own_changes():
    quake = ("turkey-quake", "Earthquake in Turkey and Syria")
    d = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)),
               change("killed", record(5000, OCT_2025), record(7000, NOV_2026), topic=quake),
               change("wounded", record(4000, OCT_2025), record(4700, NOV_2026)))
    text = render_digest(d).text
    assert text.count("== North Korean troops in the Russia–Ukraine war ==") == 1
    assert text.count("== Earthquake in Turkey and Syria ==") == 1
    dprk, quake_part = text.split("== Earthquake in Turkey and Syria ==")
    assert "wounded: 4,000 → 4,700" in dprk.split("== North Korean troops")[1]
    assert "killed: 5,000 → 7,000" in quake_part
    html = render_digest(d).html
    assert html.count('class="topic"') == 2


def test_headline_numbers_come_before_the_details():
    d = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)),
               change("wounded", record(4000, OCT_2025), record(4700, NOV_2026)))
    text = render_digest(d).text
    summary_end = text.index("== North Korean troops")
    assert "killed: 600 → 2,000" in text[:summary_end]
    assert "wounded: 4,000 → 4,700" in text[:summary_end]


def test_subject_names_the_first_change_and_counts_the_others():
    one = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)))
    assert render_digest(one).subject == (
        "[watcher] killed 600 → 2,000 · North Korean troops in the Russia–Ukraine war")
    three = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)),
                   change("wounded", record(4000, OCT_2025), record(4700, NOV_2026)),
                   change("deployed", None, record(15000, NOV_2026), kind="new"))
    assert render_digest(three, subject_prefix="[desk]").subject == (
        "[desk] killed 600 → 2,000 · North Korean troops in the Russia–Ukraine war (+2 more)")


def test_feed_markup_and_script_links_come_out_escaped_or_dropped():
    hostile = ArticleRef(title='<img src=x onerror=alert(1)>Click', url="javascript:alert(1)",
                         feed="evil<feed>", published=NOV_2026)
    sneaky = ArticleRef(title="Data", url=" JaVaScRiPt:alert(2)", feed="f", published=NOV_2026)
    data = ArticleRef(title="Data URL", url="data:text/html,<script>x</script>", feed="f",
                      published=NOV_2026)
    now = record(2000, NOV_2026, quote='He said "<script>alert(3)</script>" & left.',
                 source="<b>Bold</b> agency", articles=(hostile, sneaky, data))
    topic = ("x", "<script>alert(4)</script> topic")
    html = render_digest(digest(change("killed", record(600, OCT_2025), now, topic=topic))).html
    assert "<script" not in html
    assert "<img src=x" not in html and "<b>Bold</b>" not in html
    assert "javascript:" not in html.lower() and "data:text" not in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;Click" in html  # the title still shows, as text
    assert "evil&lt;feed&gt;" in html


def test_control_characters_and_line_breaks_in_feed_text_are_removed():
    topic = ("x", "Troops\r\nBcc: victim@example.org")
    now = record(2000, NOV_2026, quote="red \x1b[31malert\x1b[0m text")
    rendered = render_digest(digest(change("killed", record(600, OCT_2025), now, topic=topic)))
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    assert rendered.subject.endswith("Troops Bcc: victim@example.org")
    assert "\x1b" not in rendered.text and "red [31malert[0m text" in rendered.text


def test_sample_digest_tells_the_founding_story():
    rendered = render_digest(sample_digest("desk", datetime(2026, 11, 28, 7, tzinfo=UTC)))
    assert rendered.subject.startswith("[watcher] killed 600 → 2,000 · North Korean troops")
    assert "killed: 600 → 2,000 (+1,400, +233%)" in rendered.text
    assert "South Korean intelligence" in rendered.text


def test_a_custom_templates_folder_is_used(tmp_path: Path):
    (tmp_path / "digest.txt.j2").write_text("{% for h in headlines %}{{ h }};{% endfor %}")
    (tmp_path / "digest.html.j2").write_text("<p>{{ subject }}</p>")
    rendered = render_digest(digest(change("killed", record(600, OCT_2025),
                                           record(2000, NOV_2026))), templates=tmp_path)
    assert rendered.text == "killed: 600 → 2,000 (+1,400, +233%);"
    assert rendered.html.startswith("<p>[watcher] killed 600")


@settings(max_examples=40, deadline=None)
@given(name=st.text(), quote=st.text(), title=st.text(), url=st.text(),
       value=st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_any_feed_text_renders_without_breaking_out(name, quote, title, url, value):
    article = ArticleRef(title=title, url=url, feed="f", published=NOV_2026)
    now = record(value, NOV_2026, quote=quote, articles=(article,))
    rendered = render_digest(digest(change("killed", record(600, OCT_2025), now,
                                           topic=("t", name))))
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert "<script" not in rendered.html.lower()
    for href in re.findall(r'href="([^"]*)"', rendered.html):
        assert href.startswith(("http://", "https://"))


def test_repeated_reports_of_the_same_figure_show_once_in_the_history():
    first = record(600, OCT_2025)
    echo = record(600, datetime(2025, 11, 2, tzinfo=UTC))  # another outlet, same figure
    now = record(2000, NOV_2026)
    d = digest(change("killed", echo, now),
               history={("dprk-troops", "killed"): (first, echo, now)})
    assert "history: 600 (Oct 2025) → 2,000 (Nov 2026)" in render_digest(d).text


def test_a_broken_custom_template_is_named_with_its_line(tmp_path: Path):
    (tmp_path / "digest.txt.j2").write_text("ok\n{{ no_such_variable }}\n")
    (tmp_path / "digest.html.j2").write_text("<p></p>")
    d = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)))
    with pytest.raises(ConfigError) as caught:
        render_digest(d, templates=tmp_path)
    assert f"{tmp_path / 'digest.txt.j2'}:2" in str(caught.value)
    assert "no_such_variable" in str(caught.value)


def test_a_template_syntax_error_is_named_with_its_line(tmp_path: Path):
    (tmp_path / "digest.txt.j2").write_text("fine\nfine\n{% for x in %}\n")
    (tmp_path / "digest.html.j2").write_text("<p></p>")
    d = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)))
    with pytest.raises(ConfigError) as caught:
        render_digest(d, templates=tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'digest.txt.j2'}:3: ")


# --- feeds needing attention ---------------------------------------------------------------


def failing(feed: str, error: str = "HTTP 503") -> FeedWarning:
    return FeedWarning(feed, "failing", f"3 failed polls in a row, last success 2 days ago: "
                       f"{error}", datetime(2026, 11, 26, 7, tzinfo=UTC), 3)


STALE = FeedWarning("kyiv", "stale", "nothing new for 12 days (expected within 1 day)",
                    datetime(2026, 11, 28, 6, tzinfo=UTC), 0)


def test_feeds_needing_attention_close_the_digest_one_line_each():
    d = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)),
               feeds=(failing("wire"), STALE))
    rendered = render_digest(d)
    tail = rendered.text.split("Feeds needing attention:\n", 1)[1].split("\n\n")[0]
    assert tail.splitlines() == [
        "  - wire (failing): 3 failed polls in a row, last success 2 days ago: HTTP 503",
        "  - kyiv (stale): nothing new for 12 days (expected within 1 day)"]
    assert rendered.text.index("killed: 600 → 2,000") < rendered.text.index("Feeds needing")
    assert rendered.html.index("killed: 600 → 2,000") < rendered.html.index("Feeds needing")
    assert "nothing new for 12 days (expected within 1 day)" in rendered.html
    assert rendered.subject == ("[watcher] killed 600 → 2,000 · North Korean troops in the "
                                "Russia–Ukraine war")  # the subject is about changes only


def test_more_than_ten_feeds_needing_attention_are_counted_not_listed():
    d = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)),
               feeds=tuple(failing(f"feed-{i:02}") for i in range(13)))
    rendered = render_digest(d)
    block = rendered.text.split("Feeds needing attention:\n", 1)[1].split("\n\n")[0]
    listed = [line.split(" (")[0] for line in block.splitlines() if line.startswith("  - ")]
    assert listed == [f"  - feed-{i:02}" for i in range(10)]
    assert block.splitlines()[-1] == "  and 3 more: run `watcher status`"
    assert "feed-10" not in rendered.text and "feed-10" not in rendered.html
    assert "and 3 more: run <code>watcher status</code>" in rendered.html


def test_healthy_feeds_leave_no_trace_in_the_digest():
    rendered = render_digest(digest(change("killed", record(600, OCT_2025),
                                           record(2000, NOV_2026))))
    assert "attention" not in rendered.text.lower()
    assert "attention" not in rendered.html.lower().split("</style>", 1)[1]


def test_server_text_in_a_feed_error_cannot_inject_markup():
    hostile = '<script>alert(1)</script><a href="javascript:x">click</a> & "quotes"'
    d = digest(change("killed", record(600, OCT_2025), record(2000, NOV_2026)),
               feeds=(failing("wire\r\nBcc: x@evil.example", hostile),))
    rendered = render_digest(d)
    assert "<script" not in rendered.html and 'href="javascript' not in rendered.html
    assert ("&lt;script&gt;alert(1)&lt;/script&gt;&lt;a href=&#34;javascript:x&#34;&gt;click"
            "&lt;/a&gt; &amp; &#34;quotes&#34;") in rendered.html
    assert "  - wire Bcc: x@evil.example (failing)" in rendered.text  # one line, not two
