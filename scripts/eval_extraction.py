#!/usr/bin/env python3
"""Score the figure extractor against a gold set, as /work/shared/eval/README.md describes.

Runs the real CLI (`python -m watcher extract --json --batch FILE`) on every case and
compares its claims with the gold claims:
  - lenient match: same metric, value within ±0.5%; each gold claim matches one prediction;
  - strict match: also the same qualifier and value_max;
  - precision / recall / F1 overall and per language, lenient and strict;
  - source accuracy over lenient matches: gold source named → predicted source fuzzy-equal
    (rapidfuzz token_set_ratio ≥ 80); gold source null → predicted null.

Gold files: JSON lines (figures-dev.jsonl) or YAML (tests/data/extract_cases.yaml: a list
of the same objects). `--in-process` calls `run_batch` directly instead of the CLI.

    python scripts/eval_extraction.py [--gold PATH] [--section NAME] [--json] [--in-process]
        [--show-errors]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GOLD = ROOT.parent / "shared" / "eval" / "figures-dev.jsonl"
SOURCE_THRESHOLD = 80
VALUE_TOLERANCE = 0.005


def load_gold(path: Path, section: str = "cases") -> list[dict[str, Any]]:
    """Cases from JSON lines, or from a YAML list / mapping of named lists (`section`)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml
        data = yaml.safe_load(text)
        return list(data[section] if isinstance(data, dict) else data)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def predict(cases: list[dict[str, Any]], in_process: bool) -> dict[str, list[dict[str, Any]]]:
    """Claims per case id, from the CLI (default) or run_batch in this process."""
    lines = "".join(json.dumps({"id": c["id"], "lang": c.get("lang"), "text": c["text"]},
                               ensure_ascii=False) + "\n" for c in cases)
    output = _run_in_process(lines) if in_process else _run_cli(lines)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in output.splitlines():
        if line.strip():
            claim = json.loads(line)
            found[claim["id"]].append(claim)
    return found


def _run_cli(lines: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        f.write(lines)
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cmd = [sys.executable, "-m", "watcher", "extract", "--json", "--batch", f.name]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env,
                              timeout=600, check=False)
    finally:
        os.unlink(f.name)
    if done.returncode != 0:
        raise SystemExit(f"eval: `watcher extract --batch` failed (exit {done.returncode}): "
                         f"{done.stderr.strip()}")
    return done.stdout


def _run_in_process(lines: str) -> str:
    sys.path.insert(0, str(ROOT))
    from watcher.figures import Extractor
    from watcher.figures.batch import run_batch
    out = io.StringIO()
    run_batch(io.StringIO(lines), out, Extractor())
    return out.getvalue()


def _value_eq(a: float, b: float) -> bool:
    return abs(a - b) <= VALUE_TOLERANCE * max(abs(a), abs(b), 1e-9)


def _lenient(g: dict[str, Any], p: dict[str, Any]) -> bool:
    return g["metric"] == p["metric"] and _value_eq(float(g["value"]), float(p["value"]))


def _strict(g: dict[str, Any], p: dict[str, Any]) -> bool:
    same_max = (g.get("value_max") is None) == (p.get("value_max") is None) and (
        g.get("value_max") is None or _value_eq(float(g["value_max"]), float(p["value_max"])))
    return _lenient(g, p) and g.get("qualifier") == p.get("qualifier") and same_max


def match(gold: list[dict[str, Any]], pred: list[dict[str, Any]],
          strict: bool) -> list[tuple[int, int]]:
    """Pairs (gold index, pred index); strict-compatible pairs are taken first."""
    used: set[int] = set()
    pairs = []
    for gi, g in enumerate(gold):
        options = [pi for pi, p in enumerate(pred) if pi not in used and _lenient(g, p)]
        if strict:
            options = [pi for pi in options if _strict(g, pred[pi])]
        else:
            options.sort(key=lambda pi: not _strict(g, pred[pi]))
        if options:
            used.add(options[0])
            pairs.append((gi, options[0]))
    return pairs


def _source_ok(gold_src: str | None, pred_src: str | None) -> bool:
    if gold_src is None:
        return pred_src is None
    if pred_src is None:
        return False
    from rapidfuzz import fuzz
    return fuzz.token_set_ratio(gold_src, pred_src) >= SOURCE_THRESHOLD


