"""A real HTTP server on 127.0.0.1 for tests: serve bytes per path, script misbehaviour,
record requests.

Owns: a threaded `http.server` bound to an ephemeral loopback port, a table of scripted
responses per path, and a log of every request received. It does not own any watcher
code and never binds or contacts a non-loopback address.

Typical use::

    from tests.support.feed_server import FeedServer, Response

    with FeedServer() as srv:
        srv.set("/feed.xml", b"<rss>...</rss>", etag='"v1"')     # 304 on If-None-Match: "v1"
        srv.set("/busy", b"", status=429, headers={"Retry-After": "120"})
        srv.redirect("/old", "/feed.xml", status=301)
        srv.set("/slow", b"x" * 1000, drip=(10, 0.05))            # 10 bytes every 50 ms
        srv.set("/hang", b"", hang=True)                          # never answers
        srv.script("/flaky", [Response(status=503), Response(body=b"ok")])  # 1st, then 2nd, 2nd…
        url = srv.url("/feed.xml")
        ...
        assert srv.count("/feed.xml") == 2
        assert srv.requests[-1].headers["if-none-match"] == '"v1"'

Unknown paths answer 404. `Response.gzip=True` gzip-encodes the body and sets
Content-Encoding (pass already-compressed bytes with `raw_gzip=True` for bombs). POST/PUT
bodies are recorded too, so the server doubles as a webhook receiver.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

__all__ = ["FeedServer", "RecordedRequest", "Response"]


@dataclass(frozen=True)
class Response:
    """What the server answers for one request.

    delay: seconds to wait before sending anything (status line included).
    drip: (chunk_size, pause) — send the body in chunks with a pause after each.
    hang: accept the connection, never answer (until the server stops).
    etag / last_modified: sent as headers; a matching If-None-Match / If-Modified-Since
    gets a 304 with no body, as a well-behaved origin would.
    gzip: compress `body` and send Content-Encoding: gzip.
    raw_gzip: `body` is already gzip data; just label it Content-Encoding: gzip.
    content_length: override the Content-Length header (None: the real length;
    -1: omit it and close the connection to end the body).
    chunked: send the body with Transfer-Encoding: chunked (in `drip` sizes if given).
    stream: a function returning the body as an iterable of chunks, produced as they are
    sent (a 1 GB body without 1 GB in memory); give `content_length` for its size or
    leave it None to end the body by closing the connection.
    """

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    drip: tuple[int, float] | None = None
    hang: bool = False
    gzip: bool = False
    raw_gzip: bool = False
    content_length: int | None = None
    chunked: bool = False
    stream: Callable[[], Iterable[bytes]] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


class FeedServer:
    """Context manager running a scripted HTTP server on 127.0.0.1 in a background thread."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Response]] = {}
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # releases handlers that hang or delay
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- addresses ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of `path` (which starts with '/') on this server."""
        return self.base_url + path

    # -- scripting ---------------------------------------------------------------------
    def set(self, path: str, body: bytes | str = b"", **fields: object) -> None:
        """Answer every request for `path` with one response (fields as in `Response`)."""
        data = body.encode() if isinstance(body, str) else body
        self.script(path, [Response(body=data, **fields)])  # type: ignore[arg-type]

    def script(self, path: str, responses: Iterable[Response]) -> None:
        """Answer the n-th request for `path` with responses[n]; the last one repeats."""
        with self._lock:
            self._routes[path] = list(responses)
            self._hits[path] = 0

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        """Redirect `path` to `to` (a path on this server or an absolute URL)."""
        target = self.url(to) if to.startswith("/") else to
        self.set(path, b"", status=status, headers={"Location": target}, content_type="text/plain")

    # -- observations ------------------------------------------------------------------
    def count(self, path: str) -> int:
        """How many requests arrived for `path` (query string ignored)."""
        with self._lock:
            return sum(1 for r in self.requests if r.path.split("?")[0] == path)

    def _next_response(self, path: str) -> Response | None:
        with self._lock:
            script = self._routes.get(path)
            if not script:
                return None
            n = self._hits[path]
            self._hits[path] = n + 1
            return script[min(n, len(script) - 1)]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-request is what hostile-server tests do on purpose


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    owner: FeedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_POST(self) -> None:
        self._serve(send_body=True)

    do_PUT = do_POST

    def _serve(self, send_body: bool) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = RecordedRequest(self.command, self.path, headers, body, time.monotonic())
        self.owner._record(request)
        resp = self.owner._next_response(self.path.split("?")[0])
        if resp is None:
            resp = Response(body=b"not found", status=404, content_type="text/plain")
        if resp.hang:
            self.owner._stopping.wait()
            self.close_connection = True
            return
        if resp.delay and self.owner._stopping.wait(resp.delay):
            return
        self._answer(resp, headers, send_body)

    def _answer(self, resp: Response, req_headers: Mapping[str, str], send_body: bool) -> None:
        status, body = resp.status, resp.body
        if _not_modified(resp, req_headers):
            status, body = 304, b""
        elif resp.gzip:
            body = gzip.compress(body)
        self.send_response(status)
        for name, value in _response_headers(resp, status, len(body)).items():
            self.send_header(name, value)
        self.end_headers()
        if resp.stream is not None:
            self._write_stream(resp.stream() if send_body else ())
            self.close_connection = True
            return
        if send_body and status != 304:
            self._write_body(body, resp.drip, resp.chunked)
        if resp.content_length == -1:
            self.close_connection = True

    def _write_body(self, body: bytes, drip: tuple[int, float] | None, chunked: bool) -> None:
        size, pause = drip or (max(len(body), 1), 0.0)
        try:
            for start in range(0, len(body), size):
                piece = body[start : start + size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                self.wfile.flush()
                if pause and self.owner._stopping.wait(pause):
                    return
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, which is what hostile-server tests expect


    def _write_stream(self, chunks: Iterable[bytes]) -> None:
        try:
            for chunk in chunks:
                if self.owner._stopping.is_set():
                    return
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading at its cap, as it should


def _not_modified(resp: Response, req_headers: Mapping[str, str]) -> bool:
    if resp.status != 200:
        return False
    if resp.etag is not None and req_headers.get("if-none-match") == resp.etag:
        return True
    return (resp.last_modified is not None
            and req_headers.get("if-modified-since") == resp.last_modified)


def _response_headers(resp: Response, status: int, body_len: int) -> dict[str, str]:
    out = {"Content-Type": resp.content_type}
    if resp.chunked:
        out["Transfer-Encoding"] = "chunked"
    elif resp.stream is not None and resp.content_length is None:
        out["Connection"] = "close"
    elif resp.content_length is None:
        out["Content-Length"] = str(0 if status == 304 else body_len)
    elif resp.content_length >= 0:
        out["Content-Length"] = str(resp.content_length)
    else:
        out["Connection"] = "close"
    if resp.gzip or resp.raw_gzip:
        out["Content-Encoding"] = "gzip"
    if resp.etag is not None:
        out["ETag"] = resp.etag
    if resp.last_modified is not None:
        out["Last-Modified"] = resp.last_modified
    out.update(resp.headers)
    return out
