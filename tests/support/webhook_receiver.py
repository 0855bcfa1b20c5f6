"""A real HTTP webhook receiver on 127.0.0.1 for tests: records requests, scripted answers.

    with webhook_receiver([500, 200]) as hook:       # first request 500, then 200 (last repeats)
    with webhook_receiver([Reply(429, {"Retry-After": "30"})]) as hook:
    with webhook_receiver([200], delay=1.0) as hook:  # answers after a second
    with webhook_receiver([Reply(200, delay=3.0), 200]) as hook:  # only the first is slow
        ... hook.url, hook.requests[0].body, hook.requests[0].header("webhook-id")
        ... hook.accepted()   # what a receiver that drops repeated webhook-ids keeps

Each request is recorded *before* it is answered, as a receiver that processes first
and answers afterwards would: a sender killed or timed out while waiting for the
answer has still delivered. `accepted()` models the Standard Webhooks advice to
receivers: process a webhook-id once, ignore repeats.

This module owns the test receiver only; it listens on loopback and nowhere else.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (added to the receiver's delay)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int = 0  # what the receiver answered (or was about to answer)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class WebhookReceiver:
    url: str
    script: list[Reply]
    delay: float
    stopping: threading.Event
    requests: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request: RecordedRequest) -> Reply:
        """Keep the request; the next scripted reply (the last one repeats)."""
        with self._lock:
            index = min(len(self.requests) + 1, len(self.script)) - 1
            reply = self.script[index]
            self.requests.append(replace(request, status=reply.status))
            return reply

    def accepted(self) -> list[RecordedRequest]:
        """The requests a deduplicating receiver acts on: the first 2xx one per webhook-id."""
        seen: set[str | None] = set()
        kept = []
        for request in list(self.requests):
            msg_id = request.header("webhook-id")
            if 200 <= request.status < 300 and msg_id not in seen:
                seen.add(msg_id)
                kept.append(request)
        return kept

    def attempts(self) -> list[str | None]:
        """The webhook-id of every request received, in order."""
        return [r.header("webhook-id") for r in list(self.requests)]


def _handler_class(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = receiver.record(RecordedRequest(self.command, self.path, headers, body))
            delay = receiver.delay + reply.delay
            if delay and receiver.stopping.wait(delay):
                return  # the test is over: don't answer a client that has gone
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left, which is what some tests want

        do_POST = do_GET = do_PUT = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler


@contextmanager
def webhook_receiver(script: Sequence[int | Reply] = (200,), *, delay: float = 0.0,
                     path: str = "/hook") -> Iterator[WebhookReceiver]:
    """Serve on 127.0.0.1 (ephemeral port) until the block ends."""
    replies = [r if isinstance(r, Reply) else Reply(r) for r in script] or [Reply(200)]
    receiver = WebhookReceiver(url="", script=replies, delay=delay, stopping=threading.Event())
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler_class(receiver))
    server.daemon_threads = True
    receiver.url = f"http://{LOOPBACK}:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
