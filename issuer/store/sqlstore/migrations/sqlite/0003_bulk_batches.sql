-- Version 3: registry-scale batches (issuer/bulk) in the database: the
-- batch's state, lease, uploaded input and result lines (see the
-- PostgreSQL migration of the same version). Times are Unix microseconds.
CREATE TABLE bulk_batches (
	id          TEXT    PRIMARY KEY,
	owner       TEXT    NOT NULL,
	created     INTEGER NOT NULL,
	options     TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	phase       TEXT    NOT NULL DEFAULT '',
	error       TEXT    NOT NULL DEFAULT '',
	total       INTEGER NOT NULL DEFAULT 0,
	done        INTEGER NOT NULL DEFAULT 0,
	issued      INTEGER NOT NULL DEFAULT 0,
	failed      INTEGER NOT NULL DEFAULT 0,
	cards       INTEGER NOT NULL DEFAULT 0,
	lease_owner TEXT    NOT NULL DEFAULT '',
	lease_until INTEGER,
	attempts    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX bulk_batches_waiting ON bulk_batches (status, created);
CREATE TABLE bulk_inputs (
	batch_id TEXT    NOT NULL REFERENCES bulk_batches (id) ON DELETE CASCADE,
	name     TEXT    NOT NULL,
	chunk    INTEGER NOT NULL,
	data     BLOB    NOT NULL,
	PRIMARY KEY (batch_id, name, chunk)
) STRICT;
CREATE TABLE bulk_results (
	batch_id TEXT    NOT NULL REFERENCES bulk_batches (id) ON DELETE CASCADE,
	key      TEXT    NOT NULL,
	seq      INTEGER NOT NULL,
	line     TEXT    NOT NULL,
	PRIMARY KEY (batch_id, key)
) STRICT;
CREATE INDEX bulk_results_by_seq ON bulk_results (batch_id, seq);
