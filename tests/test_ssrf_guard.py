"""The SSRF guard against DNS rebinding: what a connection reaches is checked, not only a name.

A rebinding server answers a public address when watcher checks the name and 127.0.0.1 when
it connects. Here a fake resolver plays that server for made-up names only (`*.test`); every
connection goes to a real listener on loopback, never to the public address it names.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.feed_server import FeedServer
from tests.support.smtp import self_signed_cert
from watcher.config.models import FetchSettings
from watcher.pipeline import guard
from watcher.pipeline.fetch import Fetcher

PUBLIC = "93.184.215.14"  # a global address; the resolver's first answer, never connected to
HINT = "allow it with fetch.allow_private_networks: true"
ARTICLE = b"<html><body><article><p>About 1,200 people were evacuated.</p></article></body></html>"
RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"


class Resolver:
    """socket.getaddrinfo for made-up names: the n-th lookup gets the n-th answer (the last
    repeats); any other name resolves as usual."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.answers: dict[str, list[str]] = {}
        self.given: dict[str, list[str]] = {}
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            if host not in self.answers:
                return real(host, port, *args, **kwargs)
            given = self.given.setdefault(host, [])
            answers = self.answers[host]
            given.append(answers[min(len(given), len(answers) - 1)])
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                     (given[-1], int(port)))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def add(self, host: str, *answers: str) -> None:
        self.answers[host] = list(answers)


class Listener:
    """A bare TCP listener that records each connection and every byte it receives."""

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []  # one entry per connection, once it has ended
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(5)
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
                self.received.append(data)

    def connections(self, expected: int) -> list[bytes]:
        """What each connection sent, once `expected` of them have ended (5 s at most)."""
        until = time.monotonic() + 5
        while len(self.received) < expected and time.monotonic() < until:
            time.sleep(0.01)
        return self.received

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def resolver(monkeypatch):
    return Resolver(monkeypatch)


@pytest.fixture
def srv():
    with FeedServer() as server:
        server.set("/story.html", ARTICLE, content_type="text/html; charset=utf-8")
        yield server


@pytest.fixture
def listener():
    bare = Listener()
    yield bare
    bare.close()


@pytest.fixture
def private_listener():
    """A listener on 127.0.0.2: "the private network" while 127.0.0.1 plays the internet."""
    try:
        bare = Listener("127.0.0.2")
    except OSError:
        pytest.skip("this system cannot bind 127.0.0.2")
    yield bare
    bare.close()


@pytest.fixture
def loopback_is_public(monkeypatch):
    """127.0.0.1 plays the public internet; every other non-public address stays refused."""
    real = guard._is_public
    monkeypatch.setattr(guard, "_is_public",
                        lambda a: a == ipaddress.ip_address("127.0.0.1") or real(a))


@pytest.fixture
def tls_srv(tmp_path: Path) -> Iterator[tuple[FeedServer, Path]]:
    """A FeedServer speaking HTTPS with a certificate for `news.test` (and 127.0.0.1)."""
    cert = self_signed_cert(tmp_path, "news.test")
    server = FeedServer()
    httpd = server._httpd
    httpd.socket = cert.server_context().wrap_socket(httpd.socket, server_side=True)
    server.set("/story.html", ARTICLE, content_type="text/html")
    with server:
        yield server, cert.cert_file


def make_fetcher(allow_private: bool = False, **session: object) -> Fetcher:
    http = requests.Session()
    http.trust_env = False  # no proxy from the environment between us and loopback
    for name, value in session.items():
        setattr(http, name, value)
    return Fetcher(FetchSettings(timeout=2, allow_private_networks=allow_private), session=http)


# -- DNS rebinding ---------------------------------------------------------------------------
def test_rebinding_page_is_refused_before_the_request_is_sent(srv, resolver):
    resolver.add("news.test", PUBLIC, "127.0.0.1")
    url = f"http://news.test:{srv.port}/story.html"
    result = make_fetcher().fetch(url, guard="page")
    assert result.status == "error" and result.error_kind == "blocked"
    assert result.error == (f"refused: article page {url} connects to 127.0.0.1 (loopback) "
                            f"after resolving to public addresses (DNS rebinding?); {HINT}")
    assert srv.requests == []  # the page was not fetched
    assert resolver.given["news.test"] == [PUBLIC, "127.0.0.1"]  # the rebinding did happen


def test_rebinding_https_page_is_refused_before_the_tls_handshake(listener, resolver):
    resolver.add("news.test", PUBLIC, "127.0.0.1")
    url = f"https://news.test:{listener.port}/story.html"
    result = make_fetcher().fetch(url, guard="page")
    assert result.error_kind == "blocked" and "connects to 127.0.0.1 (loopback)" in result.error
    assert listener.connections(1) == [b""]  # connected, then closed: not even a ClientHello


def test_rebinding_on_a_redirect_hop_is_refused(srv, resolver, private_listener,
                                                loopback_is_public):
    resolver.add("news.test", "127.0.0.1")
    resolver.add("cdn.test", "127.0.0.1", "127.0.0.2")
    srv.redirect("/story.html", f"http://cdn.test:{private_listener.port}/story.html")
    result = make_fetcher().fetch(f"http://news.test:{srv.port}/story.html", guard="page")
    assert result.error_kind == "blocked"
    assert (f"(redirected from http://news.test:{srv.port}/story.html) connects to 127.0.0.2 "
            f"(loopback)") in result.error
    assert srv.count("/story.html") == 1
    assert private_listener.connections(1) == [b""]


