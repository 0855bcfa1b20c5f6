"""Fetching feed documents: the only module that does feed HTTP (and reads file:// feeds).

Owns: one GET per call with conditional validators, bounded time (connect/read timeouts
plus an overall deadline), bounded size (counted on the *decoded* body, so gzip bombs stop
at the cap), manual redirect following (≤ 5 hops, loops detected, permanent moves
reported), the SSRF guard, and the translation of every network/HTTP problem into a
`FetchResult` with `status="error"` and one readable line.

SSRF guard (off with `fetch.allow_private_networks: true`): private, loopback, link-local,
multicast and reserved addresses are refused for article pages on every hop, and for a feed
whose configured host resolves to public addresses (a feed on localhost is the user's
choice). Which addresses are refused, and how each hop is checked by name and at the
socket, is `watcher.pipeline.guard`; this module decides when a fetch is guarded and words
the refusal.

Does not own: deciding when to poll, backoff, per-host politeness or storing validators
(the orchestrator and storage do that), the address policy (`watcher.pipeline.guard`), nor
parsing the body (`watcher.pipeline.parse`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests
import urllib3

from watcher.config.models import FetchSettings
from watcher.pipeline.guard import Guard, Refused, VettedAdapter, address_kind, guarding, vet_hop
from watcher.retry_after import parse_retry_after

MAX_REDIRECTS = 5
CHUNK = 16 * 1024  # small so one decoded chunk can't overshoot the cap by much
CONNECT_TIMEOUT_MAX = 10.0  # a host that can't complete a handshake in 10 s won't in 30
_PERMANENT = {301, 308}
_REDIRECTS = {301, 302, 303, 307, 308}

Status = Literal["ok", "not_modified", "error"]
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json,"
               " application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced; `status="error"` carries `error` and `error_kind`."""

    status: Status
    body: bytes | None
    headers: dict[str, str]  # response headers, lower-case keys
    etag: str | None  # validators to send next time
    last_modified: str | None
    final_url: str  # after redirects
    permanent_redirect: str | None  # where a 301/308 chain moved the feed
    http_status: int | None
    error: str | None = None
    # timeout|connection|http|too_large|gone|tls|redirect|file|url|blocked
    error_kind: str | None = None
    retry_after: float | None = None  # seconds
    elapsed: float = 0.0


@dataclass
class _Attempt:
    """Mutable state of one fetch while it follows redirects."""

    url: str
    started: float
    deadline: float
    permanent: str | None = None
    chain_permanent: bool = True  # only an unbroken run of 301/308 moves the feed
    seen: list[str] = field(default_factory=list)
    guard: Guard = "feed"
    guarded: bool = True  # check the next hop's addresses (SSRF guard)


