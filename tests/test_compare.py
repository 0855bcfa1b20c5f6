"""The change rules of SPEC.md "Changes and digests", one scenario per rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from watcher.config.models import AlertSettings
from watcher.pipeline.compare import decide
from watcher.types import FigureRecord

DAY0 = datetime(2025, 10, 1, 12, tzinfo=timezone.utc)


def fig(value, qualifier="exact", source="NIS", days=0, value_max=None) -> FigureRecord:
    return FigureRecord(value=value, value_max=value_max, qualifier=qualifier, source=source,
                        published=DAY0 + timedelta(days=days), quote="…")


ALERT = AlertSettings()


@pytest.mark.parametrize("history, claim, kind", [
    ([], fig(600, "approx"), "new"),
    ([fig(600, "approx")], fig(2000, "approx", days=30), "changed"),
    # "about 600" equals "600": qualifiers alone do not make a change
    ([fig(600, "approx")], fig(600, days=1), "corroborated"),
    ([fig(129, "at_least")], fig(129, days=1), "corroborated"),
    # "more than 4,000" then "4,700" from another source is a change, not a contradiction
    ([fig(4000, "at_least")], fig(4700, source="Ukrainian intelligence", days=2), "changed"),
    # another source, within the window, an inconsistent figure: a conflict
    ([fig(600, "approx")], fig(2000, source="Ukrainian intelligence", days=3), "conflict"),
    # the same disagreement after the window is simply the newer figure
    ([fig(600, "approx")], fig(2000, source="Ukrainian intelligence", days=10), "changed"),
    # a revision by the same source is a change, never a conflict
    ([fig(600, "approx")], fig(2000, source="NIS", days=1), "changed"),
    # a late article older than the current figure enters the history silently
    ([fig(600, days=5)], fig(300, days=1), "late"),
    # ranges compare by their bounds
    ([fig(600, "range", value_max=700)], fig(600, "range", value_max=700, days=1), "corroborated"),
    ([fig(600, "range", value_max=700)], fig(600, "range", value_max=800, days=1), "changed"),
])
def test_rules(history, claim, kind):
    assert decide(claim, history, ALERT).kind == kind


def test_min_change_absolute_and_percent():
    history = [fig(1000)]
    assert decide(fig(1040, days=1), history, AlertSettings(min_change=50)).kind == "below_threshold"
    assert decide(fig(1060, days=1), history, AlertSettings(min_change=50)).kind == "changed"
    assert decide(fig(1040, days=1), history, AlertSettings(min_change="5%")).kind == "below_threshold"
    assert decide(fig(1060, days=1), history, AlertSettings(min_change="5%")).kind == "changed"


def test_decision_names_the_prior_figure_it_was_compared_with():
    decision = decide(fig(2000, days=30), [fig(300), fig(600, "approx", days=10)], ALERT)
    assert decision.previous is not None and decision.previous.value == 600
    assert "600" in decision.reason and decision.alert


def test_an_unattributed_copy_does_not_hide_who_gave_the_current_figure():
    history = [fig(300, "approx", source="NIS"), fig(300, source=None)]
    claim = fig(1000, "approx", source="Ukrainian military intelligence", days=4)
    assert decide(claim, history, ALERT).kind == "conflict"
