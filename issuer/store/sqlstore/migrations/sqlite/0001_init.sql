-- Version 1: the issuer store (SQLite dialect). The PostgreSQL store has the
-- same tables, columns and constraints in ../postgres/0001_init.sql.
-- Times are INTEGER microseconds since the Unix epoch (UTC); NULL means
-- unknown. JSON documents are BLOBs, kept byte for byte.

CREATE TABLE patients (
	id       TEXT PRIMARY KEY,
	resource BLOB -- the Patient resource; NULL until one is stored
) STRICT;

CREATE TABLE resources (
	patient_id TEXT    NOT NULL REFERENCES patients (id),
	type       TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	res_date   INTEGER,          -- clinically relevant date; NULL if unknown
	updated_at INTEGER NOT NULL,
	json       BLOB    NOT NULL,
	PRIMARY KEY (patient_id, type, id)
) STRICT;
CREATE INDEX resources_by_date ON resources (patient_id, res_date, type, id);

CREATE TABLE cards (
	id         TEXT    PRIMARY KEY,
	patient_id TEXT    NOT NULL,
	kid        TEXT    NOT NULL,
	rid        TEXT    NOT NULL,
	types      TEXT    NOT NULL, -- JSON array of strings
	issued_at  INTEGER NOT NULL,
	jws        TEXT    NOT NULL
) STRICT;
CREATE INDEX cards_by_patient ON cards (patient_id);

-- The service-wide revocation counter (REV-4, REV-7): one row, starts at 1.
CREATE TABLE crl_counter (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	ctr INTEGER NOT NULL CHECK (ctr >= 1)
) STRICT;
INSERT INTO crl_counter (id, ctr) VALUES (1, 1);

-- CRL entries per key; seq gives the insertion order.
CREATE TABLE revocations (
	seq   INTEGER PRIMARY KEY,
	kid   TEXT    NOT NULL,
	entry TEXT    NOT NULL,
	ctr   INTEGER NOT NULL, -- counter value of the revocation that added it
	UNIQUE (kid, entry)
) STRICT;

CREATE TABLE tokens (
	seq        INTEGER PRIMARY KEY,
	id         TEXT    NOT NULL UNIQUE,
	hash       BLOB    NOT NULL UNIQUE, -- SHA-256 of the secret
	scopes     TEXT    NOT NULL,        -- JSON array of strings
	label      TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;

-- The audit log: no PHI (see store.Event).
CREATE TABLE audit (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	at         INTEGER NOT NULL,
	actor      TEXT    NOT NULL,
	action     TEXT    NOT NULL,
	kid        TEXT    NOT NULL,
	rid        TEXT    NOT NULL,
	card_types TEXT    NOT NULL, -- JSON array of strings
	detail     TEXT    NOT NULL
) STRICT;
