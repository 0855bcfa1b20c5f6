"""Log output: one line per event, as text (default) or JSON lines, never a secret.

This module owns how log records are written: the handler `setup_logging` installs on the
root logger, the text and JSON formats, and `RedactionFilter`, which scrubs every line that
handler writes, whichever library logged it. It does not decide what is logged (each module
does) nor how secrets are kept out of error messages in the first place
(`watcher.deliver.redact`); the filter is the net behind both.

What the filter removes:
* URL userinfo: `https://user:pass@host/` → `https://REDACTED@host/`;
* credential query values: `?token=…`, `key=`, `secret=`, `password=`, `api_key=`, `sig=`…;
* Standard Webhooks secrets: `whsec_…`;
* strings registered as secret (`register_settings_secrets`: SMTP passwords, webhook
  secrets, credential parts of feed and channel URLs from the config).

JSON lines carry `ts` (UTC ISO-8601), `level`, `logger`, `message`, any `extra=` fields
given by the caller, and `exc` with the traceback when there is one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from watcher.deliver.redact import (
    REDACTED,
    opaque_url_secrets,
    register_secrets,
    scrub,
    url_secrets,
)

FORMATS = ("text", "json")
_HANDLER_NAME = "watcher"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@?#]+@")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;](?:[a-z0-9_-]*(?:token|secret|passw(?:or)?d|api[_-]?key|apikey|auth|sig"
    r"|signature|credential)[a-z0-9_-]*|key|pass|pwd)=)[^&#\s\"'<>]+", re.IGNORECASE)
_WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")
# The attributes every LogRecord has: whatever else a record carries came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


def redact(text: str) -> str:
    """`text` without URL userinfo, credential query values, webhook secrets and any
    registered secret string."""
    text = scrub(text)
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group('key')}{REDACTED}", text)
    return _WHSEC.sub(f"whsec_{REDACTED}", text)


class RedactionFilter(logging.Filter):
    """Rewrites each record's message (and traceback, and string extras) redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it itself
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        for name, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in _extras(record).items():
            line.setdefault(name, value)
        if record.exc_info or record.exc_text:
            line["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(level: int, fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record at `level` and above to `stream` (stderr) in `fmt`, redacted.
    Replaces the handler a previous call installed; leaves others (pytest's) alone."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactionFilter())
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def register_settings_secrets(settings: Any) -> None:
    """Mark the config's secrets (SMTP passwords, webhook secrets, credentials in feed and
    channel URLs) so that no log line shows them."""
    found: list[str | None] = []
    for feed in getattr(settings, "feeds", []):
        found += url_credentials(feed.url)
    for channel in getattr(settings, "channels", []):
        found += _channel_secrets(channel)
    register_secrets(found)


def url_credentials(url: str) -> list[str]:
    """The secret parts of a URL: its password, credential query values (token=, key=…)
    and token-like path segments; not its user name, nor ordinary query values (page=2),
    which are words that must stay readable elsewhere in the logs."""
    parts = urlsplit(url)
    query = [v for k, v in parse_qsl(parts.query) if _QUERY_SECRET.match(f"?{k}=x")]
    tokens = [s for s in url_secrets(urlunsplit(("", "", parts.path, "", ""))) if s]
    return [s for s in [parts.password or "", *query, *tokens] if s]


def _channel_secrets(channel: Any) -> list[str | None]:
    found: list[str | None] = [_plain(getattr(channel, "secret", None))]
    url = getattr(channel, "url", None)
    if isinstance(url, str):
        found += url_credentials(url)
    smtp = getattr(channel, "smtp", None)
    if smtp is not None:
        found += [_plain(getattr(smtp, "password", None))]
    for secret_url in getattr(channel, "urls", None) or []:  # apprise: secret through and through
        found += opaque_url_secrets(_plain(secret_url) or "")
    return found


def _plain(value: Any) -> str | None:
    """A secret's text, whether a plain string or a pydantic SecretStr."""
    if value is None:
        return None
    reveal = getattr(value, "get_secret_value", None)
    return reveal() if callable(reveal) else str(value)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items()
            if k not in _STANDARD_ATTRS and not k.startswith("_")}
