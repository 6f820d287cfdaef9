-- Version 3: registry-scale batches (issuer/bulk) in the database, so that
-- any replica answers for a batch and another resumes it when the one
-- running it dies. A batch is claimed by one conditional UPDATE of its
-- lease (lease_owner, lease_until), renewed while it runs; counters are
-- updated in the transaction that adds result lines.
CREATE TABLE bulk_batches (
	id          TEXT COLLATE "C" PRIMARY KEY,
	owner       TEXT NOT NULL,           -- the submitting actor (no PHI)
	created     TIMESTAMPTZ NOT NULL,
	options     TEXT NOT NULL,           -- JSON: outputs, paper, links
	status      TEXT NOT NULL,           -- queued, running, done, failed
	phase       TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	total       BIGINT NOT NULL DEFAULT 0,
	done        BIGINT NOT NULL DEFAULT 0,
	issued      BIGINT NOT NULL DEFAULT 0,
	failed      BIGINT NOT NULL DEFAULT 0,
	cards       BIGINT NOT NULL DEFAULT 0,
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until TIMESTAMPTZ,
	attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX bulk_batches_waiting ON bulk_batches (status, created);
-- The uploaded input, in chunks of at most 1 MiB.
CREATE TABLE bulk_inputs (
	batch_id TEXT COLLATE "C" NOT NULL REFERENCES bulk_batches (id) ON DELETE CASCADE,
	name     TEXT COLLATE "C" NOT NULL,
	chunk    INTEGER NOT NULL,
	data     BYTEA NOT NULL,
	PRIMARY KEY (batch_id, name, chunk)
);
-- One results.ndjson line per patient or bad record; a key is recorded once.
CREATE TABLE bulk_results (
	batch_id TEXT COLLATE "C" NOT NULL REFERENCES bulk_batches (id) ON DELETE CASCADE,
	key      TEXT COLLATE "C" NOT NULL,
	seq      BIGINT NOT NULL,
	line     TEXT NOT NULL,
	PRIMARY KEY (batch_id, key)
);
CREATE INDEX bulk_results_by_seq ON bulk_results (batch_id, seq);
