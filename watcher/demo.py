"""`watcher demo`: the whole pipeline, offline, on the bundled seeds.

The seeds are RSS files whose items span a year of one story (seeds/story.yaml lists
its steps). For each step the demo serves the feeds on 127.0.0.1 as they stood on
that date, polls them with the real pipeline on a throwaway database, delivers to a
local SMTP server and a local webhook receiver that it starts itself, and prints
what changed. Everything it writes goes to one folder, named at the end.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

import yaml

from watcher.app import make_watcher
from watcher.config.loader import load_settings
from watcher.pipeline.compare import alias_note
from watcher.reports import format_figure, print_figures
from watcher.resources import seeds_dir

_ITEM = re.compile(r"<item\b.*?</item>\s*", re.DOTALL)
_PUBDATE = re.compile(r"<pubDate>(.*?)</pubDate>", re.DOTALL)


@dataclass(frozen=True)
class Step:
    day: date
    title: str  # story.yaml's `expect` is a note for humans reading the file

    @property
    def moment(self) -> datetime:
        return datetime.combine(self.day, time(23, 59), tzinfo=UTC)


def run_demo(output: Path | None, out: TextIO) -> int:
    folder = output or Path(tempfile.mkdtemp(prefix="watcher-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("demo.db*"):  # a demo always starts from an empty database
        old.unlink()
    seeds = seeds_dir()
    steps = load_story(seeds / "story.yaml")
    with _FeedServer(seeds / "feeds") as feeds, _MailCatcher(folder / "mail") as mail, \
            _WebhookCatcher(folder / "webhooks") as hooks:
        env = {"WATCHER_DEMO_DB": f"sqlite:///{folder / 'demo.db'}",
               "WATCHER_DEMO_FEEDS": feeds.base_url,
               "WATCHER_DEMO_SMTP_PORT": str(mail.port),
               "WATCHER_DEMO_WEBHOOK_URL": hooks.url}
        config = _write_config(seeds / "watcher.yaml", folder / "watcher.yaml", env)
        settings = load_settings(config, env={})
        clock = _StepClock()
        watcher = make_watcher(settings, clock=clock)
        out.write(f"watcher demo: {len(settings.feeds)} sample feeds served on {feeds.base_url}, "
                  f"topic: {settings.topics[0].name}\n")
        for kind, alerted, change in _all_decisions(watcher):
            out.write("   " + describe_change(kind, alerted, change) + "\n")
        try:
            for number, step in enumerate(steps, 1):
                clock.now, feeds.until = step.moment, step.moment
                _run_step(number, step, watcher, mail, hooks, out)
            out.write("\nWhat watcher knows now (`watcher figures`):\n")
            print_figures(watcher.store, settings, None, None, as_json=False, explain=False,
                          out=out)
        finally:
            watcher.close()
    _print_outputs(folder, config, mail, hooks, out)
    return 0


def load_story(path: Path) -> list[Step]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Step(day=_as_date(s["date"]), title=s["title"]) for s in data["steps"]]


def _run_step(number: int, step: Step, watcher, mail, hooks, out: TextIO) -> None:  # type: ignore[no-untyped-def]
    out.write(f"\n── Step {number} · {step.day:%d %b %Y} · {step.title}\n")
    known = {change.id for _, _, change in _all_decisions(watcher)}
    report = watcher.poll()
    out.write(f"   polled {len(report.feeds)} feeds: {report.total('new_entries')} new articles, "
              f"{report.total('matches')} about the topic, {report.total('claims')} figures read\n")
    for failed in report.failed:
        out.write(f"   ! {failed.feed_id}: {failed.error}\n")
    for kind, alerted, change in _all_decisions(watcher):
        if change.id not in known:
            out.write("   " + describe_change(kind, alerted, change) + "\n")
    before_mail, before_hooks = mail.count, hooks.count
    sent = watcher.deliver_immediate()
    failures = "".join(f"; {r.channel_id} FAILED: {r.error}" for r in sent if not r.ok)
    out.write(f"   delivered: {mail.count - before_mail} email(s), "
              f"{hooks.count - before_hooks} webhook(s){failures}\n")


def _all_decisions(watcher) -> list:  # type: ignore[no-untyped-def]
    return [d for t in watcher.settings.topics for d in watcher.store.outbox.decisions(t.id)]


def describe_change(kind: str, alerted: bool, change) -> str:  # type: ignore[no-untyped-def]
    marker = {"new": "+", "changed": "↑", "conflict": "!"}.get(kind, "·")
    current = format_figure(change.current)
    if change.previous is not None and kind in ("changed", "conflict"):
        text = f"{change.metric}: {format_figure(change.previous)} → {current}"
    else:
        text = f"{change.metric}: {current}"
    source = change.current.source or "no source named"
    feed = change.current.articles[0].feed if change.current.articles else "?"
    note = "" if alerted or kind == "baseline" else " (not alerted)"
    line = f"{marker} {kind:<12} {text} — {source} [{feed}]{note}"
    same = alias_note(change.reason)  # e.g. an Italian and an English name of one agency
    return f"{line}\n     ↳ {same}" if same else line


def _print_outputs(folder: Path, config: Path, mail, hooks, out: TextIO) -> None:  # type: ignore[no-untyped-def]
    out.write(f"\nEverything the demo wrote is in {folder}:\n"
              f"  database   {folder / 'demo.db'}\n"
              f"  emails     {mail.folder}/  ({mail.count} .eml files, plain text + HTML)\n"
              f"  webhooks   {hooks.folder}/  ({hooks.count} .json files, headers and body)\n"
              f"  config     {config}\n"
              f"Explore it: watcher --config {config} figures --explain\n"
              f"            watcher --config {config} status\n")


def _write_config(template: Path, target: Path, env: dict[str, str]) -> Path:
    """The seed config with the demo's ports filled in (and the baselines it names), so the
    user can explore the demo's database with the same config afterwards."""
    text = template.read_text(encoding="utf-8")
    for name, value in env.items():
        text = text.replace("${" + name + "}", value)
    target.write_text(text, encoding="utf-8")
    shutil.copy(template.parent / "baselines.yaml", target.parent / "baselines.yaml")
    return target


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class _StepClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


