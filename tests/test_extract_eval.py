"""Quality gate for figure extraction: the scores scripts/eval_extraction.py prints stay above
the floors pinned in tests/eval_baseline.json (raise them as the extractor improves; lowering
one needs a reason in the commit).

Runs the real CLI (`python -m watcher extract --json --batch`) through the script, on the
shared dev set (skipped when /work/shared is absent) and on our own held-out cases.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
BASELINE = json.loads((ROOT / "tests" / "eval_baseline.json").read_text(encoding="utf-8"))


def scores(gold: Path, section: str) -> dict:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "eval_extraction.py"), "--json",
                           "--gold", str(gold), "--section", section],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", ["dev", "heldout", "blind", "figures_heldout", "figures_blind2",
                                  "figures_blind3"])
def test_extraction_scores_stay_above_their_floors(name):
    floors = BASELINE[name]
    gold = (ROOT / floors["gold"]).resolve()
    if not gold.exists():
        if name == "dev" and not SHARED.exists():
            pytest.skip("shared dev set not available")
        pytest.fail(f"gold set {gold} missing")
    result = scores(gold, floors.get("section", "cases"))
    below = {k: round(result["overall"][k], 3) for k, floor in floors["overall"].items()
             if result["overall"][k] < floor}
    assert not below, f"{name}: below the floor in tests/eval_baseline.json: {below}"
    weak = {lang: round(s["f1"], 3) for lang, s in result["languages"].items()
            if s["f1"] < floors["per_language_f1"]}
    assert not weak, f"{name}: languages below F1 {floors['per_language_f1']}: {weak}"
