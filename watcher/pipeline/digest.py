"""Digest rendering: a `Digest` in, a subject line, a plain-text body and an HTML body out.

This module owns how a digest reads: the subject that says what changed, number and
delta formatting ("600 → 2,000 (+1,400, +233%)"), qualifier words, the history at a
glance, the short "feeds needing attention" block at the end (at most `ATTENTION_MAX`
lines), and the safety of untrusted feed text (control characters dropped, links only
http/https, HTML autoescaped by the templates). It also builds `sample_digest` for
`watcher digest --test` and previews.

It does not send anything, inline CSS for mail clients (that is `watcher.deliver.email`),
read the clock or touch the network: everything it shows comes from the digest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from watcher.exceptions import ConfigError, ConfigProblem
from watcher.resources import templates_dir
from watcher.types import ArticleRef, Digest, FeedWarning, FigureChange, FigureRecord

TEXT_TEMPLATE = "digest.txt.j2"
HTML_TEMPLATE = "digest.html.j2"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_KIND_LABELS = {"new": "new", "changed": "changed", "conflict": "conflict",
                "corroborated": "confirmed"}
_HISTORY_POINTS = 8  # a glance, not a table: older points are summarised by "…"
_BAR_MAX_PX = 48
_BAR_MIN_PX = 3
_QUOTE_MAX = 600
_SUBJECT_TOPIC_MAX = 90
ATTENTION_MAX = 10  # feed-health lines in an email; the rest are counted ("and 3 more")
# C0/C1 controls (keeping tab and newline) and Unicode line/paragraph separators: feed
# text may carry them, and they break headers, terminals and layouts.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class RenderedDigest:
    """A digest ready for a channel: subject line, plain text and (un-inlined) HTML."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class LinkView:
    title: str
    url: str | None  # None when the feed gave no http(s) link: shown as text only
    feed: str
    date: str


@dataclass(frozen=True)
class PointView:
    """One point of a figure's history: a bar in HTML, a step in text."""

    value: str
    date: str
    height: int
    current: bool


@dataclass(frozen=True)
class ChangeView:
    """One change as the templates show it; every string is already formatted."""

    kind: str
    kind_label: str
    metric: str
    numbers: str  # "600 → 2,000"
    delta: str  # "+1,400, +233%" or ""
    headline: str  # "killed: 600 → 2,000 (+1,400, +233%)"
    now: str  # "about 2,000"
    now_source: str | None
    now_date: str
    before: str | None
    before_source: str | None
    before_date: str | None
    quote: str
    links: tuple[LinkView, ...]
    history: tuple[PointView, ...]
    history_text: str  # "" when there is no earlier point


@dataclass(frozen=True)
class FeedWarningView:
    """One feed needing attention, as the closing block of a digest shows it."""

    feed: str
    state: str  # failing / stale / retired
    reason: str


@dataclass(frozen=True)
class SectionView:
    topic: str
    topic_name: str
    changes: tuple[ChangeView, ...]


# --- formatting -------------------------------------------------------------------


def clean_line(text: str | None) -> str:
    """Untrusted text on one line: controls dropped, runs of whitespace made one space."""
    if not text:
        return ""
    return _SPACES.sub(" ", _CONTROLS.sub("", text)).strip()


