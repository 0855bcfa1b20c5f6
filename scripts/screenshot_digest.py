"""Render the sample digest's HTML email (CSS inlined, as sent) and screenshot it with
headless Chromium, to look at the layout a reader gets.

    python scripts/screenshot_digest.py [OUT.png] [--width 700] [--height 1400]

Writes OUT.png (default /tmp/watcher-digest.png) and the HTML next to it. Without a
Chromium binary (`chromium`, `chromium-browser` or `google-chrome` on PATH) it says so
and exits 0: this is a tool for developers, not a test. Chromium runs with no network
features, a throwaway profile, and only the local file.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watcher.deliver.email import inline_css  # noqa: E402
from watcher.pipeline.digest import render_digest, sample_digest  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def write_html(out: Path) -> Path:
    digest = sample_digest("desk", datetime.now(timezone.utc))
    html = inline_css(render_digest(digest).html)
    path = out.with_suffix(".html")
    path.write_text(html, encoding="utf-8")
    return path


def screenshot(browser: str, html: Path, out: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", f"--window-size={width},{height}",
            f"--screenshot={out}", html.resolve().as_uri(),
        ], check=True, capture_output=True, timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="/tmp/watcher-digest.png", type=Path)
    parser.add_argument("--width", type=int, default=700)
    parser.add_argument("--height", type=int, default=1400)
    args = parser.parse_args(argv)
    html = write_html(args.out)
    browser = find_browser()
    if browser is None:
        print(f"no Chromium found ({', '.join(BROWSERS)}); HTML written to {html}")
        return 0
    screenshot(browser, html, args.out, args.width, args.height)
    print(f"{args.out} (from {html})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
