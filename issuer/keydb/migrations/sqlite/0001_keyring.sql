-- Version 1: the shared key ring and secrets (SQLite dialect); see
-- ../postgres/0001_keyring.sql. Times are INTEGER Unix microseconds.

CREATE TABLE keyring_state (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL CHECK (version >= 0)
) STRICT;
INSERT INTO keyring_state (id, version) VALUES (1, 0);

CREATE TABLE keyring_keys (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	kid            TEXT NOT NULL UNIQUE,
	status         TEXT NOT NULL CHECK (status IN ('active', 'published', 'retired', 'compromised')),
	created_at     INTEGER NOT NULL,
	deactivated_at INTEGER,
	removed_at     INTEGER,
	public_jwk     BLOB NOT NULL,
	sealed         BLOB,
	CHECK ((status IN ('active', 'published')) = (sealed IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX keyring_one_active ON keyring_keys (status) WHERE status = 'active';

CREATE TABLE keyring_secrets (
	name       TEXT PRIMARY KEY,
	sealed     BLOB NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
