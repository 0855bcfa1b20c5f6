"""Parsing feed documents into entries: formats, hostile XML, encodings, real-world corpora."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.exceptions import ParseError
from watcher.pipeline.html_text import html_to_text
from watcher.pipeline.parse import parse_feed

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = SHARED / "corpora"


def rss(items: str, channel_extra: str = "", prolog: str = "") -> bytes:
    return (f"<?xml version='1.0' encoding='utf-8'?>{prolog}<rss version='2.0'><channel>"
            f"<title>Wire</title><link>https://news.example.org/</link>{channel_extra}"
            f"{items}</channel></rss>").encode()


# -- formats -----------------------------------------------------------------------------
def test_rss2_entry_fields():
    body = rss("""<item>
        <title>Corea del Nord, &lt;b&gt;15.000&lt;/b&gt; soldati</title>
        <link>https://news.example.org/a/1</link>
        <guid isPermaLink="false">wire-1</guid>
        <pubDate>Fri, 24 Oct 2025 14:05:00 +0200</pubDate>
        <description><![CDATA[<p>Circa 600 militari uccisi.</p>]]></description>
    </item>""", channel_extra="<language>it-IT</language>")
    feed = parse_feed(body, "wire")
    assert feed.title == "Wire" and feed.warning is None
    (entry,) = feed.entries
    assert entry.feed_id == "wire"
    assert entry.title == "Corea del Nord, 15.000 soldati"
    assert entry.link == "https://news.example.org/a/1"
    assert entry.guid == "wire-1"
    assert entry.published == datetime(2025, 10, 24, 12, 5, tzinfo=UTC)  # 14:05 at +02:00
    assert entry.text == "Circa 600 militari uccisi."
    assert entry.lang == "it"


def test_atom_entry_fields():
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">
      <title type="text">Le Fil</title>
      <id>urn:uuid:feed</id><updated>2025-10-25T08:00:00Z</updated>
      <entry>
        <title type="html">Bilan: &lt;em&gt;600&lt;/em&gt; morts</title>
        <id>urn:uuid:entry-1</id>
        <link rel="alternate" href="https://fil.example.fr/bilan"/>
        <updated>2025-10-25T09:30:00-04:00</updated>
        <content type="html">&lt;p&gt;Selon les services&amp;nbsp;sud-cor\xc3\xa9ens&lt;/p&gt;</content>
      </entry>
    </feed>"""
    feed = parse_feed(body, "fil")
    (entry,) = feed.entries
    assert feed.title == "Le Fil"
    assert entry.title == "Bilan: 600 morts"
    assert entry.guid == "urn:uuid:entry-1"
    assert entry.link == "https://fil.example.fr/bilan"
    assert entry.published == datetime(2025, 10, 25, 13, 30, tzinfo=UTC)  # updated, at -04:00
    assert entry.text == "Selon les services sud-cor\u00e9ens"
    assert entry.lang == "fr"


def test_rss1_rdf_entries():
    body = b"""<?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
             xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="https://rdf.example.org/"><title>RDF news</title>
        <link>https://rdf.example.org/</link><description>d</description>
        <dc:language>de</dc:language></channel>
      <item rdf:about="https://rdf.example.org/1"><title>Erste</title>
        <link>https://rdf.example.org/1</link><description>Rund 300 Tote.</description>
        <dc:date>2025-10-26T10:00:00+01:00</dc:date></item>
      <item rdf:about="https://rdf.example.org/2"><title>Zweite</title>
        <link>https://rdf.example.org/2</link><description>Keine Zahl.</description></item>
    </rdf:RDF>"""
    feed = parse_feed(body, "rdf")
    assert [e.title for e in feed.entries] == ["Erste", "Zweite"]
    assert feed.entries[0].published == datetime(2025, 10, 26, 9, 0, tzinfo=UTC)
    assert feed.entries[1].published is None
    assert feed.entries[0].text == "Rund 300 Tote."
    assert {e.lang for e in feed.entries} == {"de"}


