"""What each `watcher` command does: the `cmd_*` functions the parser dispatches to.

This module owns running one command from parsed arguments: loading the config, checking
the ids given on the command line against it, calling into the app, storage and reports,
and the exit code it returns (SPEC.md): 0 success, 1 runtime failure, 2 bad usage or bad
config.

It does not own the command line itself (arguments, help texts, examples) nor turning
errors into messages for people: both are `watcher.cli`'s. Commands raise `WatcherError`s.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from watcher.exceptions import ConfigError, WatcherError
from watcher.types import BUILTIN_METRICS

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def cmd_check(args: argparse.Namespace) -> int:
    path = _config_path(args)
    settings = _load(args)
    print(f"{path}: ok — {len(settings.feeds)} feeds, {len(settings.topics)} topics, "
          f"{len(settings.channels)} channels")
    return EXIT_OK


def cmd_poll(args: argparse.Namespace) -> int:
    """One polling cycle. Exit 0 even when some feeds fail (they are named); on a
    terminal a progress bar while feeds are fetched, then a summary table."""
    from watcher.app import make_watcher
    from watcher.reports import print_poll_report

    settings = _load(args)
    unknown = set(args.feed or []) - {f.id for f in settings.feeds}
    if unknown:
        raise ConfigError(f"no feed with id {', '.join(sorted(unknown))} in the config "
                          f"(known: {', '.join(f.id for f in settings.feeds)})")
    watcher = make_watcher(settings)
    tty = sys.stdout.isatty()
    try:
        if tty:
            report = _poll_with_progress(watcher, args.feed)
        else:
            report = watcher.poll(args.feed, on_feed=lambda r: print(r.summary(), flush=True))
    finally:
        watcher.close()
    print_poll_report(report, sys.stdout, rich_table=tty)
    return EXIT_OK


def _poll_with_progress(watcher, feed_ids: list[str] | None):  # type: ignore[no-untyped-def]
    """The poll with a rich progress bar that advances as each feed's fetch ends."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    count = len(feed_ids) if feed_ids else len(watcher.settings.feeds)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  transient=True) as progress:
        task = progress.add_task("fetching feeds", total=count)

        def fetched(report) -> None:  # type: ignore[no-untyped-def]
            progress.update(task, advance=1, description=f"fetched {report.feed_id}")
            if report.status == "error":
                progress.console.print(f"[red]failed[/red] {escape(report.feed_id)}: "
                                       f"{escape(report.error or '')}", highlight=False)

        report = watcher.pipeline.poll(watcher.clock(), feed_ids, on_fetched=fetched)
        progress.update(task, description="stored")
    return report


def cmd_digest(args: argparse.Namespace) -> int:
    from watcher.app import make_watcher
    from watcher.reports import preview_digests, print_send_reports, send_test_digests

    settings = _load(args)
    channels = _channel_ids(settings, args.channel)
    if args.test:
        return send_test_digests(settings, channels, sys.stdout)
    watcher = make_watcher(settings)
    try:
        if args.preview:
            return preview_digests(watcher, channels, sys.stdout)
        reports = watcher.deliver(channels, retry_all=args.retry)
    finally:
        watcher.close()
    return print_send_reports(reports, sys.stdout)


def cmd_extract(args: argparse.Namespace) -> int:
    from watcher.figures import Extractor
    from watcher.figures.batch import run_batch

    subject: Sequence[str] = ()
    figures = None
    custom = ()
    if args.topic:
        settings = _load(args)
        try:
            topic = settings.topic(args.topic)
        except KeyError:
            raise ConfigError(f"no topic {args.topic!r} in {_config_path(args)} (known: "
                              f"{', '.join(t.id for t in settings.topics)})") from None
        subject, figures, custom = topic.subject, topic.figures, settings.figures
    extractor = Extractor(custom_figures=custom)
    source = _open_input(args.file)
    if args.batch:
        bad = run_batch(source, sys.stdout, extractor, default_lang=args.lang)
        return EXIT_USAGE if bad else EXIT_OK
    claims = extractor.extract(source.read(), args.lang, subject=subject, figures=figures)
    _print_claims(claims, args.json, sys.stdout)
    return EXIT_OK


