"""Reading a feed: parse the document, match every entry to the topics, extract figures.

Pure: bytes and the configuration in, `FeedReading` out (no storage, no clock, no
network). Being pure is what lets this run in worker processes (`pipeline.workers`)
on the second core while the fetch threads keep downloading: a reading made in a
worker is exactly the reading made here.

Owns: one entry per key, the feed's configured language over the document's, which
topics an entry belongs to (with the matcher's reason) and the claims each topic reads
in it (`Analyser`). Does not own: what parsing means (`pipeline.parse`), what matching
means (`pipeline.match`), figure extraction (`watcher.figures`), or whether an entry is
new (the recorder asks storage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from watcher.config.models import TopicSettings
from watcher.figures import Extractor
from watcher.pipeline.match import TopicIndex, TopicMatcher
from watcher.pipeline.parse import parse_feed
from watcher.types import Claim, Entry


@dataclass(frozen=True)
class TopicHit:
    """An entry belongs to a topic: why, and the claims the topic reads in it."""

    topic: int  # position in the configuration's topics
    reason: str
    claims: tuple[Claim, ...]


@dataclass(frozen=True)
class ReadEntry:
    entry: Entry
    hits: tuple[TopicHit, ...]  # empty: the entry belongs to no topic


@dataclass(frozen=True)
class FeedReading:
    title: str | None
    entries: tuple[ReadEntry, ...]
    warning: str | None  # why feedparser found the feed malformed, when it was still readable
    ttl: float | None = None  # seconds the document asks between polls (`ParsedFeed.ttl`)


class Analyser:
    """Topics and figures of entries; built once per configuration, picklable (a worker
    process rebuilds its matchers from the topics rather than receiving them)."""

    def __init__(self, topics: Sequence[TopicSettings], extractor: Extractor):
        self.topics = tuple(topics)
        self.extractor = extractor
        self.matchers = [TopicMatcher(t) for t in self.topics]
        self.index = TopicIndex(self.matchers)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return Analyser, (self.topics, self.extractor)

    def read(self, entry: Entry) -> ReadEntry:
        hits = []
        for i in self.index.candidates(entry.title, entry.text):
            match = self.matchers[i].match(entry.title, entry.text)
            if match.matched:
                hits.append(TopicHit(i, match.reason, tuple(self.claims(self.topics[i], entry))))
        return ReadEntry(entry, tuple(hits))

    def claims(self, topic: TopicSettings, entry: Entry) -> list[Claim]:
        """One claim per metric: the body's first, else the headline's. Headlines carry
        the freshest figure but rarely its source or hedge, so the body wins when both
        state one; and a headline number the body also states is the body's figure told
        in other words ("lost 300 soldiers" over a body's "300 killed"), not another one."""
        def claims_in(text: str) -> list[Claim]:
            return self.extractor.extract(text, entry.lang, subject=topic.subject,
                                          figures=topic.figures) if text.strip() else []
        body = claims_in(entry.text)
        stated = {c.value for c in body}
        headline = [c for c in claims_in(entry.title) if c.value not in stated]
        chosen: dict[str, Claim] = {}
        for claim in body + headline:
            chosen.setdefault(claim.metric, claim)
        return list(chosen.values())


def read_feed(body: bytes, feed_id: str, *, headers: Mapping[str, str], base_url: str | None,
              lang: str | None, analyser: Analyser | None) -> FeedReading:
    """Parse a document and read its entries; `analyser` None: parse only (the entries
    are read later, e.g. after their article pages replaced their text)."""
    parsed = parse_feed(body, feed_id, headers=headers, base_url=base_url, default_lang=lang)
    entries = first_of_each_key(parsed.entries)
    if lang:  # the user's word beats the feed's declaration (often a wrong "en")
        entries = tuple(replace(e, lang=lang) for e in entries)
    read = tuple(analyser.read(e) if analyser else ReadEntry(e, ()) for e in entries)
    return FeedReading(parsed.title, read, parsed.warning, parsed.ttl)


def first_of_each_key(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    """One entry per key: a feed that lists two different items under one guid would
    otherwise have each replace the other on every poll (an "edit" each time). Keys that
    differ only by NUL characters are one: storage drops NULs (PostgreSQL refuses them)."""
    seen: set[str] = set()
    out = []
    for entry in entries:
        key = entry.key.replace("\x00", "")
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return tuple(out)
