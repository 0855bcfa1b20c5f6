"""The `watcher` command line: its arguments and help, and where errors meet people.

This module owns the parser (every command, option, help text and example, with the
global options accepted before or after the command), logging setup, and `main`, the one
place where errors meet people: every `WatcherError` becomes one line (what, where, how
to fix) and an exit code (SPEC.md): 0 success, 1 runtime failure, 2 bad usage or bad
config. Tracebacks only with --debug.

It does not own what a command does: the `cmd_*` functions the parser dispatches to are
`watcher.commands`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from watcher import __version__
from watcher.commands import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    cmd_check,
    cmd_demo,
    cmd_digest,
    cmd_export,
    cmd_extract,
    cmd_figures,
    cmd_poll,
    cmd_run,
    cmd_status,
)
from watcher.exceptions import ConfigError, WatcherError

DESCRIPTION = """\
watcher follows evolving numbers in the news (casualties, troops, displaced people,
outbreak cases). It polls RSS/Atom feeds, keeps the articles that match your topics,
extracts the figures they claim and who claims them, and sends a digest by email or
webhook when a figure changes.

First steps:
  watcher demo                     see the whole pipeline on bundled sample feeds (offline)
  cp config/watcher.yaml my.yaml   then edit feeds, topics and channels
  watcher --config my.yaml check   validate it
  watcher --config my.yaml poll    one polling cycle now
  watcher --config my.yaml run     the daemon
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    try:
        return int(args.handler(args) or 0)
    except ConfigError as e:
        for problem in e.problems:
            print(f"watcher: config error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except WatcherError as e:
        if args.debug:
            raise
        print(f"watcher: error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `watcher figures | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # the last line of defence: one line, not a traceback
        if args.debug:
            raise
        print(f"watcher: unexpected error: {type(e).__name__}: {e} (run with --debug for the "
              f"traceback, and please report it)", file=sys.stderr)
        return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watcher", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"watcher {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_run, _add_poll, _add_digest, _add_extract, _add_figures, _add_check,
                _add_status, _add_demo, _add_export):
        add(sub)
    return parser


def _global_options(parser: argparse.ArgumentParser, inherited: bool = False) -> None:
    """Global options work before or after the command (`watcher --config x check`, or
    `watcher check --config x`); on commands they default to what the top level said."""
    extra: dict[str, Any] = {"default": argparse.SUPPRESS} if inherited else {}
    parser.add_argument("--config", metavar="PATH", help="config file (default: $WATCHER_CONFIG, "
                        "then config/watcher.yaml)", **extra)
    flag: dict[str, Any] = {"action": "store_true", **extra}
    parser.add_argument("--debug", help="show tracebacks and debug logs", **flag)
    parser.add_argument("-v", "--verbose", help="log what happens to each feed", **flag)
    parser.add_argument("--log-format", choices=("text", "json"), metavar="text|json",
                        help="log lines as text (default) or JSON objects with ts, level, "
                        "logger, message and fields", **({"default": "text"} | extra))


def _command(sub, name: str, help_: str, description: str, epilog: str = ""):  # type: ignore[no-untyped-def]
    p = sub.add_parser(name, help=help_, description=description, epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _global_options(p, inherited=True)
    return p


# -- commands (each dispatches to its cmd_* in watcher.commands) ---------------------------
def _add_run(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "run", "the daemon: poll feeds and send digests until stopped",
                 "Run watcher as a daemon: poll each feed at its interval (with jitter), send\n"
                 "digests to each channel on its schedule (immediate or cron), retry failed\n"
                 "deliveries. SIGTERM or SIGINT finish the job in hand and exit 0; SIGHUP\n"
                 "reloads the config (an invalid one is logged and the old one kept).\n"
                 "Only one daemon may use a database at a time.",
                 "example:\n  watcher --config /etc/watcher/watcher.yaml run\n"
                 "  kill -HUP $(pidof watcher)   # reload after editing the config")
    p.set_defaults(handler=cmd_run)


def _add_poll(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "poll", "one polling cycle now, then exit",
                 "Poll every feed (or one with --feed) once now, store new articles, claims and\n"
                 "changes, queue deliveries, and print a summary. Deliveries are sent by\n"
                 "`watcher digest` or by the daemon. A poll in which some feeds fail still\n"
                 "exits 0 and names them.",
                 "examples:\n  watcher poll\n  watcher poll --feed askanews-esteri")
    p.add_argument("--feed", metavar="ID", action="append", help="poll only this feed (repeatable)")
    p.set_defaults(handler=cmd_poll)


def _add_digest(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "digest", "send the deliveries that are due now",
                 "Gather the changes waiting for each channel into a digest and send it now,\n"
                 "whatever the channel's schedule. --preview renders what would be sent to\n"
                 "stdout and sends nothing. --retry also resends digests waiting to retry and\n"
                 "those that failed permanently. --test sends a sample digest to check a\n"
                 "channel's settings.",
                 "examples:\n  watcher digest --preview\n  watcher digest --channel desk --test\n"
                 "  watcher digest --retry")
    p.add_argument("--channel", metavar="ID", action="append",
                   help="only this channel (repeatable)")
    p.add_argument("--preview", action="store_true", help="print what would be sent; send nothing")
    p.add_argument("--retry", action="store_true", help="also resend waiting and failed digests")
    p.add_argument("--test", action="store_true", help="send a sample digest to check the channel")
    p.set_defaults(handler=cmd_digest)


def _add_extract(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "extract", "the figures in a text (a file or stdin)",
                 "Print the figures a text claims: metric, value, qualifier, who says so and\n"
                 "the sentence. No config is needed unless --topic is given. With --json, one\n"
                 "claim per line (SPEC.md \"Claim JSON\"). With --batch, the input is JSON lines\n"
                 "{\"id\", \"lang\", \"text\"} and each claim carries its case's \"id\".",
                 "examples:\n  watcher extract --lang it article.txt\n"
                 "  curl -s https://… | watcher extract --json\n"
                 "  watcher extract --json --batch cases.jsonl > claims.jsonl\n"
                 "  watcher extract --topic dprk-troops article.txt")
    p.add_argument("file", nargs="?", metavar="FILE", help="text file (default: stdin)")
    p.add_argument("--lang", metavar="L", help="language: en it fr de es ru uk (default: guessed)")
    p.add_argument("--topic", metavar="ID",
                   help="only figures about this topic's subject, and only its figures "
                   "(needs the config)")
    p.add_argument("--json", action="store_true", help="one claim JSON object per line")
    p.add_argument("--batch", action="store_true", help="input is JSON lines {id, lang, text}")
    p.set_defaults(handler=cmd_extract)


def _add_figures(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "figures", "current figures and their history",
                 "Show the current figure of each topic and metric, and the claims behind it\n"
                 "(value, qualifier, source, date, outlet). --explain adds, for each claim, the\n"
                 "rule that classified it (new, changed, conflict, corroborated, late, below\n"
                 "min_change) and the prior figure it was compared with.",
                 "examples:\n  watcher figures\n  watcher figures dprk-troops --metric killed\n"
                 "  watcher figures --json | jq '.[] | select(.metric==\"killed\")'")
    p.add_argument("topic", nargs="?", metavar="TOPIC", help="topic id (default: all)")
    p.add_argument("--metric", metavar="M", help="only this metric")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--explain", action="store_true", help="show why each claim alerted or not")
    p.set_defaults(handler=cmd_figures)


def _add_check(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "check", "validate the config",
                 "Validate the config file: YAML syntax, keys, types, durations, ${VAR}\n"
                 "environment variables and references between sections. Exit 0 when valid;\n"
                 "exit 2 with every problem named by file, line and key.",
                 "example:\n  watcher --config my.yaml check")
    p.set_defaults(handler=cmd_check)


def _add_status(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "status", "feed health and the delivery backlog",
                 "Show each feed's health (last success, last error, consecutive failures,\n"
                 "next poll) and each channel's backlog (changes waiting, digests pending or\n"
                 "failed). Failed digests can be resent with `watcher digest --retry`.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_status)


def _add_demo(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "demo", "the whole pipeline offline on the bundled sample feeds",
                 "Run the whole pipeline on the bundled seeds/: sample feeds in several\n"
                 "languages telling how the figures of North Korean troops in Russia changed\n"
                 "over a year. The demo serves them on 127.0.0.1, polls them step by step on a\n"
                 "throwaway database, delivers digests to an SMTP server and a webhook receiver\n"
                 "it starts itself, and says where everything it wrote is. No network needed.")
    p.add_argument("--output", metavar="DIR", help="where to write the database, emails and "
                   "webhooks (default: a new temporary folder)")
    p.set_defaults(handler=cmd_demo)


def _add_export(sub) -> None:  # type: ignore[no-untyped-def]
    p = _command(sub, "export", "the claim history or the recorded changes as CSV or JSON",
                 "Write every claim (topic, metric, value, value_max, qualifier, source,\n"
                 "published, quote, outlet, url) or every recorded change (kind, alerted,\n"
                 "previous and current figures, delta, reason, created) for analysis in a\n"
                 "spreadsheet, pandas or R. CSV has a header row (RFC 4180 quoting; a text cell\n"
                 "starting with = + - @ gets a leading ' so spreadsheets do not run it); JSON\n"
                 "is one array of objects. Numbers are numbers, times UTC ISO-8601.\n"
                 "--since keeps claims published (changes recorded) at or after a date.",
                 "examples:\n  watcher export -o claims.csv\n"
                 "  watcher export --what changes --format json --topic dprk-troops\n"
                 "  watcher export --since 2025-10-01 | python -c 'import pandas as pd, sys; "
                 "print(pd.read_csv(sys.stdin))'")
    p.add_argument("--what", choices=("claims", "changes"), default="claims",
                   help="claims (default) or changes")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json")
    p.add_argument("--topic", metavar="ID", help="only this topic")
    p.add_argument("--since", metavar="DATE", type=_since,
                   help="only from this date on: 2025-10-01 or 2025-10-01T12:00:00Z (UTC)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    p.set_defaults(handler=cmd_export)


def _since(value: str):  # type: ignore[no-untyped-def]
    from watcher.export import parse_since

    try:
        return parse_since(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--since ")) from None


def _setup_logging(args: argparse.Namespace) -> None:
    """Logs go to stderr, as text or JSON lines (--log-format), secrets redacted."""
    from watcher.logs import setup_logging

    level = logging.DEBUG if args.debug else logging.INFO if args.verbose or args.command == "run" \
        else logging.WARNING
    setup_logging(level, getattr(args, "log_format", "text"), sys.stderr)
    for noisy in ("apscheduler", "urllib3", "mail.log"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    if args.command == "poll" and level > logging.INFO:
        # `watcher poll` prints each feed's outcome itself; the same line as a log warning
        # would say it twice (-v shows the log too).
        logging.getLogger("watcher.poll").setLevel(logging.ERROR)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
