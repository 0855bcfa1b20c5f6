-- Data as watcher 0.1 (schema version 1) stored it: one feed, two articles, two claims, the
-- changes they caused, one digest sent and one change still waiting for the webhook channel.
-- Ids of articles and claims come from the database (1, 2), as they did. Portable SQL (SQLite and PostgreSQL); tests/test_migrations.py loads it after schema_v1*.sql.

INSERT INTO feeds (id, url, etag, last_modified, last_poll_at, last_success_at, last_error,
                   last_error_kind, consecutive_failures, next_poll_at, entries_seen, retired)
VALUES ('wire', 'https://news.example.org/wire.xml', '"v7"', NULL, '2025-11-10T09:00:00+00:00',
        '2025-11-10T09:00:00+00:00', NULL, NULL, 0, '2025-11-10T09:15:00+00:00', 2, FALSE);

INSERT INTO articles (feed_id, "key", url, title, text, lang, content_hash, published,
                      first_seen, updated_at)
VALUES ('wire', 'nk-1', 'https://news.example.org/nk-1', 'Losses in Kursk',
        'About 600 North Korean soldiers have been killed in Kursk, the NIS said.', 'en',
        'h1', '2025-10-24T09:00:00+00:00', '2025-10-24T09:05:00+00:00', '2025-10-24T09:05:00+00:00'),
       ('wire', 'nk-2', 'https://news.example.org/nk-2', 'Toll rises',
        'About 2,000 North Korean soldiers have been killed in Kursk, the NIS said.', 'en',
        'h2', '2025-11-10T09:00:00+00:00', '2025-11-10T09:05:00+00:00', '2025-11-10T09:05:00+00:00');

INSERT INTO claims (topic_id, metric, value, value_max, qualifier, source, quote, lang,
                    article_id, published, recorded_at, superseded)
VALUES ('dprk-troops', 'killed', 600, NULL, 'approx', 'the NIS',
        'About 600 North Korean soldiers have been killed in Kursk, the NIS said.', 'en', 1,
        '2025-10-24T09:00:00+00:00', '2025-10-24T09:05:00+00:00', FALSE),
       ('dprk-troops', 'killed', 2000, NULL, 'approx', 'the NIS',
        'About 2,000 North Korean soldiers have been killed in Kursk, the NIS said.', 'en', 2,
        '2025-11-10T09:00:00+00:00', '2025-11-10T09:05:00+00:00', FALSE);

INSERT INTO changes (id, topic_id, metric, kind, alert, claim_id, previous_claim_id, reason,
                     created_at, payload)
VALUES ('c1', 'dprk-troops', 'killed', 'new', TRUE, 1, NULL, 'new: first figure',
        '2025-10-24T09:05:00+00:00',
        '{"id": "c1", "topic": "dprk-troops", "topic_name": "DPRK troops", "metric": "killed", "kind": "new", "reason": "new: first figure", "previous": null, "current": {"value": 600, "value_max": null, "qualifier": "approx", "source": "the NIS", "published": "2025-10-24T09:00:00+00:00", "quote": "About 600 North Korean soldiers have been killed in Kursk, the NIS said.", "lang": "en", "articles": [{"title": "Losses in Kursk", "url": "https://news.example.org/nk-1", "feed": "wire", "published": "2025-10-24T09:00:00+00:00"}]}}'),
       ('c2', 'dprk-troops', 'killed', 'changed', TRUE, 2, 1, 'changed: differs from 600',
        '2025-11-10T09:05:00+00:00',
        '{"id": "c2", "topic": "dprk-troops", "topic_name": "DPRK troops", "metric": "killed", "kind": "changed", "reason": "changed: differs from 600", "previous": {"value": 600, "value_max": null, "qualifier": "approx", "source": "the NIS", "published": "2025-10-24T09:00:00+00:00", "quote": "About 600 North Korean soldiers have been killed in Kursk, the NIS said.", "lang": "en", "articles": []}, "current": {"value": 2000, "value_max": null, "qualifier": "approx", "source": "the NIS", "published": "2025-11-10T09:00:00+00:00", "quote": "About 2,000 North Korean soldiers have been killed in Kursk, the NIS said.", "lang": "en", "articles": [{"title": "Toll rises", "url": "https://news.example.org/nk-2", "feed": "wire", "published": "2025-11-10T09:00:00+00:00"}]}}');

INSERT INTO digests (id, channel_id, created_at, status, attempts, next_attempt_at, last_error,
                     sent_at)
VALUES ('d1', 'ops', '2025-10-24T09:05:00+00:00', 'sent', 1, '2025-10-24T09:05:00+00:00', NULL,
        '2025-10-24T09:05:01+00:00');

INSERT INTO deliveries (id, change_id, channel_id, digest_id, created_at)
VALUES ('c1-ops', 'c1', 'ops', 'd1', '2025-10-24T09:05:00+00:00'),
       ('c2-ops', 'c2', 'ops', NULL, '2025-11-10T09:05:00+00:00');
