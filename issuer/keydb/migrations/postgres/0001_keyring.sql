-- Version 1: the shared key ring and secrets (PostgreSQL dialect); the
-- SQLite file ../sqlite/0001_keyring.sql has the same tables.

-- One row; version grows by one with every change of the ring. Every change
-- locks this row first, so changes from any replica are serialized.
CREATE TABLE keyring_state (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT  NOT NULL CHECK (version >= 0)
);
INSERT INTO keyring_state (id, version) VALUES (1, 0);

-- Keys in creation order (seq). public_jwk is the published JWK; sealed is
-- the private JWK envelope-encrypted under the KEK (see seal.go), NULL once
-- the key is retired or compromised (destroyed).
CREATE TABLE keyring_keys (
	seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kid            TEXT COLLATE "C" NOT NULL UNIQUE,
	status         TEXT NOT NULL CHECK (status IN ('active', 'published', 'retired', 'compromised')),
	created_at     TIMESTAMPTZ NOT NULL,
	deactivated_at TIMESTAMPTZ,
	removed_at     TIMESTAMPTZ,
	public_jwk     BYTEA NOT NULL,
	sealed         BYTEA,
	CHECK ((status IN ('active', 'published')) = (sealed IS NOT NULL))
);
-- At most one active key.
CREATE UNIQUE INDEX keyring_one_active ON keyring_keys (status) WHERE status = 'active';

-- Shared secrets (the rid secret, the link location secret), sealed under
-- the KEK, created once.
CREATE TABLE keyring_secrets (
	name       TEXT COLLATE "C" PRIMARY KEY,
	sealed     BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
