-- Version 2: search keys of stored Patient resources (family and given
-- names lower-cased, birth date), one row per name, for the front desk's
-- search by name and birth date. Filled by the store from the Patient JSON
-- (on write, and for patients stored before this version when it opens).
CREATE TABLE patient_names (
	patient_id TEXT    NOT NULL REFERENCES patients (id),
	n          INTEGER NOT NULL,
	family     TEXT    NOT NULL,
	given      TEXT    NOT NULL, -- each given name preceded by a space
	birth_date TEXT    NOT NULL,
	PRIMARY KEY (patient_id, n)
) STRICT;
CREATE INDEX patient_names_by_family ON patient_names (family, birth_date);
CREATE INDEX patient_names_by_birth_date ON patient_names (birth_date);