def test_rebinding_feed_is_refused_like_a_redirect_into_a_private_network(srv, resolver):
    srv.set("/feed.xml", RSS)
    resolver.add("feed.test", PUBLIC, "127.0.0.1")
    result = make_fetcher().fetch(f"http://feed.test:{srv.port}/feed.xml")
    assert result.error_kind == "blocked"
    assert result.error.startswith(f"refused: feed http://feed.test:{srv.port}/feed.xml "
                                   f"connects to 127.0.0.1 (loopback)")
    assert srv.requests == []


def test_a_kept_alive_connection_to_a_private_address_is_not_reused_for_a_page(srv, resolver):
    srv.set("/feed.xml", RSS)
    # the feed's host is on loopback (the user's choice, unguarded); then it "moves" to a
    # public address, but the pooled connection still goes to loopback
    resolver.add("news.test", "127.0.0.1", "127.0.0.1", PUBLIC, "127.0.0.1")
    fetcher = make_fetcher()
    assert fetcher.fetch(f"http://news.test:{srv.port}/feed.xml").status == "ok"
    result = fetcher.fetch(f"http://news.test:{srv.port}/story.html", guard="page")
    assert result.error_kind == "blocked" and "connects to 127.0.0.1" in result.error
    assert srv.count("/story.html") == 0
    assert len(resolver.given["news.test"]) == 3  # no new connection: the pooled one was vetted


# -- what the guard still allows and refuses -------------------------------------------------
def test_allow_private_networks_lets_pages_on_loopback_through(srv, resolver):
    resolver.add("intranet.test", "127.0.0.1")
    fetcher = make_fetcher(allow_private=True)
    by_address = fetcher.fetch(srv.url("/story.html"), guard="page")
    by_name = fetcher.fetch(f"http://intranet.test:{srv.port}/story.html", guard="page")
    assert (by_address.status, by_address.body) == ("ok", ARTICLE)
    assert (by_name.status, by_name.body) == ("ok", ARTICLE)
    assert srv.count("/story.html") == 2


def test_a_page_redirecting_to_a_private_address_is_refused_before_connecting(
        srv, resolver, private_listener, loopback_is_public):
    resolver.add("news.test", "127.0.0.1")
    secret = f"http://127.0.0.2:{private_listener.port}/admin"
    srv.redirect("/story.html", secret)
    result = make_fetcher().fetch(f"http://news.test:{srv.port}/story.html", guard="page")
    assert result.error == (f"refused: article page {secret} (redirected from "
                            f"http://news.test:{srv.port}/story.html) resolves to 127.0.0.2 "
                            f"(loopback); {HINT}")
    assert private_listener.connections(0) == []  # never connected


@pytest.mark.parametrize(("url", "kind"), [
    ("http://10.1.2.3/article", "10.1.2.3 (private)"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 (link-local)"),
    ("http://0.0.0.0:9/x", "0.0.0.0 (unspecified)"),
    ("http://[::ffff:127.0.0.1]:9/x", "127.0.0.1 (loopback)"),
])
def test_the_refusal_names_the_address_and_what_it_is(url, kind):
    result = make_fetcher().fetch(url, guard="page")
    assert result.error == f"refused: article page {url} resolves to {kind}; {HINT}"


def test_https_page_is_verified_for_its_name_through_the_guard(tls_srv, resolver,
                                                              loopback_is_public):
    server, ca = tls_srv
    resolver.add("news.test", "127.0.0.1")
    result = make_fetcher(verify=str(ca)).fetch(f"https://news.test:{server.port}/story.html",
                                                guard="page")
    assert (result.status, result.body) == ("ok", ARTICLE)
    assert server.requests[0].headers["host"] == f"news.test:{server.port}"


def test_https_page_with_a_certificate_for_another_name_fails(tls_srv, resolver,
                                                             loopback_is_public):
    server, ca = tls_srv
    resolver.add("other.test", "127.0.0.1")  # same address, but the certificate names news.test
    result = make_fetcher(verify=str(ca)).fetch(f"https://other.test:{server.port}/story.html",
                                                guard="page")
    assert result.error_kind == "tls"
    assert server.requests == []


# -- proxies -----------------------------------------------------------------------------------
def test_through_a_proxy_the_name_is_checked_not_the_proxy_address(srv, resolver):
    srv.set("http://news.test/story.html", ARTICLE)  # the proxy (on loopback) serves it
    resolver.add("news.test", PUBLIC)
    fetcher = make_fetcher(proxies={"http": srv.base_url})
    result = fetcher.fetch("http://news.test/story.html", guard="page")
    assert (result.status, result.body) == ("ok", ARTICLE)
    assert [r.path for r in srv.requests] == ["http://news.test/story.html"]


def test_through_a_proxy_a_page_resolving_to_a_private_address_is_refused(srv, resolver):
    resolver.add("intranet.test", "10.0.0.5")
    fetcher = make_fetcher(proxies={"http": srv.base_url})
    result = fetcher.fetch("http://intranet.test/admin", guard="page")
    assert result.error_kind == "blocked" and "resolves to 10.0.0.5 (private)" in result.error
    assert srv.requests == []
