"""The pipeline, one module per stage, in the order they run:

    fetch.py         HTTP (or file://) → bytes, with validators, caps and timeouts
    parse.py         bytes → Entry records (feedparser, JSON Feed)
    match.py         does an entry belong to a topic? (fuzzy, accent-insensitive)
    (watcher.figures) the figures an entry's text claims
    compare.py       a claim against the topic's history → new / changed / conflict / …
    digest.py        a Digest → subject, plain text and HTML
    orchestrator.py  the one place that chains the stages and writes to storage

Delivery (sending digests from the outbox) is `watcher.deliver`.
"""
