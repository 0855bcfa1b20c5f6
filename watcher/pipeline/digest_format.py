"""Digest wording: how numbers, dates, claims, changes and the subject line read.

Owns the strings a digest is made of: numbers and deltas ("600 → 2,000 (+1,400, +233%)"),
qualifier words ("about 600", "more than 4,000"), locale-independent dates, the headline
of a change, the subject line, and the safety of untrusted feed text on one line (control
characters dropped, links only http/https).

Does not own: grouping changes into sections or a figure's history (`digest_view`),
templates and rendering (`digest`), or HTML escaping (the templates autoescape).
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from watcher.types import Digest, FigureChange, FigureRecord

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SUBJECT_TOPIC_MAX = 90
# C0/C1 controls (keeping tab and newline) and Unicode line/paragraph separators: feed
# text may carry them, and they break headers, terminals and layouts.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"\s+")


# --- untrusted text -----------------------------------------------------------------------


def clean_line(text: str | None) -> str:
    """Untrusted text on one line: controls dropped, runs of whitespace made one space."""
    if not text:
        return ""
    return _SPACES.sub(" ", _CONTROLS.sub("", text)).strip()


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


# --- numbers, claims and dates --------------------------------------------------------------


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
