#!/usr/bin/env python3
"""Throughput of the figure extractor on real news text, on one core; quantulum3 for scale.

Reads article-sized texts from /work/shared/corpora/articles (see its README.txt):
German derStandard articles, Le Monde items, Italian feed items, Russian/Ukrainian NER
texts and English RSS entries; runs `Extractor.extract` over all of them (language given,
as the pipeline does from the feed's config) and prints MB/s and articles/s. Then runs
quantulum3's `parser.parse` on a sample of the same texts, if it is installed
(`pip install quantulum3`; only this benchmark uses it).

    python benchmarks/bench_extract.py [--corpus DIR] [--limit N] [--repeat R]
        [--quantulum-sample N]
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "articles"
_TAG = re.compile(r"<[^>]+>")

csv.field_size_limit(10**8)


def _de(base: Path) -> Iterator[tuple[str, str]]:
    with open(base / "de/10kGNAD/test.csv", encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter=";", quotechar="'"):
            if len(row) >= 2:
                yield "de", row[1]


def _fr(base: Path) -> Iterator[tuple[str, str]]:
    xml = (base / "fr/BAO1-lemonde-une-2020/une.xml").read_text(encoding="utf-8")
    for item in re.findall(r"<item\b.*?</item>", xml, re.DOTALL):
        yield "fr", html.unescape(_TAG.sub(" ", item)).strip()


def _it(base: Path) -> Iterator[tuple[str, str]]:
    with open(base / "it/p1va-news-in-brief/italy-today-items.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            yield "it", f"{row.get('title') or ''}. {row.get('description') or ''}"


def _txt(base: Path, sub: str, lang: str) -> Iterator[tuple[str, str]]:
    for path in sorted((base / sub).rglob("*.txt")):
        if "split" not in path.name:
            yield lang, path.read_text(encoding="utf-8", errors="replace")


def _en(base: Path) -> Iterator[tuple[str, str]]:
    for path in sorted((base / "multi").rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for e in data if isinstance(data, list) else data.get("entries", []):
            if str(e.get("language") or "en").lower().startswith("en"):
                text = f"{e.get('title') or ''}. {_TAG.sub(' ', e.get('description') or '')}"
                yield "en", html.unescape(text)


def load(base: Path, limit: int) -> list[tuple[str, str]]:
    """Up to `limit` texts, interleaved across languages so every language is in any prefix."""
    sources = [_de(base), _fr(base), _it(base),
               _txt(base, "ru", "ru"), _txt(base, "uk", "uk"), _en(base)]
    out: list[tuple[str, str]] = []
    while sources and len(out) < limit:
        for src in list(sources):
            item = next(src, None)
            if item is None:
                sources.remove(src)
            elif item[1].strip():
                out.append(item)
    return out[:limit]


def bench_watcher(texts: list[tuple[str, str]], repeat: int) -> tuple[float, int]:
    from watcher.figures import Extractor
    ex = Extractor()
    ex.extract("warm-up: 3 killed", "en")  # compile vocabularies outside the timing
    for lang in {lang for lang, _ in texts}:
        ex.extract("1", lang)
    claims = 0
    start = time.perf_counter()
    for _ in range(repeat):
        claims = sum(len(ex.extract(text, lang)) for lang, text in texts)
    return (time.perf_counter() - start) / repeat, claims


def bench_quantulum(texts: list[str]) -> float | None:
    try:
        from quantulum3 import parser  # type: ignore[import-not-found]
    except Exception as e:  # noqa: BLE001 - any failure to import means "not available"
        print(f"quantulum3: not available ({type(e).__name__}: {e}); "
              "pip install quantulum3 to compare")
        return None
    parser.parse("warm-up 3 km")
    start = time.perf_counter()
    for text in texts:
        parser.parse(text)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--limit", type=int, default=4000, help="number of texts")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quantulum-sample", type=int, default=300)
    args = ap.parse_args()
    if not args.corpus.exists():
        print(f"bench: corpus {args.corpus} not found; pass --corpus DIR", file=sys.stderr)
        return 2
    texts = load(args.corpus, args.limit)
    mb = sum(len(t.encode("utf-8")) for _, t in texts) / 1e6
    langs = sorted({lang for lang, _ in texts})
    seconds, claims = bench_watcher(texts, args.repeat)
    print(f"corpus: {len(texts)} texts, {mb:.2f} MB, languages {', '.join(langs)}")
    print(f"watcher extractor: {mb / seconds:.2f} MB/s, {len(texts) / seconds:.0f} articles/s "
          f"({claims} claims) on one core")
    sample = [t for _, t in texts[: args.quantulum_sample]]
    q = bench_quantulum(sample)
    if q is not None:
        qmb = sum(len(t.encode("utf-8")) for t in sample) / 1e6
        print(f"quantulum3 (sample of {len(sample)} texts, {qmb:.2f} MB): {qmb / q:.3f} MB/s, "
              f"{len(sample) / q:.0f} articles/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
