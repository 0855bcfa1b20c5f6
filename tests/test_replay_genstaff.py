"""Replay 1,626 real daily cumulative figures (Ukraine's General Staff, Russian personnel
losses) and its published corrections through the change rules.

Data: ../shared/corpora/numbers/ukraine-genstaff-losses (MIT, PetroIvaniuk); skipped when
../shared is absent.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from watcher.config.models import AlertSettings
from watcher.pipeline.compare import decide
from watcher.types import FigureRecord

DATA = Path(__file__).resolve().parents[2] / "shared/corpora/numbers/ukraine-genstaff-losses"
SOURCE = "General Staff of the Armed Forces of Ukraine"
QUALIFIER = {"about": "approx", "more": "at_least"}

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared corpora not present")


def _record(day: dict, value: float) -> FigureRecord:
    published = datetime.fromisoformat(day["date"]).replace(hour=7, tzinfo=timezone.utc)
    return FigureRecord(value=value, value_max=None, qualifier=QUALIFIER[day["personnel*"]],
                        source=SOURCE, published=published, quote="")


def replay(days: list[dict], field: str = "personnel") -> list[str]:
    history: list[FigureRecord] = []
    kinds = []
    for day in days:
        record = _record(day, day[field])
        kinds.append(decide(record, history, AlertSettings()).kind)
        history.append(record)
    return kinds


def test_every_daily_increase_is_a_change_and_repeats_are_corroborations():
    days = json.loads((DATA / "russia_losses_personnel.json").read_text())
    started = time.perf_counter()
    kinds = replay(days)
    elapsed = time.perf_counter() - started
    increases = sum(1 for a, b in zip(days, days[1:]) if b["personnel"] > a["personnel"])
    repeats = sum(1 for a, b in zip(days, days[1:]) if b["personnel"] == a["personnel"])
    print(f"\nreplayed {len(days)} daily figures in {elapsed * 1000:.0f} ms: "
          f"{kinds.count('changed')} changed, {kinds.count('corroborated')} corroborated")
    assert kinds[0] == "new"
    assert kinds.count("changed") == increases == 1618
    assert kinds.count("corroborated") == repeats == 7
    assert "conflict" not in kinds  # one source never conflicts with itself


def test_published_corrections_are_caught_as_revisions_down():
    corrections = json.loads((DATA / "russia_losses_equipment_correction.json").read_text())
    caught = 0
    for entry in corrections:
        for category, delta in entry.items():
            if not isinstance(delta, int) or delta >= 0 or category == "day":
                continue
            before = {"date": entry["date"], "personnel*": "about"}
            day_before = {**before, "date": _previous_day(entry["date"])}
            total = 10_000  # the cumulative count is not in the file: any level shows the rule
            history = [_record(day_before, total)]
            decision = decide(_record(before, total + delta), history, AlertSettings())
            assert decision.kind == "changed" and "revised down" in decision.reason
            caught += 1
    print(f"\n{caught} negative corrections caught as revisions down")
    assert caught >= 2


def _previous_day(iso: str) -> str:
    from datetime import date, timedelta
    return (date.fromisoformat(iso) - timedelta(days=1)).isoformat()
