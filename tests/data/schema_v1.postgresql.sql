-- watcher schema version 1 on PostgreSQL, exactly as watcher 0.1 (migration 1) created it.
-- Frozen: tests/test_migrations.py builds a v1 database from it; never edit.

CREATE TABLE meta (
	key VARCHAR(64) NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (key)
);

CREATE TABLE feeds (
	id VARCHAR(64) NOT NULL,
	url TEXT NOT NULL,
	etag TEXT,
	last_modified TEXT,
	last_poll_at VARCHAR(32),
	last_success_at VARCHAR(32),
	last_error TEXT,
	last_error_kind VARCHAR(32),
	consecutive_failures INTEGER DEFAULT '0' NOT NULL,
	next_poll_at VARCHAR(32),
	entries_seen INTEGER DEFAULT '0' NOT NULL,
	retired BOOLEAN DEFAULT '0' NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE articles (
	id SERIAL NOT NULL,
	feed_id VARCHAR(64) NOT NULL,
	key TEXT NOT NULL,
	url TEXT,
	title TEXT NOT NULL,
	text TEXT NOT NULL,
	lang VARCHAR(8),
	content_hash VARCHAR(48) NOT NULL,
	published VARCHAR(32),
	first_seen VARCHAR(32) NOT NULL,
	updated_at VARCHAR(32) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_articles_feed_key UNIQUE (feed_id, key)
);

CREATE TABLE digests (
	id VARCHAR(64) NOT NULL,
	channel_id VARCHAR(64) NOT NULL,
	created_at VARCHAR(32) NOT NULL,
	status VARCHAR(16) NOT NULL,
	attempts INTEGER DEFAULT '0' NOT NULL,
	next_attempt_at VARCHAR(32) NOT NULL,
	last_error TEXT,
	sent_at VARCHAR(32),
	PRIMARY KEY (id)
);

CREATE TABLE claims (
	id SERIAL NOT NULL,
	topic_id VARCHAR(64) NOT NULL,
	metric VARCHAR(64) NOT NULL,
	value FLOAT NOT NULL,
	value_max FLOAT,
	qualifier VARCHAR(16) NOT NULL,
	source TEXT,
	quote TEXT NOT NULL,
	lang VARCHAR(8),
	article_id INTEGER,
	published VARCHAR(32) NOT NULL,
	recorded_at VARCHAR(32) NOT NULL,
	superseded BOOLEAN DEFAULT '0' NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(article_id) REFERENCES articles (id)
);

CREATE INDEX ix_claims_topic_metric ON claims (topic_id, metric, published);

CREATE TABLE changes (
	id VARCHAR(64) NOT NULL,
	topic_id VARCHAR(64) NOT NULL,
	metric VARCHAR(64) NOT NULL,
	kind VARCHAR(16) NOT NULL,
	alert BOOLEAN NOT NULL,
	claim_id INTEGER NOT NULL,
	previous_claim_id INTEGER,
	reason TEXT NOT NULL,
	created_at VARCHAR(32) NOT NULL,
	payload TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(claim_id) REFERENCES claims (id),
	FOREIGN KEY(previous_claim_id) REFERENCES claims (id)
);

CREATE TABLE deliveries (
	id VARCHAR(64) NOT NULL,
	change_id VARCHAR(64) NOT NULL,
	channel_id VARCHAR(64) NOT NULL,
	digest_id VARCHAR(64),
	created_at VARCHAR(32) NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(change_id) REFERENCES changes (id),
	FOREIGN KEY(digest_id) REFERENCES digests (id)
);

CREATE INDEX ix_deliveries_channel_digest ON deliveries (channel_id, digest_id);

INSERT INTO meta (key, value) VALUES ('schema_version', '1');
