"""Changes that are real: news stories in seven languages, served as feeds over loopback and
polled step by step; each step must deliver by webhook exactly the changes a reader would
call changes (tests/data/scenarios/*.yaml, run by tests/support/scenario_runner.py).

Each scenario is played once (its steps build on each other); every step is its own test,
so a step the program gets wrong is reported alone, with the text, the changes expected
and the changes received. A step marked `xfail` in its file is a known bug, kept with the
expectation a human would have.
"""

from __future__ import annotations

import pytest

from tests.support.scenario_runner import StepResult, load_scenario, run_scenario, scenario_files

SCENARIOS = {path.stem: load_scenario(path) for path in scenario_files()}
_played: dict[str, list[StepResult]] = {}


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    def results(name: str) -> list[StepResult]:
        if name not in _played:
            _played[name] = run_scenario(SCENARIOS[name], tmp_path_factory.mktemp(name))
        return _played[name]
    return results


CASES = [pytest.param(name, step.index, id=f"{name}-step{step.index}")
         for name, scenario in SCENARIOS.items() for step in scenario.steps]


def test_there_is_a_scenario_in_every_language():
    assert {"it", "fr", "de", "es", "ru", "uk"} <= {s.lang for s in SCENARIOS.values()}


@pytest.mark.parametrize(("name", "index"), CASES)
def test_step_delivers_exactly_the_expected_changes(play, name: str, index: int):
    result = play(name)[index - 1]
    if not result.ok and result.step.xfail:
        pytest.xfail(f"{result.step.xfail}\n{result.explain()}")
    if not result.ok:
        pytest.fail(f"{SCENARIOS[name].story}\n{_texts(result)}\n{result.explain()}", pytrace=False)


def _texts(result: StepResult) -> str:
    items = result.step.new_items
    return "\n".join(f"  [{i.guid} {i.published:%m-%d %H:%M}] {i.title} — {i.text}" for i in items)
