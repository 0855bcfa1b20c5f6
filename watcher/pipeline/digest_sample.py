"""The sample digest: a realistic `Digest` for `watcher digest --test` and previews.

Owns `sample_digest`, the founding North Korean troops case (killed 300 → 600 → 2,000,
a "more than" figure that moved, and a first figure), dated relative to the `now` it is
given, so every part of the digest layout appears.

Does not own: rendering it (`digest`) or sending it (`watcher.deliver`); it reads no clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

from watcher.types import ArticleRef, Digest, FigureChange, FigureRecord

_TOPIC = "dprk-troops"
_TOPIC_NAME = "North Korean troops in the Russia–Ukraine war"
_SK_INTEL = "South Korean intelligence"
_IT_QUOTE = ("Secondo i servizi segreti sudcoreani, circa 600 militari nordcoreani sarebbero "
             "stati uccisi e oltre 4mila feriti.")
_EN_QUOTE = ("South Korea's intelligence service now estimates that about 2,000 North Korean "
             "soldiers have been killed, up from an earlier estimate of 600.")


def _sample_articles(now: datetime) -> tuple[ArticleRef, ArticleRef]:
    """The founding Italian wire story and the later report, 400 days and 1 day ago."""
    return (
        ArticleRef(title="Corea del Nord, 600 soldati uccisi in Russia secondo Seul",
                   url="https://www.askanews.it/esteri/corea-del-nord-600-soldati-uccisi",
                   feed="askanews-esteri", published=now - timedelta(days=400)),
        ArticleRef(title="Seoul now estimates 2,000 North Korean soldiers killed in Russia",
                   url="https://news.example.org/world/dprk-troops-2000-killed",
                   feed="example-world", published=now - timedelta(days=1)),
    )


def _record(value: float, article: ArticleRef, quote: str, qualifier: str = "approx",
            source: str = _SK_INTEL, lang: str = "en") -> FigureRecord:
    return FigureRecord(value=value, value_max=None, qualifier=qualifier,  # type: ignore[arg-type]
                        source=source, published=article.published, quote=quote,
                        articles=(article,), lang=lang)


def _change(metric: str, previous: FigureRecord | None, current: FigureRecord) -> FigureChange:
    change_id = hashlib.sha256(f"sample|{metric}|{current.value}".encode()).hexdigest()[:16]
    return FigureChange(id=change_id, topic=_TOPIC, topic_name=_TOPIC_NAME, metric=metric,
                        kind="new" if previous is None else "changed", previous=previous,
                        current=current, reason="sample")


def sample_digest(channel_id: str, now: datetime) -> Digest:
    """A realistic digest (the founding North Korean troops case) dated relative to `now`.

    Used by `watcher digest --test` and previews: a change with a three-point history
    (killed 300 → 600 → 2,000), a "more than" figure that moved (wounded) and a first
    figure (captured), so every part of the layout appears.
    """
    old, new = _sample_articles(now)
    first = replace(_record(300, old, "About 300 North Korean soldiers have been killed."),
                    published=now - timedelta(days=700), articles=())
    killed = (_record(600, old, _IT_QUOTE, lang="it"), _record(2000, new, _EN_QUOTE))
    wounded = (_record(4000, old, _IT_QUOTE, "at_least", lang="it"),
               _record(4700, new, "About 4,700 have been wounded, the agency told lawmakers."))
    captured = _record(2, new, "Two North Korean soldiers were captured by Ukrainian forces "
                       "in Kursk.", "exact", source="Zelensky")
    seed = f"{channel_id}|{now.isoformat()}".encode()
    return Digest(
        id="sample-" + hashlib.sha256(seed).hexdigest()[:16], channel=channel_id,
        generated_at=now,
        changes=(_change("killed", *killed), _change("wounded", *wounded),
                 _change("captured", None, captured)),
        history={(_TOPIC, "killed"): (first, *killed), (_TOPIC, "wounded"): wounded,
                 (_TOPIC, "captured"): (captured,)},
    )