def test_rss091_with_netscape_doctype_and_html_entities():
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
    <!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
      "http://my.netscape.com/publish/formats/rss-0.91.dtd">
    <rss version="0.91"><channel><title>Old</title><link>http://old.example.org/</link>
    <description>d</description><language>fr</language>
    <item><title>Caf&eacute; &amp; bilan</title><link>http://old.example.org/1</link>
    <description>Pr&egrave;s de 300&nbsp;morts</description></item></channel></rss>"""
    feed = parse_feed(body, "old")
    (entry,) = feed.entries
    assert (entry.title, entry.text, entry.lang) == ("Café & bilan", "Près de 300 morts", "fr")
    assert entry.link == "http://old.example.org/1"


def test_json_feed_entries():
    doc = {
        "version": "https://jsonfeed.org/version/1.1", "title": "JSON Wire",
        "home_page_url": "https://json.example.org/", "language": "en-GB",
        "items": [
            {"id": "1", "url": "/posts/1", "title": "About 600 killed",
             "content_html": "<p>Officials said <b>about 600</b> were killed.</p>",
             "date_published": "2025-10-24T10:00:00+02:00"},
            {"id": 2, "content_text": "Plain   text\n\n body", "language": "es",
             "external_url": "https://elsewhere.example.org/x"},
            "not an item",
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), "jf")
    assert feed.title == "JSON Wire" and feed.warning is None
    first, second = feed.entries
    assert first.link == "https://json.example.org/posts/1"
    assert first.text == "Officials said about 600 were killed."
    assert first.published == datetime(2025, 10, 24, 8, 0, tzinfo=UTC)
    assert first.lang == "en" and first.guid == "1"
    assert second.guid == "2" and second.link == "https://elsewhere.example.org/x"
    assert second.text == "Plain text\nbody" and second.lang == "es"
    assert second.published is None


def test_json_that_is_not_a_feed_is_a_parse_error():
    with pytest.raises(ParseError, match="feed jf: .*JSON"):
        parse_feed(b'{"hello": "world"}', "jf")
    with pytest.raises(ParseError, match="feed jf: invalid JSON"):
        parse_feed(b'{"items": [', "jf")


# -- hostile documents -------------------------------------------------------------------
def test_billion_laughs_is_not_expanded():
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10))
    body = rss("<item><title>t</title><description>&lol9;</description></item>",
               prolog=f"<!DOCTYPE rss [{entities}]>")
    started = time.monotonic()
    feed = parse_feed(body, "evil")
    assert time.monotonic() - started < 2.0
    assert all("lollollol" not in e.text for e in feed.entries)


def test_quadratic_blowup_is_parsed_quickly_without_expansion():
    big = "A" * 50_000
    body = rss("<item><title>t</title><description>" + "&a;" * 20_000 +
               "</description></item>", prolog=f'<!DOCTYPE rss [<!ENTITY a "{big}">]>')
    # expanded, the description would be 50 KB × 20,000 = 1 GB
    started = time.monotonic()
    feed = parse_feed(body, "evil")
    assert time.monotonic() - started < 2.0
    assert all(len(e.text) < 200_000 for e in feed.entries)


def test_entity_value_hiding_a_fake_end_of_doctype_is_still_removed():
    body = rss("<item><title>ok</title><description>&x;</description></item>",
               prolog='<!DOCTYPE rss [<!ENTITY x "]><rss>"><!ENTITY y "' + "B" * 1000 + '">]>')
    feed = parse_feed(body, "evil")
    assert [e.title for e in feed.entries] == ["ok"]
    assert "BBBB" not in feed.entries[0].text


def test_prolog_comment_mentioning_a_doctype_is_left_alone():
    body = (b'<?xml version="1.0"?>\n<!-- this is not a "<!DOCTYPE" -->\n<rss version="2.0">'
            b"<channel><title>c</title><item><title>kept</title><description><![CDATA[ <!DOCTYPE ]]>"
            b"</description></item></channel></rss>")
    feed = parse_feed(body, "c")
    assert feed.warning is None
    assert [(e.title, e.text) for e in feed.entries] == [("kept", "<!DOCTYPE")]  # CDATA text


def test_utf16_document_with_doctype_is_defused_and_read():
    text = ("<?xml version='1.0' encoding='utf-16'?>"
            "<!DOCTYPE rss [<!ENTITY a \"" + "Z" * 10_000 + "\">]>"
            "<rss version='2.0'><channel><title>Wide</title><item><title>Україна</title>"
            "<description>&a;&a;&a;</description></item></channel></rss>")
    feed = parse_feed(text.encode("utf-16"), "wide")
    assert [e.title for e in feed.entries] == ["Україна"]
    assert "ZZZZ" not in feed.entries[0].text


def test_malformed_feed_keeps_its_entries_and_says_why():
    body = rss("<item><title>Teatro & Danza</title><link>https://x.example.org/1</link>"
               "<description>Oltre 4mila feriti</description></item>")
    feed = parse_feed(body, "bozo")
    assert feed.warning  # not well-formed: a raw '&'
    assert [e.text for e in feed.entries] == ["Oltre 4mila feriti"]


@pytest.mark.parametrize("body", [b"", b"   \n", b"<html><body><p>Hello</p></body></html>",
                                  b"just some words", b"\x00\x01\x02garbage"])
def test_documents_that_are_not_feeds_raise_parse_error(body):
    with pytest.raises(ParseError, match="^feed f: "):
        parse_feed(body, "f")


def test_gzip_compressed_document_is_read():
    body = rss("<item><title>zipped</title></item>")
    assert [e.title for e in parse_feed(gzip.compress(body), "gz").entries] == ["zipped"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(max_size=300).map(lambda t: rss(t).replace(b"'", b'"')))
def test_any_bytes_give_entries_or_parse_error(body):
    try:
        feed = parse_feed(body, "fuzz")
    except ParseError as e:
        assert "\n" not in str(e)
    else:
        assert all(e.feed_id == "fuzz" for e in feed.entries)


# -- identity, links, text ----------------------------------------------------------------
def test_entries_without_guid_or_link_dedupe_by_content():
    item = "<item><title>Same</title><description>Same body</description></item>"
    other = "<item><title>Other</title><description>Same body</description></item>"
    first = parse_feed(rss(item + item + other), "f").entries
    again = parse_feed(rss(other + item), "f").entries
    assert first[0].key == first[1].key  # a repeated item is the same entry
    assert first[0].key != first[2].key  # a different title is a different entry
    assert {e.key for e in first} == {e.key for e in again}  # stable across polls
    assert first[0].key.startswith("hash:")


@pytest.mark.parametrize(("link", "expected"), [
    ("javascript:alert(1)", None),
    ("JavaScript:alert(1)", None),
    ("data:text/html,hi", None),
    ("mailto:desk@example.org", None),
    ("/news/2025/10/24/dprk", "https://news.example.org/news/2025/10/24/dprk"),
    ("  https://News.Example.org/Path?q=1  ", "https://news.example.org/Path?q=1"),
    ("http://", None),
])
def test_links_are_absolute_http_or_dropped(link, expected):
    body = rss(f"<item><title>t</title><link>{link}</link></item>")
    (entry,) = parse_feed(body, "f", base_url="https://news.example.org/feed").entries
    assert entry.link == expected


def test_file_feed_resolves_relative_links_against_its_own_site():
    body = rss("<item><title>t</title><link>/a/1</link></item>")
    (entry,) = parse_feed(body, "f", base_url="file:///srv/feeds/wire.xml").entries
    assert entry.link == "https://news.example.org/a/1"  # the channel <link>, not the file


def test_html_summary_becomes_plain_text():
    body = rss("""<item><title>t</title><description><![CDATA[
        <div><p>Tom &amp; Jerry&nbsp;said &quot;hi&quot;</p><p>Second <b>para</b>graph</p>
        <ul><li>one</li><li>two</li></ul>line<br/>break
        <script>alert("x")</script><style>p {color: red}</style></div>]]></description></item>""")
    (entry,) = parse_feed(body, "f").entries
    assert entry.text == 'Tom & Jerry said "hi"\nSecond paragraph\none\ntwo\nline\nbreak'


def test_full_content_is_preferred_over_a_teaser():
    body = rss("""<item><title>t</title><description>Teaser…</description>
        <content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[
        <p>The full article says about 600 soldiers were killed.</p>]]></content:encoded></item>""")
    (entry,) = parse_feed(body, "f").entries
    assert entry.text == "The full article says about 600 soldiers were killed."


@pytest.mark.parametrize(("markup", "text"), [
    ("<p>One.</p><p>Two.</p>", "One.\nTwo."),
    ("caf&eacute; &#8220;x&#8221;", "café \u201cx\u201d"),
    ("a  \t b\r\n\r\n\r\nc", "a b\nc"),
    ("5 &lt; 6", "5 < 6"),
    ("", ""),
])
def test_html_to_text(markup, text):
    assert html_to_text(markup) == text


# -- dates, languages, encodings ---------------------------------------------------------
def test_missing_and_placeholder_dates_are_none():
    body = rss("<item><title>a</title></item>"
               "<item><title>b</title><pubDate>Thu, 01 Jan 1970 00:00:00 +0000</pubDate></item>"
               "<item><title>c</title><pubDate>not a date</pubDate></item>")
    assert [e.published for e in parse_feed(body, "f").entries] == [None, None, None]


def test_language_falls_back_to_the_default_then_none():
    body = rss("<item><title>a</title></item>")
    assert parse_feed(body, "f", default_lang="it").entries[0].lang == "it"
    assert parse_feed(body, "f").entries[0].lang is None
    declared = rss("<item><title>a</title></item>", channel_extra="<language>ru</language>")
    assert parse_feed(declared, "f", default_lang="it").entries[0].lang == "ru"


def test_windows_1251_declared_in_the_xml():
    text = ("<?xml version='1.0' encoding='windows-1251'?><rss version='2.0'><channel>"
            "<title>Лента</title><item><title>Около 600 погибших</title>"
            "<description>По данным разведки, ранены свыше 4000 человек.</description>"
            "</item></channel></rss>")
    (entry,) = parse_feed(text.encode("cp1251"), "ru").entries
    assert entry.title == "Около 600 погибших"
    assert entry.text == "По данным разведки, ранены свыше 4000 человек."


def test_iso_8859_1_declared_in_the_xml():
    text = ("<?xml version='1.0' encoding='iso-8859-1'?><rss version='2.0'><channel>"
            "<title>Città</title><item><title>Perché è così</title>"
            "<description>Più di 4.000 feriti nella città</description></item></channel></rss>")
    feed = parse_feed(text.encode("latin-1"), "it")
    assert feed.title == "Città"
    assert feed.entries[0].title == "Perché è così"
    assert feed.entries[0].text == "Più di 4.000 feriti nella città"


def test_http_charset_header_is_honoured():
    text = ("<?xml version='1.0'?><rss version='2.0'><channel><title>x</title>"
            "<item><title>Київ</title></item></channel></rss>")
    feed = parse_feed(text.encode("koi8-u"), "uk",
                      headers={"Content-Type": "application/rss+xml; charset=koi8-u"})
    assert feed.entries[0].title == "Київ"


# -- real-world corpora ------------------------------------------------------------------
def corpus_files(folder: Path) -> list[Path]:
    skip = {".txt", ".tsv", ".md"}
    return [p for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix.lower() not in skip and p.name != "LICENSE"]


@pytest.mark.parametrize(("name", "floor"), [("feedparser-tests", 500), ("real-feeds", 180)])
def test_corpus_parses_without_crashing(name, floor, capsys):
    folder = CORPORA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    files = corpus_files(folder)
    with_entries = entries = unreadable = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), path.stem, base_url="https://example.org/")
        except ParseError:
            unreadable += 1
            continue
        with_entries += bool(feed.entries)
        entries += len(feed.entries)
        for e in feed.entries:
            assert e.link is None or e.link.startswith(("http://", "https://")), (path, e.link)
            assert e.published is None or e.published.tzinfo is not None
    with capsys.disabled():
        print(f"\n{name}: {len(files)} files, {with_entries} with entries ({entries} entries), "
              f"{unreadable} unreadable (ParseError)")
    assert with_entries >= floor