def format_number(value: float) -> str:
    """2000.0 → '2,000'; 1.5 → '1.5'."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def format_signed(value: float) -> str:
    """+1,400 / -200 / ±0: a delta always shows its direction."""
    if value == 0:
        return "±0"
    sign = "+" if value > 0 else "-"
    return sign + format_number(abs(value))


def format_pct(pct: float) -> str:
    """+233% for big moves, +4.5% for small ones (one decimal only where it matters)."""
    if abs(pct) >= 10:
        return f"{pct:+.0f}%"
    return f"{pct:+.1f}%".replace(".0%", "%")


def format_amount(record: FigureRecord) -> str:
    """The bare figure: '2,000', or '600–700' for a range."""
    if record.value_max is not None and record.value_max != record.value:
        return f"{format_number(record.value)}–{format_number(record.value_max)}"
    return format_number(record.value)


def format_claim(record: FigureRecord) -> str:
    """The figure with its qualifier words: 'about 600', 'more than 4,000', '600–700'."""
    amount = format_amount(record)
    words = {"approx": "about ", "at_least": "more than ", "at_most": "up to "}
    return words.get(record.qualifier, "") + amount


def format_date(moment: datetime) -> str:
    """'24 Oct 2025' — locale-independent so a digest reads the same on every host."""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def format_month(moment: datetime) -> str:
    return f"{_MONTHS[moment.month - 1]} {moment.year}"


def safe_url(url: str | None) -> str | None:
    """The link if it is http(s) with a host; None otherwise (javascript:, data:, …)."""
    if not url:
        return None
    candidate = _CONTROLS.sub("", url).strip()
    parts = urlsplit(candidate)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() for ch in candidate):
        return None
    return candidate


def metric_label(metric: str) -> str:
    return clean_line(metric.replace("_", " "))


# --- headline and subject ------------------------------------------------------------


def change_numbers(change: FigureChange) -> str:
    """'600 → 2,000' for a change, '600 vs 2,000' for a conflict, '15,000' for a first figure."""
    current = format_amount(change.current)
    if change.previous is None or change.kind == "corroborated":
        return current
    joiner = " vs " if change.kind == "conflict" else " → "
    return format_amount(change.previous) + joiner + current


def change_delta(change: FigureChange) -> str:
    """'+1,400, +233%' — empty for a first figure or a conflict (no direction to show)."""
    if change.delta is None or change.kind in ("conflict", "corroborated"):
        return ""
    parts = [format_signed(change.delta)]
    if change.delta_pct is not None:
        parts.append(format_pct(change.delta_pct))
    return ", ".join(parts)


def change_headline(change: FigureChange) -> str:
    """'killed: 600 → 2,000 (+1,400, +233%)': the line a reader sees first."""
    head = f"{metric_label(change.metric)}: {change_numbers(change)}"
    delta = change_delta(change)
    if delta:
        return f"{head} ({delta})"
    suffix = {"new": "new figure", "conflict": "sources disagree",
              "corroborated": "confirmed"}.get(change.kind)
    return f"{head} ({suffix})" if suffix else head


def subject_line(digest: Digest, prefix: str = "[watcher]") -> str:
    """'[watcher] killed 600 → 2,000 · <topic name> (+2 more)' — one line, no CR/LF."""
    prefix = clean_line(prefix)
    if not digest.changes:
        return clean_line(f"{prefix} no figure changes")
    first = digest.changes[0]
    topic = clean_line(first.topic_name) or clean_line(first.topic)
    if len(topic) > _SUBJECT_TOPIC_MAX:
        topic = topic[: _SUBJECT_TOPIC_MAX - 1].rstrip() + "…"
    what = f"{metric_label(first.metric)} {change_numbers(first)}"
    if first.kind == "new":
        what += " (new)"
    subject = f"{prefix} {what} · {topic}"
    others = len(digest.changes) - 1
    if others:
        subject += f" (+{others} more)"
    return clean_line(subject)


# --- view model ------------------------------------------------------------------------


def _link_view(article: ArticleRef) -> LinkView:
    url = safe_url(article.url)
    title = clean_line(article.title) or url or "(untitled)"
    return LinkView(title=title, url=url, feed=clean_line(article.feed),
                    date=format_date(article.published))


def _quote(text: str) -> str:
    quote = clean_line(text)
    if len(quote) > _QUOTE_MAX:
        quote = quote[: _QUOTE_MAX - 1].rstrip() + "…"
    return quote


def _history_records(digest: Digest, change: FigureChange) -> list[FigureRecord]:
    """The figure's records, oldest first, ending with the current one."""
    records = list(digest.history.get((change.topic, change.metric), ()))
    records.sort(key=lambda r: r.published)
    current = change.current
    if not any(r.value == current.value and r.published == current.published for r in records):
        records.append(current)
    return _collapse_repeats(records)


def _collapse_repeats(records: list[FigureRecord]) -> list[FigureRecord]:
    """Keep the first of consecutive equal figures: a glance shows moves, not echoes."""
    kept: list[FigureRecord] = []
    for record in records:
        if not kept or format_amount(kept[-1]) != format_amount(record):
            kept.append(record)
    return kept


def _history_points(records: list[FigureRecord], current: FigureRecord) -> tuple[PointView, ...]:
    shown = records[-_HISTORY_POINTS:]
    top = max((r.value_max or r.value) for r in shown) or 1
    return tuple(
        PointView(
            value=format_amount(r),
            date=format_month(r.published),
            height=max(_BAR_MIN_PX, round(_BAR_MAX_PX * (r.value_max or r.value) / top)),
            current=(i == len(shown) - 1 and format_amount(r) == format_amount(current)),
        )
        for i, r in enumerate(shown)
    )


def _history_text(points: tuple[PointView, ...], truncated: bool) -> str:
    """'300 (Nov 2024) → 600 (Oct 2025) → 2,000 (Nov 2026)'; empty with a single point."""
    if len(points) < 2:
        return ""
    steps = " → ".join(f"{p.value} ({p.date})" for p in points)
    return ("… → " if truncated else "") + steps