class Tally:
    """Counts for one group of cases (all, or one language)."""

    def __init__(self) -> None:
        self.gold = self.pred = self.tp = self.tp_strict = 0
        self.src_named = self.src_named_ok = self.src_null = self.src_null_ok = 0

    def add(self, gold: list[dict[str, Any]], pred: list[dict[str, Any]]) -> None:
        self.gold += len(gold)
        self.pred += len(pred)
        pairs = match(gold, pred, strict=False)
        self.tp += len(pairs)
        self.tp_strict += len(match(gold, pred, strict=True))
        for gi, pi in pairs:
            ok = _source_ok(gold[gi].get("source"), pred[pi].get("source"))
            if gold[gi].get("source") is None:
                self.src_null += 1
                self.src_null_ok += ok
            else:
                self.src_named += 1
                self.src_named_ok += ok

    def scores(self) -> dict[str, float]:
        def prf(tp: int) -> tuple[float, float, float]:
            p = tp / self.pred if self.pred else 1.0
            r = tp / self.gold if self.gold else 1.0
            return p, r, (2 * p * r / (p + r) if p + r else 0.0)
        p, r, f = prf(self.tp)
        sp, sr, sf = prf(self.tp_strict)
        matched = self.src_named + self.src_null
        return {
            "precision": p, "recall": r, "f1": f,
            "strict_precision": sp, "strict_recall": sr, "strict_f1": sf,
            "source_accuracy": (self.src_named_ok + self.src_null_ok) / matched if matched else 1.0,
            "source_named_accuracy": self.src_named_ok / self.src_named if self.src_named else 1.0,
            "source_null_accuracy": self.src_null_ok / self.src_null if self.src_null else 1.0,
            "gold": self.gold, "predicted": self.pred, "matched": self.tp,
        }


def evaluate(cases: list[dict[str, Any]], found: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    overall, per_lang = Tally(), defaultdict(Tally)
    for case in cases:
        gold, pred = case.get("claims") or [], found.get(case["id"], [])
        overall.add(gold, pred)
        per_lang[case.get("lang") or "?"].add(gold, pred)
    languages = {k: v.scores() for k, v in sorted(per_lang.items())}
    return {"overall": overall.scores(), "languages": languages}


def errors(cases: list[dict[str, Any]], found: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Human-readable differences, for tuning on the dev set."""
    lines = []
    for case in cases:
        gold, pred = case.get("claims") or [], found.get(case["id"], [])
        pairs = match(gold, pred, strict=False)
        gm, pm = {g for g, _ in pairs}, {p for _, p in pairs}
        for gi, g in enumerate(gold):
            if gi not in gm:
                lines.append(f"{case['id']} MISSED {g}")
        for pi, p in enumerate(pred):
            if pi not in pm:
                lines.append(f"{case['id']} EXTRA {_brief(p)}")
        for gi, pi in pairs:
            g, p = gold[gi], pred[pi]
            if not _strict(g, p):
                lines.append(f"{case['id']} QUALIFIER gold "
                             f"{g['qualifier']}/{g.get('value_max')} got {_brief(p)}")
            if not _source_ok(g.get("source"), p.get("source")):
                lines.append(f"{case['id']} SOURCE gold {g.get('source')!r} "
                             f"got {p.get('source')!r}")
    return lines


def _brief(p: dict[str, Any]) -> str:
    return (f"{p['metric']} {p['value']} {p.get('value_max')} {p['qualifier']} "
            f"src={p.get('source')!r}")


def table(result: dict[str, Any]) -> str:
    head = (f"{'':8} {'P':>6} {'R':>6} {'F1':>6} {'strictF1':>9} {'source':>7} {'named':>6} "
            f"{'null':>6} {'gold':>5} {'pred':>5}")
    rows = [head]
    for name, s in [("overall", result["overall"])] + list(result["languages"].items()):
        rows.append(f"{name:8} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
                    f"{s['strict_f1']:9.3f} {s['source_accuracy']:7.3f} "
                    f"{s['source_named_accuracy']:6.3f} {s['source_null_accuracy']:6.3f} "
                    f"{s['gold']:5d} {s['predicted']:5d}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="gold cases (.jsonl or .yaml)")
    ap.add_argument("--section", default="cases",
                    help="which list of a YAML gold file (cases, blind)")
    ap.add_argument("--json", action="store_true", help="print scores as JSON")
    ap.add_argument("--in-process", action="store_true", help="call run_batch instead of the CLI")
    ap.add_argument("--show-errors", action="store_true",
                    help="list every miss, extra and mismatch")
    args = ap.parse_args(argv)
    if not args.gold.exists():
        print(f"eval: gold set {args.gold} not found; pass --gold PATH", file=sys.stderr)
        return 2
    cases = load_gold(args.gold, args.section)
    found = predict(cases, args.in_process)
    result = evaluate(cases, found)
    print(json.dumps(result, indent=2) if args.json else table(result))
    if args.show_errors:
        print("\n".join(errors(cases, found)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
