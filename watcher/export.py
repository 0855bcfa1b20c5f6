"""`watcher export`: the claim history and the recorded changes as CSV or JSON, for analysts.

Owns the shape of an export (its columns, in order, and how values are written); the rows
come from `watcher.storage` (`ClaimRepository.every`, `Outbox.recorded`). Both formats have
the same columns: CSV with a header row (RFC 4180 quoting, CRLF line ends), JSON as one
array of objects. Numbers are numbers (600, not "600.0"), times are UTC ISO-8601 with a Z,
an absent value is empty in CSV and null in JSON.

Spreadsheet safety: a CSV text cell that starts with = + - @ (which spreadsheet programs
would run as a formula; feed text is untrusted) is written with a leading apostrophe.
JSON is written as is.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from watcher.storage import RecordedChange, Store, StoredClaim
from watcher.types import FigureRecord, iso

What = Literal["claims", "changes"]
Format = Literal["csv", "json"]

CLAIM_COLUMNS = ("topic", "metric", "value", "value_max", "qualifier", "source", "published",
                 "quote", "outlet", "url")
CHANGE_COLUMNS = ("id", "topic", "metric", "kind", "alerted",
                  "previous_value", "previous_value_max", "previous_qualifier", "previous_source",
                  "previous_published", "current_value", "current_value_max", "current_qualifier",
                  "current_source", "current_published", "delta", "reason", "created")
_FORMULA_START = ("=", "+", "-", "@")

Row = dict[str, Any]


def parse_since(value: str) -> datetime:
    """'2025-10-01' (midnight UTC) or an ISO-8601 time ('2025-10-01T12:00:00Z'); naive is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--since {value!r} is not a date; write e.g. 2025-10-01 or "
                         f"2025-10-01T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def export_rows(store: Store, what: What, *, topic: str | None = None,
                since: datetime | None = None,
                outlets: Mapping[str, str] | None = None) -> list[Row]:
    """The rows of an export, in column order. `outlets` names feeds (id → name)."""
    if what == "claims":
        return [claim_row(c, outlets or {}) for c in store.claims.every(topic, since)]
    return [change_row(r) for r in store.outbox.recorded(topic, since)]


def claim_row(claim: StoredClaim, outlets: Mapping[str, str]) -> Row:
    article = claim.article
    return {
        "topic": claim.topic_id, "metric": claim.metric, "value": _number(claim.value),
        "value_max": _number(claim.value_max), "qualifier": claim.qualifier,
        "source": claim.source, "published": iso(claim.published), "quote": claim.quote,
        "outlet": outlets.get(article.feed, article.feed) if article else None,
        "url": article.url if article else None,
    }


def change_row(recorded: RecordedChange) -> Row:
    change = recorded.change
    return {
        "id": change.id, "topic": change.topic, "metric": change.metric, "kind": recorded.kind,
        "alerted": recorded.alerted, **_record("previous", change.previous),
        **_record("current", change.current), "delta": change.delta, "reason": change.reason,
        "created": iso(recorded.created_at),
    }


def write(rows: Iterable[Row], columns: tuple[str, ...], fmt: Format, out: TextIO) -> int:
    """Write rows as CSV (header first) or as a JSON array; the number of rows written."""
    if fmt == "json":
        listed = [{c: row[c] for c in columns} for row in rows]
        json.dump(listed, out, ensure_ascii=False, indent=1)
        out.write("\n")
        return len(listed)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(row[c]) for c in columns])
        count += 1
    return count


def columns_of(what: What) -> tuple[str, ...]:
    return CLAIM_COLUMNS if what == "claims" else CHANGE_COLUMNS


def _record(prefix: str, record: FigureRecord | None) -> Row:
    return {
        f"{prefix}_value": _number(record.value) if record else None,
        f"{prefix}_value_max": _number(record.value_max) if record else None,
        f"{prefix}_qualifier": record.qualifier if record else None,
        f"{prefix}_source": record.source if record else None,
        f"{prefix}_published": iso(record.published) if record else None,
    }


def _number(value: float | None) -> int | float | None:
    """600.0 → 600: counts of people read as whole numbers."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