def change_view(digest: Digest, change: FigureChange) -> ChangeView:
    records = _history_records(digest, change)
    points = _history_points(records, change.current)
    previous = change.previous
    return ChangeView(
        kind=change.kind,
        kind_label=_KIND_LABELS.get(change.kind, change.kind),
        metric=metric_label(change.metric),
        numbers=change_numbers(change),
        delta=change_delta(change),
        headline=change_headline(change),
        now=format_claim(change.current),
        now_source=clean_line(change.current.source) or None,
        now_date=format_date(change.current.published),
        before=None if previous is None else format_claim(previous),
        before_source=None if previous is None else (clean_line(previous.source) or None),
        before_date=None if previous is None else format_date(previous.published),
        quote=_quote(change.current.quote),
        links=tuple(_link_view(a) for a in change.current.articles),
        history=points,
        history_text=_history_text(points, truncated=len(records) > len(points)),
    )


def sections(digest: Digest) -> tuple[SectionView, ...]:
    """One section per topic, in the order topics first appear among the changes."""
    order: dict[str, list[FigureChange]] = {}
    for change in digest.changes:
        order.setdefault(change.topic, []).append(change)
    return tuple(
        SectionView(
            topic=clean_line(topic),
            topic_name=clean_line(changes[0].topic_name) or clean_line(topic),
            changes=tuple(change_view(digest, c) for c in changes),
        )
        for topic, changes in order.items()
    )


def attention_views(warnings: tuple[FeedWarning, ...]) -> tuple[FeedWarningView, ...]:
    """The first `ATTENTION_MAX` warnings, cleaned to one line each (reasons may carry
    server-provided text: the HTML template escapes it)."""
    return tuple(FeedWarningView(feed=clean_line(w.feed), state=clean_line(w.state),
                                 reason=clean_line(w.reason))
                 for w in warnings[:ATTENTION_MAX])


def attention_summary(digest: Digest, escape: Callable[[str], str] = str, names: int = 5) -> str:
    """'2 feeds need attention: wire (failing), kyiv (stale)' for one-line channels (chat),
    feed ids and states passed through the channel's `escape`; empty when all are healthy."""
    warnings = digest.feeds_needing_attention
    if not warnings:
        return ""
    listed = ", ".join(f"{escape(clean_line(w.feed))} ({escape(clean_line(w.state))})"
                       for w in warnings[:names])
    more = f" and {len(warnings) - names} more" if len(warnings) > names else ""
    verb = "feed needs" if len(warnings) == 1 else "feeds need"
    return f"{len(warnings)} {verb} attention: {listed}{more}"


# --- rendering -------------------------------------------------------------------------


def _autoescape(name: str | None) -> bool:
    # select_autoescape() looks at the last extension only, which is ".j2" here.
    return name is not None and any(part in ("html", "htm", "xml") for part in name.split(".")[1:])


@lru_cache(maxsize=8)
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_digest(digest: Digest, *, templates: Path | None = None,
                  subject_prefix: str = "[watcher]") -> RenderedDigest:
    """Render a digest with `digest.txt.j2` and `digest.html.j2` from `templates`.

    `templates` defaults to the shipped templates folder; a user may point it at a copy.
    A broken template raises ConfigError naming the file and line.
    """
    folder = Path(templates) if templates is not None else templates_dir()
    shown = sections(digest)
    subject = subject_line(digest, subject_prefix)
    context: dict[str, object] = {
        "digest_id": clean_line(digest.id),
        "channel": clean_line(digest.channel),
        "generated": format_date(digest.generated_at),
        "generated_iso": digest.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "headlines": [c.headline for s in shown for c in s.changes],
        "sections": shown,
        "subject": subject,
        "attention": attention_views(digest.feeds_needing_attention),
        "attention_more": max(len(digest.feeds_needing_attention) - ATTENTION_MAX, 0),
    }
    return RenderedDigest(subject=subject,
                          text=_render(folder, TEXT_TEMPLATE, context),
                          html=_render(folder, HTML_TEMPLATE, context))


def _render(folder: Path, name: str, context: dict[str, object]) -> str:
    path = folder / name
    try:
        return _environment(folder).get_template(name).render(context)
    except jinja2.TemplateNotFound as e:
        raise ConfigError([ConfigProblem(str(path), None, "", "template not found; restore it "
                                         "from the watcher distribution")]) from e
    except jinja2.TemplateError as e:
        message = f"{clean_line(str(e))}; fix the template (its variables are listed at its top)"
        raise ConfigError([ConfigProblem(str(path), _template_line(e, path), "", message)]) from e


def _template_line(error: jinja2.TemplateError, path: Path) -> int | None:
    """The template line of an error: syntax errors carry it, runtime errors carry it in
    the traceback (jinja2 rewrites frames to point into the template)."""
    line = getattr(error, "lineno", None)
    tb = error.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# --- sample ------------------------------------------------------------------------------

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
