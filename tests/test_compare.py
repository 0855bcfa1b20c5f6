"""The change rules of SPEC.md "Changes and digests", one scenario per rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from watcher.config.models import AlertSettings, SourceSettings
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
    absolute, percent = AlertSettings(min_change=50), AlertSettings(min_change="5%")
    assert decide(fig(1040, days=1), history, absolute).kind == "below_threshold"
    assert decide(fig(1060, days=1), history, absolute).kind == "changed"
    assert decide(fig(1040, days=1), history, percent).kind == "below_threshold"
    assert decide(fig(1060, days=1), history, percent).kind == "changed"


def test_decision_names_the_prior_figure_it_was_compared_with():
    decision = decide(fig(2000, days=30), [fig(300), fig(600, "approx", days=10)], ALERT)
    assert decision.previous is not None and decision.previous.value == 600
    assert "600" in decision.reason and decision.alert


def test_an_unattributed_copy_does_not_hide_who_gave_the_current_figure():
    history = [fig(300, "approx", source="NIS"), fig(300, source=None)]
    claim = fig(1000, "approx", source="Ukrainian military intelligence", days=4)
    assert decide(claim, history, ALERT).kind == "conflict"


# --- one source under several names (the config's `sources:`) ------------------------------

SEOUL = SourceSettings(name="South Korea's National Intelligence Service",
                       aliases=["NIS", "South Korea's spy agency", "servizi segreti sudcoreani",
                                "renseignement sud-coréen"])
KYIV = SourceSettings(name="Ukraine's military intelligence (HUR)",
                      aliases=["HUR", "ГУР", "renseignement militaire ukrainien"])
WITH_SOURCES = AlertSettings().with_sources([SEOUL, KYIV])


def test_the_same_agency_in_another_language_revises_its_figure_not_contradicts_it():
    history = [fig(600, "approx", source="servizi segreti sudcoreani")]
    claim = fig(2000, "approx", source="South Korea's spy agency", days=6)
    assert decide(claim, history, ALERT).kind == "conflict"  # names alone: two sources
    decision = decide(claim, history, WITH_SOURCES)
    assert decision.kind == "changed" and decision.alert
    assert ("South Korea's spy agency and servizi segreti sudcoreani read as one source: "
            "South Korea's National Intelligence Service (aliases under `sources:`)"
            ) in decision.reason


def test_a_revision_down_through_an_alias_is_a_correction_by_the_same_source():
    history = [fig(600, "approx", source="renseignement sud-coréen")]
    decision = decide(fig(500, source="NIS", days=1), history, WITH_SOURCES)
    assert decision.kind == "changed"
    assert decision.reason.startswith("revised down from 600 (renseignement sud-coréen")
    assert "NIS and renseignement sud-coréen read as one source" in decision.reason


@pytest.mark.parametrize("written", [
    "Servizi Segreti Sudcoreani",          # case
    "i servizi segreti sud-coreani",       # an article, a hyphen
    "renseignement sud-coreen",            # no accent
    "the NIS",
])
def test_an_alias_is_recognised_as_articles_write_it(written):
    history = [fig(600, "approx", source="South Korea's spy agency")]
    assert decide(fig(2000, "approx", source=written, days=2), history, WITH_SOURCES).kind == \
        "changed"


def test_two_different_agencies_still_conflict_each_under_its_own_entry():
    history = [fig(300, "approx", source="South Korea's National Intelligence Service")]
    claim = fig(1000, "approx", source="renseignement militaire ukrainien", days=4)
    decision = decide(claim, history, WITH_SOURCES)
    assert decision.kind == "conflict" and "read as one source" not in decision.reason


@pytest.mark.parametrize("other", [
    "North Korea's spy agency",       # one word differs: another agency
    "intelligence",                   # too vague to be anyone's alias
    "Ukrainian military intelligence",
])
def test_a_name_that_merely_resembles_an_alias_does_not_join_its_source(other):
    history = [fig(600, "approx", source="servizi segreti sudcoreani")]
    assert decide(fig(2000, "approx", source=other, days=3), history, WITH_SOURCES).kind == \
        "conflict"


def test_names_under_two_entries_are_two_sources_however_alike_they_read():
    alert = AlertSettings().with_sources([
        SourceSettings(name="South Korea's spy agency"),
        SourceSettings(name="North Korea's spy agency")])
    history = [fig(600, "approx", source="South Korea's spy agency")]
    claim = fig(2000, "approx", source="North Korea's spy agency", days=3)
    assert decide(claim, history, ALERT).kind == "changed"  # names alone: read as one
    assert decide(claim, history, alert).kind == "conflict"


def test_sources_the_config_does_not_list_are_compared_as_before():
    history = [fig(600, "approx", source="the Pentagon")]
    assert decide(fig(2000, "approx", source="Pentagon", days=1), history, WITH_SOURCES).kind \
        == "changed"
    assert decide(fig(2000, "approx", source="US officials", days=1), history, WITH_SOURCES).kind \
        == "conflict"