def cmd_figures(args: argparse.Namespace) -> int:
    from watcher.reports import print_figures
    from watcher.storage import Store

    settings = _load(args)
    if args.topic and args.topic not in {t.id for t in settings.topics}:
        hint = (f"; for a metric write --metric {args.topic}"
                if args.topic in BUILTIN_METRICS else "")
        raise ConfigError(f"no topic {args.topic!r} in the config (known: "
                          f"{', '.join(t.id for t in settings.topics)}){hint}")
    with Store(settings.database) as store:
        print_figures(store, settings, args.topic, args.metric, as_json=args.json,
                      explain=args.explain, out=sys.stdout)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from watcher.reports import print_status
    from watcher.storage import Store

    settings = _load(args)
    with Store(settings.database) as store:
        print_status(store, settings, as_json=args.json, out=sys.stdout)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from watcher.export import columns_of, export_rows, write
    from watcher.storage import Store

    settings = _load(args)
    outlets = {f.id: f.name or f.id for f in settings.feeds}
    with Store(settings.database) as store:
        if args.topic:
            _known_topic(args.topic, settings, store)
        rows = export_rows(store, args.what, topic=args.topic, since=args.since, outlets=outlets)
    if not args.output:
        write(rows, columns_of(args.what), args.format, sys.stdout)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            count = write(rows, columns_of(args.what), args.format, out)
    except OSError as e:
        raise WatcherError(f"cannot write {args.output}: {e.strerror}") from e
    print(f"wrote {count} {args.what} to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from watcher.scheduler import Daemon

    path = _config_path(args)
    return Daemon(path, loader=lambda: _load(args)).run()


def cmd_demo(args: argparse.Namespace) -> int:
    from watcher.demo import run_demo

    return run_demo(Path(args.output) if args.output else None, sys.stdout)


# -- helpers --------------------------------------------------------------------------------
def _config_path(args: argparse.Namespace) -> Path:
    from watcher.config.loader import default_config_path

    return default_config_path(given=args.config)


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from watcher.config.loader import load_settings

    return load_settings(_config_path(args))


def _channel_ids(settings, wanted: list[str] | None) -> list[str]:  # type: ignore[no-untyped-def]
    known = [c.id for c in settings.channels]
    if not wanted:
        return known
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise ConfigError(f"no channel {', '.join(unknown)} in the config "
                          f"(known: {', '.join(known)})")
    return wanted


def _known_topic(topic: str, settings, store) -> None:  # type: ignore[no-untyped-def]
    """A topic of the config, or one the database still has claims for."""
    known = {t.id for t in settings.topics} | {t for t, _ in store.claims.topics_and_metrics()}
    if topic not in known:
        raise ConfigError(f"no topic {topic!r} in the config or the database (known: "
                          f"{', '.join(sorted(known)) or 'none'})")


def _open_input(file: str | None) -> TextIO:
    if file is None or file == "-":
        return sys.stdin
    try:
        return open(file, encoding="utf-8")
    except OSError as e:
        raise WatcherError(f"cannot read {file}: {e.strerror}") from e


def _print_claims(claims, as_json: bool, out: TextIO) -> None:  # type: ignore[no-untyped-def]
    for claim in claims:
        if as_json:
            out.write(json.dumps(claim.to_json(), ensure_ascii=False) + "\n")
            continue
        value = f"{claim.value:,.0f}"
        if claim.value_max is not None:
            value += f"–{claim.value_max:,.0f}"
        source = f" — {claim.source}" if claim.source else ""
        out.write(f"{claim.metric:<11} {value:>12} ({claim.qualifier}){source}\n"
                  f"{'':11} “{claim.quote}”\n")
    if not claims and not as_json:
        out.write("no figures found\n")
