-- Version 1: the issuer store (PostgreSQL dialect). The SQLite store has the
-- same tables, columns and constraints in ../sqlite/0001_init.sql.
-- Identifiers use the "C" collation so ordering is by bytes, as in SQLite.
-- JSON documents are BYTEA, kept byte for byte (jsonb would reorder members).

CREATE TABLE patients (
	id       TEXT COLLATE "C" PRIMARY KEY,
	resource BYTEA -- the Patient resource; NULL until one is stored
);

CREATE TABLE resources (
	patient_id TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
	type       TEXT COLLATE "C" NOT NULL,
	id         TEXT COLLATE "C" NOT NULL,
	res_date   TIMESTAMPTZ,          -- clinically relevant date; NULL if unknown
	updated_at TIMESTAMPTZ NOT NULL,
	json       BYTEA       NOT NULL,
	PRIMARY KEY (patient_id, type, id)
);
CREATE INDEX resources_by_date ON resources (patient_id, res_date, type, id);

CREATE TABLE cards (
	id         TEXT COLLATE "C" PRIMARY KEY,
	patient_id TEXT COLLATE "C" NOT NULL,
	kid        TEXT        NOT NULL,
	rid        TEXT        NOT NULL,
	types      TEXT        NOT NULL, -- JSON array of strings
	issued_at  TIMESTAMPTZ NOT NULL,
	jws        TEXT        NOT NULL
);
CREATE INDEX cards_by_patient ON cards (patient_id);

-- The service-wide revocation counter (REV-4, REV-7): one row, starts at 1.
-- Revoke locks this row, which serializes revocations across replicas.
CREATE TABLE crl_counter (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	ctr BIGINT  NOT NULL CHECK (ctr >= 1)
);
INSERT INTO crl_counter (id, ctr) VALUES (1, 1);

-- CRL entries per key; seq gives the insertion order.
CREATE TABLE revocations (
	seq   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kid   TEXT COLLATE "C" NOT NULL,
	entry TEXT COLLATE "C" NOT NULL,
	ctr   BIGINT NOT NULL, -- counter value of the revocation that added it
	UNIQUE (kid, entry)
);

CREATE TABLE tokens (
	seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id         TEXT COLLATE "C" NOT NULL UNIQUE,
	hash       BYTEA       NOT NULL UNIQUE, -- SHA-256 of the secret
	scopes     TEXT        NOT NULL,        -- JSON array of strings
	label      TEXT        NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	revoked_at TIMESTAMPTZ
);

-- The audit log: no PHI (see store.Event).
CREATE TABLE audit (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at         TIMESTAMPTZ NOT NULL,
	actor      TEXT        NOT NULL,
	action     TEXT        NOT NULL,
	kid        TEXT        NOT NULL,
	rid        TEXT        NOT NULL,
	card_types TEXT        NOT NULL, -- JSON array of strings
	detail     TEXT        NOT NULL
);