# -- the local servers the demo starts ------------------------------------------------------
class _FeedServer:
    """Serves seeds/feeds/*.xml with only the items published up to `until`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.until = datetime.max.replace(tzinfo=UTC)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = server.folder / Path(self.path.lstrip("/")).name
                if not path.is_file():
                    self.send_error(404)
                    return
                body = filter_items(path.read_text(encoding="utf-8"), server.until).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> _FeedServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def filter_items(rss: str, until: datetime) -> str:
    def keep(match: re.Match) -> str:
        found = _PUBDATE.search(match.group(0))
        if found and parsedate_to_datetime(found.group(1).strip()) > until:
            return ""
        return match.group(0)
    return _ITEM.sub(keep, rss)


class _Catcher:
    def __init__(self, folder: Path):
        self.folder = folder
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        self.count = 0
        self._lock = threading.Lock()

    def _save(self, suffix: str, data: bytes) -> None:
        with self._lock:
            self.count += 1
            (self.folder / f"{self.count:03d}{suffix}").write_bytes(data)


class _MailCatcher(_Catcher):
    """An SMTP server on 127.0.0.1 that writes each message it receives to a .eml file."""

    def __enter__(self) -> _MailCatcher:
        from aiosmtpd.controller import Controller

        catcher = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                catcher._save(".eml", envelope.original_content or envelope.content)
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class _WebhookCatcher(_Catcher):
    """An HTTP receiver on 127.0.0.1 that writes each webhook (headers + body) to a .json file."""

    def __enter__(self) -> _WebhookCatcher:
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                record = {"headers": {k.lower(): v for k, v in self.headers.items()
                                      if k.lower().startswith(("webhook-", "content-type"))},
                          "body": json.loads(body)}
                catcher._save(".json", json.dumps(record, indent=2, ensure_ascii=False).encode())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