class _Failure(Exception):
    """Internal: aborts a fetch with a kind and a one-line message."""

    def __init__(self, kind: str, message: str, http_status: int | None = None,
                 retry_after: float | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.kind, self.http_status, self.retry_after = kind, http_status, retry_after
        self.headers = headers or {}


class Fetcher:
    """Fetches feed URLs with the limits of `FetchSettings`; never raises for I/O problems.

    Time limits, from `settings.timeout` (T): connect ≤ min(T, 10 s), each read ≤ T, and
    the whole fetch (redirects and body included) ≤ 2·T, so a server dripping one byte
    at a time cannot hold a poll forever. The session's http(s) adapters are replaced by
    `guard.VettedAdapter` (the SSRF guard's check of each connection's peer).
    """

    def __init__(self, settings: FetchSettings, session: requests.Session | None = None):
        self.settings = settings
        self.session = session or requests.Session()
        adapter = VettedAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        total = settings.timeout.total_seconds()
        self.timeouts = (min(total, CONNECT_TIMEOUT_MAX), total)
        self.deadline = 2 * total

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              guard: Guard = "feed") -> FetchResult:
        """GET a feed (`guard="feed"`) or an article page (`guard="page"`).

        SSRF guard, unless `allow_private_networks`: a page's every hop must resolve to,
        and connect to, public addresses; a feed's first hop is the user's own choice (a
        feed on localhost works), but a public feed may not reach a private network.
        """
        started = time.monotonic()
        if url.startswith("file:"):
            if guard == "page":
                return self._error(_Attempt(url, started, started), _Failure(
                    "url", f"not an http(s) URL: {url}"))
            return self._fetch_file(url, started)
        attempt = _Attempt(url=url, started=started, deadline=started + self.deadline,
                           guard=guard, guarded=not self.settings.allow_private_networks)
        accept = PAGE_ACCEPT if guard == "page" else FEED_ACCEPT
        try:
            return self._follow(attempt, self._request_headers(etag, last_modified, accept),
                                etag, last_modified)
        except _Failure as f:
            return self._error(attempt, f)
        except ValueError as e:  # a URL or header that http.client/urllib cannot even form
            return self._error(attempt, _Failure("url", f"invalid request for {attempt.url}: "
                                                        f"{_first_line(e)}"))

    # -- HTTP --------------------------------------------------------------------------
    def _request_headers(self, etag: str | None, last_modified: str | None,
                         accept: str = FEED_ACCEPT) -> dict[str, str]:
        headers = {"User-Agent": self.settings.user_agent, "Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    def _follow(self, attempt: _Attempt, headers: dict[str, str], etag: str | None,
                last_modified: str | None) -> FetchResult:
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(attempt.url)
            if attempt.guarded:
                _vet_hop(attempt)
            resp = self._get(attempt, headers)
            with resp:
                if resp.status_code not in _REDIRECTS:
                    return self._final(attempt, resp, etag, last_modified)
                self._next_hop(attempt, resp)
        raise _Failure("redirect", f"more than {MAX_REDIRECTS} redirects from {attempt.seen[0]}")

    def _get(self, attempt: _Attempt, headers: dict[str, str]) -> requests.Response:
        _check_deadline(attempt)
        try:
            with guarding(attempt.guarded):  # the socket's peer is checked as it connects
                return self.session.get(attempt.url, headers=headers, stream=True,
                                        timeout=self.timeouts, allow_redirects=False)
        except Refused as e:
            raise _refused(attempt, e) from e
        except requests.RequestException as e:
            raise _translate(e, attempt.url) from e

    def _next_hop(self, attempt: _Attempt, resp: requests.Response) -> None:
        location = resp.headers.get("location")
        if not location:
            raise _Failure("http", f"HTTP {resp.status_code} without Location from {attempt.url}",
                           resp.status_code)
        target = urljoin(attempt.url, location.strip())
        attempt.seen.append(attempt.url)
        if target in attempt.seen:
            raise _Failure("redirect", f"redirect loop: {target} redirects back to itself "
                                       f"(via {len(attempt.seen)} hops)", resp.status_code)
        attempt.chain_permanent = attempt.chain_permanent and resp.status_code in _PERMANENT
        if attempt.chain_permanent:
            attempt.permanent = target
        attempt.url = target

    def _final(self, attempt: _Attempt, resp: requests.Response, etag: str | None,
               last_modified: str | None) -> FetchResult:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        code = resp.status_code
        new_etag = headers.get("etag") or etag
        new_lm = headers.get("last-modified") or last_modified
        if code == 304:
            return self._result(attempt, "not_modified", None, headers, new_etag, new_lm, code)
        if code >= 400 or code < 200:
            raise _http_failure(attempt.url, code, headers)
        body = self._read_body(attempt, resp, headers)
        return self._result(attempt, "ok", body, headers, headers.get("etag"),
                            headers.get("last-modified"), code)

    def _read_body(self, attempt: _Attempt, resp: requests.Response,
                   headers: dict[str, str]) -> bytes:
        cap = self.settings.max_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and "content-encoding" not in headers and int(declared) > cap:
            raise _too_large(attempt.url, cap, f"Content-Length {declared}")
        chunks: list[bytes] = []
        size = 0
        try:
            # read1 returns what has arrived, so the deadline is checked between network
            # reads even when a server drips one byte at a time.
            while chunk := resp.raw.read1(CHUNK, decode_content=True):
                size += len(chunk)
                if size > cap:
                    raise _too_large(attempt.url, cap, "decoded body")
                chunks.append(chunk)
                _check_deadline(attempt)
        except _Failure:
            raise
        except Exception as e:  # urllib3/socket/zlib errors while streaming
            raise _translate(e, attempt.url) from e
        return b"".join(chunks)

    def _result(self, attempt: _Attempt, status: Status, body: bytes | None,
                headers: dict[str, str], etag: str | None, last_modified: str | None,
                code: int) -> FetchResult:
        return FetchResult(status=status, body=body, headers=headers, etag=etag,
                           last_modified=last_modified, final_url=attempt.url,
                           permanent_redirect=attempt.permanent, http_status=code,
                           elapsed=time.monotonic() - attempt.started)

    def _error(self, attempt: _Attempt, f: _Failure) -> FetchResult:
        return FetchResult(status="error", body=None, headers=f.headers, etag=None,
                           last_modified=None, final_url=attempt.url, permanent_redirect=None,
                           http_status=f.http_status, error=str(f), error_kind=f.kind,
                           retry_after=f.retry_after,
                           elapsed=time.monotonic() - attempt.started)

    # -- file:// -----------------------------------------------------------------------
    def _fetch_file(self, url: str, started: float) -> FetchResult:
        attempt = _Attempt(url=url, started=started, deadline=started + self.deadline)
        try:
            body = _read_file(url, self.settings.max_bytes)
        except _Failure as f:
            return self._error(attempt, f)
        return FetchResult(status="ok", body=body, headers={}, etag=None, last_modified=None,
                           final_url=url, permanent_redirect=None, http_status=None,
                           elapsed=time.monotonic() - started)


