"""Keeping channel secrets out of logs and error messages.

This module owns two things:

* `redact_url`: a URL as it may be shown (in errors, logs, `watcher status`): userinfo
  dropped, query values and token-like path segments (Slack's and Discord's hooks carry
  their secret in the path) replaced by REDACTED.
* a process-wide list of secret strings (SMTP passwords, webhook secrets, credential
  parts of URLs) that deliverers register when they are built, and a log-record factory
  that replaces them in every log record, whichever library logs it (urllib3 writes the
  request path, query included, at DEBUG) and whichever handler formats it.

Error messages are built from redacted parts in the first place; the log scrubber is
the safety net behind them. It does not decide what is secret beyond URLs: each
deliverer says what its secrets are.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"
_MIN_SECRET = 4  # shorter strings would blank out ordinary words; such secrets are weak anyway
# A path segment that looks like a credential: long, mixing letters and digits.
_TOKEN_LIKE = re.compile(r"^(?=[^/]*\d)(?=[^/]*[A-Za-z])[A-Za-z0-9_-]{24,}$")
_WORD_SPLIT = re.compile(r"[/:@?&=#,;]+")

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact_url(url: str) -> str:
    """The URL without credentials, still saying where it goes."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    path = "/".join(REDACTED if _TOKEN_LIKE.match(seg) else seg for seg in parts.path.split("/"))
    query = urlencode([(k, REDACTED) for k, _ in parse_qsl(parts.query, keep_blank_values=True)],
                      safe=REDACTED)
    return urlunsplit((parts.scheme, host, path, query, ""))


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that must never be shown: what `redact_url` removes."""
    parts = urlsplit(url)
    found = [parts.password or ""]  # a user name is an identity, not a secret
    found += [seg for seg in parts.path.split("/") if _TOKEN_LIKE.match(seg)]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    return [s for s in found if s] + [unquote(s) for s in found if s and unquote(s) != s]


def opaque_url_secrets(url: str) -> list[str]:
    """For URLs that are secret through and through (Apprise's tgram://TOKEN/CHAT…):
    the whole URL, and every long or token-like piece of it."""
    pieces = [p for p in _WORD_SPLIT.split(url.partition("://")[2]) if p]
    return [url, *url_secrets(url),
            *(p for p in pieces if len(p) >= 20 or _TOKEN_LIKE.match(p))]


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret strings; from now on they are replaced in every log record."""
    fresh = {v for v in values if v and len(v) >= _MIN_SECRET}
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
    _install_record_factory()


def scrub(text: str) -> str:
    """`text` with every registered secret replaced by REDACTED."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: URLs before parts
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _install_record_factory() -> None:
    """Wrap the current log-record factory once, so that every record is scrubbed."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_record(record)
        return record

    logging.setLogRecordFactory(scrubbed_record)


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's problem to report, not ours
        return
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
