"""Batch extraction: JSON lines of cases in, JSON lines of claims out (`watcher extract --batch`).

This module owns the batch line format: each input line is `{"id", "lang", "text"}`
(`lang` optional); each output line is one claim's JSON with the case's `"id"` added.
A bad line is reported on stderr by line number and skipped; it never stops the run.
It does not extract anything itself (that is the `Extractor` it is given).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from watcher.figures import Extractor


class _BadLine(ValueError):
    """One input line that cannot be used; the message says why."""


def run_batch(lines: Iterable[str], out: TextIO, extractor: Extractor,
              default_lang: str | None = None, err: TextIO | None = None) -> int:
    """Extract every case; returns the number of bad lines (each named on stderr)."""
    err = err if err is not None else sys.stderr
    bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = _parse(line)
        except _BadLine as e:
            bad += 1
            print(f"watcher extract --batch: line {number}: {e}; skipped", file=err)
            continue
        lang = case.get("lang") or default_lang
        claims = extractor.extract(case["text"], lang)
        out.writelines(json.dumps(claim.to_json() | {"id": case.get("id")}, ensure_ascii=False)
                       + "\n" for claim in claims)
    return bad


def _parse(line: str) -> dict[str, Any]:
    try:
        case = json.loads(line)
    except json.JSONDecodeError as e:
        raise _BadLine(f"not JSON ({e.msg} at column {e.colno})") from e
    if not isinstance(case, dict):
        raise _BadLine('expected an object like {"id": …, "lang": …, "text": …}')
    if not isinstance(case.get("text"), str):
        raise _BadLine('missing "text" (a string)')
    if case.get("lang") is not None and not isinstance(case["lang"], str):
        raise _BadLine('"lang" must be a string such as "en"')
    return case
