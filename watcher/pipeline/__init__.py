"""The pipeline, one module per stage, in the order they run:

    fetch.py         HTTP (or file://) → bytes, with validators, caps and timeouts
                     (guard.py: no private addresses for article pages, checked per hop)
    parse.py         bytes → Entry records (feedparser, JSON Feed); xml_defuse.py strips
                     DOCTYPE/entities first, html_text.py turns markup into plain text
    match.py         does an entry belong to a topic? (fuzzy, accent-insensitive)
    (watcher.figures) the figures an entry's text claims
    reading.py       parse → match → extract for one document, pure (workers.py runs it
                     in worker processes)
    compare.py       a claim against the topic's history → new / changed / conflict / …
    record.py        store new entries, their claims, decisions and pending deliveries
    digest.py        a Digest → subject, plain text and HTML (digest_view.py builds what
                     the templates show, digest_format.py words numbers and dates)
    orchestrator.py  the one place that chains the stages: a poll, feed by feed

Around them: politeness.py (per-site limits and spacing), health.py (feed health, poll
intervals), syndication.py (is an article a copy of another?), fulltext.py (article
pages), poll_report.py (what a poll did). Delivery (sending digests from the outbox) is
`watcher.deliver`.
"""