def _read_file(url: str, cap: int) -> bytes:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise _Failure("url", f"file URL {url} names a host; use file:///absolute/path")
    path = Path(url2pathname(parts.path))
    try:
        with path.open("rb") as fh:
            body = fh.read(cap + 1)
    except OSError as e:
        raise _Failure("file", f"cannot read {path}: {e.strerror or e}") from e
    if len(body) > cap:
        raise _too_large(url, cap, "file")
    return body


# -- helpers: failures -----------------------------------------------------------------
def _check_scheme(url: str) -> None:
    # A redirect must never turn an HTTP feed into a local file read.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Failure("url", f"not an http(s) URL: {url}")


def _vet_hop(attempt: _Attempt) -> None:
    """Refuse, before connecting, a hop whose host resolves to a non-public address (a
    feed's own first hop on one turns the guard off instead: see `guard.vet_hop`)."""
    try:
        attempt.guarded = vet_hop(attempt.url, attempt.guard, first_hop=not attempt.seen)
    except Refused as e:
        raise _refused(attempt, e) from e


def _refused(attempt: _Attempt, e: Refused) -> _Failure:
    what = "article page" if attempt.guard == "page" else "feed"
    via = f" (redirected from {attempt.seen[0]})" if attempt.seen else ""
    verb = "connects to" if e.at_peer else "resolves to"
    why = " after resolving to public addresses (DNS rebinding?)" if e.at_peer else ""
    return _Failure("blocked", f"refused: {what} {attempt.url}{via} {verb} {e.address} "
                               f"({address_kind(e.address)}){why}; allow it with "
                               f"fetch.allow_private_networks: true")


def _check_deadline(attempt: _Attempt) -> None:
    if time.monotonic() > attempt.deadline:
        limit = attempt.deadline - attempt.started
        raise _Failure("timeout", f"timed out after {limit:g}s fetching {attempt.url}")


def _too_large(url: str, cap: int, what: str) -> _Failure:
    return _Failure("too_large", f"{what} of {url} exceeds the {cap} byte limit "
                                 f"(raise fetch.max_bytes if the feed is really that big)")


def _http_failure(url: str, code: int, headers: dict[str, str]) -> _Failure:
    retry = parse_retry_after(headers.get("retry-after"))
    if code == 410:
        return _Failure("gone", f"HTTP 410 Gone from {url}: the feed was removed; watcher "
                                f"stops polling it (change its url in the config to resume)",
                        code, headers=headers)
    hint = f" (retry after {retry:g}s)" if retry is not None else ""
    return _Failure("http", f"HTTP {code} from {url}{hint}", code, retry, headers)


def _translate(e: BaseException, url: str) -> _Failure:
    """requests/urllib3 exceptions → one line with a stable kind."""
    if isinstance(e, requests.exceptions.SSLError):
        return _Failure("tls", f"TLS error with {url}: {_first_line(e)}")
    if isinstance(e, (requests.exceptions.Timeout, TimeoutError)) or "timed out" in str(e):
        return _Failure("timeout", f"timed out fetching {url}")
    if isinstance(e, requests.exceptions.ConnectionError):
        return _Failure("connection", f"cannot connect to {url}: {_first_line(e)}")
    if isinstance(e, (urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError)):
        return _Failure("decode", f"cannot decode the compressed body of {url}")
    if isinstance(e, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                      requests.exceptions.InvalidSchema)):
        return _Failure("url", f"invalid URL {url}: {_first_line(e)}")
    return _Failure("connection", f"error fetching {url}: {type(e).__name__}: {_first_line(e)}")


_KNOWN_REASONS = ("Connection refused", "Name or service not known", "No route to host",
                  "Network is unreachable", "Connection reset",
                  "Temporary failure in name resolution", "certificate verify failed",
                  "IncompleteRead", "Connection aborted")


def _first_line(e: BaseException) -> str:
    """The useful part of urllib3's nested messages, on one short line."""
    text = str(e).strip() or type(e).__name__
    for reason in _KNOWN_REASONS:
        if reason in text:
            return reason
    return text.splitlines()[0][:200]

