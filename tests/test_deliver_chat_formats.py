"""Webhook `format: slack` and `format: discord`, received by a real HTTP server on
127.0.0.1: what the chat message shows, that hostile feed text cannot ping anyone or
forge links, that the services' size limits hold, and that the signature still comes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.support.webhook_receiver import RecordedRequest, webhook_receiver
from watcher.config.models import WebhookChannel
from watcher.deliver import WebhookDeliverer
from watcher.pipeline.digest import sample_digest
from watcher.types import ArticleRef, Digest

NOW = datetime(2026, 11, 28, 7, tzinfo=timezone.utc)
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
HOSTILE = ("<!channel> @here @everyone <@U024BE7LH> & <https://evil.example|click me> "
           "**bold** [phish](https://evil.example) `code`")


def post(digest: Digest, format: str) -> tuple[dict[str, Any], RecordedRequest]:
    with webhook_receiver([200]) as hook:
        channel = WebhookChannel.model_validate(
            {"id": "chat", "type": "webhook", "url": hook.url, "format": format,
             "secret": SECRET})
        WebhookDeliverer(channel).send(digest)
    [request] = hook.requests
    return json.loads(request.body), request


def hostile_digest() -> Digest:
    digest = sample_digest("chat", NOW)
    first = digest.changes[0]
    article = ArticleRef(title=HOSTILE, url="https://news.example.org/a|b>c", feed="wire",
                         published=NOW)
    current = replace(first.current, quote=HOSTILE, source="@everyone <b>", articles=(article,))
    return replace(digest, changes=(replace(first, current=current),))


def many_changes(count: int) -> Digest:
    digest = sample_digest("chat", NOW)
    first = digest.changes[0]
    long_quote = "About 2,000 North Korean soldiers were killed. " * 30
    changes = tuple(replace(first, id=f"c{i}", metric=f"killed_{i}",
                            current=replace(first.current, quote=long_quote))
                    for i in range(count))
    return replace(digest, changes=changes)


def signature_verifies(request: RecordedRequest) -> bool:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{request.header('webhook-id')}.{request.header('webhook-timestamp')}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + request.body, hashlib.sha256).digest())
    return request.header("webhook-signature") == "v1," + expected.decode()


# --- Slack ------------------------------------------------------------------------------


def test_slack_gets_a_header_and_one_section_per_change():
    body, request = post(sample_digest("chat", NOW), "slack")
    blocks = body["blocks"]
    assert blocks[0]["type"] == "header"
    assert "killed 600 → 2,000" in blocks[0]["text"]["text"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) == 3  # killed, wounded, captured
    assert sections[0].startswith("*killed: 600 → 2,000 (+1,400, +233%)*")
    assert "according to South Korean intelligence" in sections[0]
    assert "<https://news.example.org/world/dprk-troops-2000-killed|" in sections[0]
    assert "killed" in body["text"]  # the notification's fallback text
    assert request.header("content-type") == "application/json"
    assert signature_verifies(request)


def test_slack_escapes_feed_text_so_it_cannot_ping_or_forge_links():
    body, _ = post(hostile_digest(), "slack")
    text = json.dumps(body, ensure_ascii=False)
    for forged in ("<!channel>", "<@U024BE7LH>", "<https://evil.example|", "@here", "@everyone"):
        assert forged not in text
    section = body["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt;" in section and " &amp; " in section
    assert "<https://news.example.org/a%7Cb%3Ec|" in section  # the real link survives intact


def test_slack_limits_hold_for_a_huge_digest():
    body, _ = post(many_changes(80), "slack")
    assert len(body["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if b["type"] == "section")
    assert len(body["blocks"][0]["text"]["text"]) <= 150
    assert "more changes" in body["blocks"][-2]["text"]["text"]


# --- Discord ----------------------------------------------------------------------------


def test_discord_gets_content_and_an_embed_per_change_with_mentions_off():
    body, request = post(sample_digest("chat", NOW), "discord")
    assert body["allowed_mentions"] == {"parse": []}
    assert "killed 600 → 2,000" in body["content"]
    titles = [e["title"] for e in body["embeds"]]
    assert titles[0] == "killed: 600 → 2,000 (+1,400, +233%)" and len(titles) == 3
    assert body["embeds"][0]["url"] == "https://news.example.org/world/dprk-troops-2000-killed"
    assert signature_verifies(request)


def test_discord_neutralises_markdown_and_mentions_in_feed_text():
    body, _ = post(hostile_digest(), "discord")
    description = body["embeds"][0]["description"]
    assert "@everyone" not in json.dumps(body, ensure_ascii=False)
    assert "\\*\\*bold\\*\\*" in description and "\\[phish\\]" in description
    assert body["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize("count", [1, 12, 40])
def test_discord_limits_hold(count: int):
    body, _ = post(many_changes(count), "discord")
    embeds = body["embeds"]
    assert len(body["content"]) <= 2000 and len(embeds) <= 10
    assert sum(len(e["title"]) + len(e["description"]) + len(e["footer"]["text"])
               for e in embeds) <= 6000
    assert all(len(e["description"]) <= 4096 and len(e["title"]) <= 256 for e in embeds)
    if len(embeds) < count:
        assert f"{count - len(embeds)} more changes" in body["content"]


def test_json_stays_the_default_format():
    body, _ = post(sample_digest("chat", NOW), "json")
    assert body["type"] == "watcher.digest" and len(body["changes"]) == 3
