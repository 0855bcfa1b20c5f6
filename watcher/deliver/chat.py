"""Webhook bodies for chat services: Slack Block Kit and Discord embeds.

This module owns the shape of a digest as a Slack or Discord message (`format: slack`
/ `format: discord` on a webhook channel) and the safety of feed text inside them:

* Slack: a header block (the subject line) and one mrkdwn section per change; feed
  text has `&`, `<`, `>` escaped (so it cannot forge links or `<!channel>` mentions)
  and `@channel`/`@here`/`@everyone` are broken with a zero-width space. Slack's
  limits are respected: header 150 characters, section 3000, 50 blocks.
* Discord: `content` (the subject, ≤2000 characters) and one embed per change (≤10),
  markdown in feed text escaped, `allowed_mentions: {"parse": []}` so nobody is pinged,
  and the 6000-character total over all embeds kept with room to spare.

Feeds needing attention (failing, stale, retired) get one short line: a context block
before the id in Slack, a second line of `content` in Discord; the email has the detail.

The strings come from `watcher.pipeline.digest_format` and `digest_view` (the same
wording as the email). It does not send anything or sign anything
(`watcher.deliver.webhook`).
"""

from __future__ import annotations

import re
from typing import Any

from watcher.pipeline.digest_format import subject_line
from watcher.pipeline.digest_view import ChangeView, LinkView, attention_summary, sections
from watcher.types import Digest

SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_BLOCKS_MAX = 50
DISCORD_CONTENT_MAX = 2000
DISCORD_EMBEDS_MAX = 10
DISCORD_TOTAL_MAX = 6000
DISCORD_TITLE_MAX = 256
DISCORD_DESCRIPTION_MAX = 1500  # of 4096 allowed: several embeds must fit in 6000
DISCORD_FOOTER_MAX = 200

_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()#<:-])")
_ZWSP = "\u200b"


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, ending in … when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _no_broadcast(text: str) -> str:
    return _BROADCAST.sub(lambda m: "@" + _ZWSP + m.group(1), text)


# --- Slack ------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Feed text for mrkdwn: control characters &, <, > escaped, no @channel pings."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _no_broadcast(text)


def _slack_link(link: LinkView) -> str:
    title = slack_escape(link.title).replace("|", "¦")
    if not link.url:
        return f"{title} ({slack_escape(link.feed)})"
    url = link.url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{url}|{title}> ({slack_escape(link.feed)}, {link.date})"


def _slack_change(topic_name: str, change: ChangeView) -> str:
    lines = [f"*{slack_escape(change.headline)}*  _{change.kind_label}_ · "
             f"{slack_escape(topic_name)}"]
    source = f", according to {slack_escape(change.now_source)}" if change.now_source else ""
    lines.append(f"now: {slack_escape(change.now)}{source} ({change.now_date})")
    if change.before:
        source = f", according to {slack_escape(change.before_source)}" \
            if change.before_source else ""
        lines.append(f"before: {slack_escape(change.before)}{source} ({change.before_date})")
    if change.history_text:
        lines.append(f"history: {slack_escape(change.history_text)}")
    if change.quote:
        lines.append("> " + slack_escape(change.quote))
    lines += [f"• {_slack_link(link)}" for link in change.links]
    return truncate("\n".join(lines), SLACK_SECTION_MAX)


def slack_body(digest: Digest) -> dict[str, Any]:
    """Block Kit message: header, one section per change, a context line with the id."""
    subject = subject_line(digest, "")
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {
        "type": "plain_text", "text": truncate(_no_broadcast(subject), SLACK_HEADER_MAX),
        "emoji": False}}]
    changes = [(s.topic_name, c) for s in sections(digest) for c in s.changes]
    attention = attention_summary(digest, slack_escape)
    # header, the "more" note, the context line (and the feed-health line)
    room = SLACK_BLOCKS_MAX - (4 if attention else 3)
    for topic_name, change in changes[:room]:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": _slack_change(topic_name, change)}})
    if len(changes) > room:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": f"… and {len(changes) - room} more changes"}})
    if attention:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(
            f"⚠ {attention}; see `watcher status`", SLACK_SECTION_MAX)}]})
    blocks.append({"type": "context", "elements": [{
        "type": "mrkdwn", "text": f"watcher digest {slack_escape(digest.id)}"}]})
    return {"text": truncate(slack_escape(subject), SLACK_SECTION_MAX), "blocks": blocks,
            "unfurl_links": False, "unfurl_media": False}


# --- Discord ----------------------------------------------------------------------------


def discord_escape(text: str) -> str:
    """Feed text for Discord markdown: markup characters backslash-escaped, no pings."""
    return _no_broadcast(_DISCORD_MARKDOWN.sub(r"\\\1", text))


def _discord_link(link: LinkView) -> str:
    title = discord_escape(truncate(link.title, 150))
    if not link.url:
        return title
    url = link.url.replace(")", "%29").replace("(", "%28").replace(" ", "%20")
    return f"[{title}]({url}) · {discord_escape(link.feed)}, {link.date}"


def _discord_description(change: ChangeView) -> str:
    source = f", according to {discord_escape(change.now_source)}" if change.now_source else ""
    lines = [f"**now:** {discord_escape(change.now)}{source} ({change.now_date})"]
    if change.before:
        before_source = f", according to {discord_escape(change.before_source)}" \
            if change.before_source else ""
        lines.append(f"**before:** {discord_escape(change.before)}{before_source} "
                     f"({change.before_date})")
    if change.history_text:
        lines.append(f"**history:** {discord_escape(change.history_text)}")
    if change.quote:
        lines.append("> " + discord_escape(truncate(change.quote, 400)))
    lines += [f"• {_discord_link(link)}" for link in change.links[:3]]
    return truncate("\n".join(lines), DISCORD_DESCRIPTION_MAX)


def _discord_embed(topic_name: str, change: ChangeView) -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": truncate(_no_broadcast(change.headline), DISCORD_TITLE_MAX),
        "description": _discord_description(change),
        "footer": {"text": truncate(_no_broadcast(f"{topic_name} · {change.kind_label}"),
                                    DISCORD_FOOTER_MAX)},
    }
    first_url = next((link.url for link in change.links if link.url), None)
    if first_url:
        embed["url"] = first_url
    return embed


def _embed_size(embed: dict[str, Any]) -> int:
    """What Discord counts towards 6000: title, description, footer text."""
    return len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])


def discord_body(digest: Digest) -> dict[str, Any]:
    """content + embeds within Discord's limits; mentions never parsed."""
    changes = [(s.topic_name, c) for s in sections(digest) for c in s.changes]
    embeds: list[dict[str, Any]] = []
    total = 0
    for topic_name, change in changes[:DISCORD_EMBEDS_MAX]:
        embed = _discord_embed(topic_name, change)
        if total + _embed_size(embed) > DISCORD_TOTAL_MAX:
            break
        embeds.append(embed)
        total += _embed_size(embed)
    content = _no_broadcast(subject_line(digest, "[watcher]"))
    if len(embeds) < len(changes):
        content += f" — {len(changes) - len(embeds)} more changes not shown here"
    attention = attention_summary(digest, discord_escape)
    if attention:
        content += f"\n⚠ {attention}; see `watcher status`"
    return {"content": truncate(content, DISCORD_CONTENT_MAX), "embeds": embeds,
            "allowed_mentions": {"parse": []}}
