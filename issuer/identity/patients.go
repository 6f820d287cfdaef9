package identity

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/healthcards/healthcards/internal/sqldb"
)

// patientsSQL (version 3) adds what the desk proofed for a patient
// account (the Patient id, the identity assurance level, the kind of
// document, who checked it and when: never the document's number) and
// the wards a guardian account may act for. One active account per
// Patient id: a new desk enrolment of the same person (a lost phone)
// reuses it.
const patientsSQL = `
ALTER TABLE id_accounts ADD COLUMN patient TEXT COLLATE "C";
ALTER TABLE id_accounts ADD COLUMN ial TEXT NOT NULL DEFAULT '';
ALTER TABLE id_accounts ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
ALTER TABLE id_accounts ADD COLUMN checked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE id_accounts ADD COLUMN proofed_us BIGINT;
CREATE UNIQUE INDEX id_accounts_patient ON id_accounts (patient) WHERE patient IS NOT NULL AND disabled = 0;
CREATE TABLE id_wards (account_id TEXT COLLATE "C" NOT NULL REFERENCES id_accounts(id), patient TEXT COLLATE "C" NOT NULL,
  related_person TEXT NOT NULL, name TEXT NOT NULL, created_us BIGINT NOT NULL, PRIMARY KEY (account_id, patient));
CREATE INDEX id_wards_patient ON id_wards (patient);
`

// IALSystem is the SMART Health Cards identity assurance code system
// (based on NIST SP 800-63-3); Account.IAL is IALSystem + "/" + a code.
const IALSystem = "https://smarthealth.cards/ial"

// EnrolmentIALs are the levels a desk enrolment may record: staff have
// checked a photo ID, so at least IAL1.4 (IAL1 and IAL1.2 of the value
// set are for unchecked or photo-less identity and do not enrol).
var EnrolmentIALs = []string{IALSystem + "/IAL1.4", IALSystem + "/IAL2", IALSystem + "/IAL3"}

// EvidenceKinds are the documents the desk may record as checked (the
// kind only; the number is never stored).
var EvidenceKinds = []string{"passport", "national-id", "driving-licence", "residence-permit"}

// Enrolment is what staff record when they proof a patient (or a
// guardian) at the desk.
type Enrolment struct {
	Name     string // display name
	Patient  string // FHIR Patient id ("" only when Wards is not empty)
	Evidence string // one of EvidenceKinds
	IAL      string // one of EnrolmentIALs, or its code alone ("IAL2")
	By       string // staff account (audit actor) who checked the document
	Wards    []Ward // people this account may act for (a guardian)
	// ReplacePasskeys revokes the passkeys and sessions of an existing
	// account of the same Patient (a lost or stolen phone).
	ReplacePasskeys bool
}

// Ward is a person a guardian account may act for.
type Ward struct {
	Patient       string `json:"patient"`       // FHIR Patient id of the ward
	RelatedPerson string `json:"relatedPerson"` // FHIR RelatedPerson id (RelatedPerson.patient = Patient) the guardian acts as
	Name          string `json:"name"`          // display name for the picker
}

// NormalizeIAL returns the URI of an enrolment level given as a URI or as
// its code ("IAL2", case-insensitive), or "" if it is not one of
// EnrolmentIALs.
func NormalizeIAL(v string) string {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, IALSystem+"/") {
		v = IALSystem + "/" + v
	}
	for _, ok := range EnrolmentIALs {
		if strings.EqualFold(v, ok) {
			return ok
		}
	}
	return ""
}

// ValidEvidence reports whether kind is one of EvidenceKinds.
func ValidEvidence(kind string) bool {
	for _, k := range EvidenceKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// validID is FHIR's id syntax: [A-Za-z0-9\-\.]{1,64}.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func validName(name string) bool {
	return name != "" && utf8.RuneCountInString(name) <= 100 && utf8.ValidString(name) && !strings.ContainsAny(name, "\x00\r\n")
}

func (w Ward) check() error {
	if !validID(w.Patient) || !validID(w.RelatedPerson) {
		return errf(CodeInvalidEnrolment, "a ward needs FHIR ids (1..64 of A-Z a-z 0-9 - .) for its Patient and RelatedPerson")
	}
	if !validName(strings.TrimSpace(w.Name)) {
		return errf(CodeInvalidEnrolment, "a ward's name must be 1..100 characters on one line")
	}
	return nil
}

// EnrolPatient records a desk enrolment and returns the patient account
// and a one-time sign-up code (Config.CodeTTL, single use, stored hashed).
// If an active account of the same Patient exists (a lost phone, a new
// device) it is reused: its name, level and evidence are updated, its
// unused codes revoked, and with ReplacePasskeys its passkeys and
// sessions too. Wards are linked (LinkWard) in the same transaction; the
// caller creates their RelatedPerson resources first.
func (s *Service) EnrolPatient(ctx context.Context, e Enrolment) (Account, string, error) {
	e.Name = strings.TrimSpace(e.Name)
	e.Patient = strings.TrimSpace(e.Patient)
	if !validName(e.Name) {
		return Account{}, "", errf(CodeInvalidEnrolment, "the name must be 1..100 characters on one line")
	}
	if e.Patient == "" && len(e.Wards) == 0 {
		return Account{}, "", errf(CodeInvalidEnrolment, "an enrolment names the patient, or the wards of a guardian")
	}
	if e.Patient != "" && !validID(e.Patient) {
		return Account{}, "", errf(CodeInvalidEnrolment, "the patient id is not a FHIR id (1..64 of A-Z a-z 0-9 - .)")
	}
	if !ValidEvidence(e.Evidence) {
		return Account{}, "", errf(CodeInvalidEnrolment, "evidence must be one of %s", strings.Join(EvidenceKinds, ", "))
	}
	ial := NormalizeIAL(e.IAL)
	if ial == "" {
		return Account{}, "", errf(CodeInvalidEnrolment, "the identity assurance level must be IAL1.4, IAL2 or IAL3 (%s)", IALSystem)
	}
	if e.By == "" || len(e.By) > 100 {
		return Account{}, "", errf(CodeInvalidEnrolment, "an enrolment records who checked the document")
	}
	for _, w := range e.Wards {
		if err := w.check(); err != nil {
			return Account{}, "", err
		}
	}
	// Two desks enrolling the same new patient at once: the second insert
	// breaks the unique index of active patients; trying again finds the
	// account the first created.
	a, code, err := s.enrolPatient(ctx, e, ial)
	if err != nil && e.Patient != "" && CodeOf(err) == CodeInternal {
		if _, perr := s.PatientAccount(ctx, e.Patient); perr == nil {
			a, code, err = s.enrolPatient(ctx, e, ial)
		}
	}
	return a, code, err
}

func (s *Service) enrolPatient(ctx context.Context, e Enrolment, ial string) (Account, string, error) {
	now := s.now().UTC()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Account{}, "", wrap(CodeInternal, "store", err)
	}
	defer tx.Rollback()
	var id string
	if e.Patient != "" {
		err := tx.QueryRowContext(ctx, `SELECT id FROM id_accounts WHERE patient = ? AND disabled = 0`, e.Patient).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Account{}, "", wrap(CodeInternal, "store", err)
		}
	}
	if id == "" {
		id = "acct-" + b64(random(9))
		var patient any
		if e.Patient != "" {
			patient = e.Patient
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO id_accounts (id, name, role, handle, created_us, patient, ial, evidence, checked_by, proofed_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, e.Name, string(RolePatient), random(32), now.UnixMicro(), patient, ial, e.Evidence, e.By, now.UnixMicro()); err != nil {
			return Account{}, "", wrap(CodeInternal, "store", err) // includes a concurrent enrolment of the same patient (unique index)
		}
	} else {
		q := []string{`UPDATE id_accounts SET name = ?, ial = ?, evidence = ?, checked_by = ?, proofed_us = ? WHERE id = ?`,
			`UPDATE id_codes SET revoked = 1 WHERE account_id = ? AND used_us IS NULL`}
		if _, err := tx.ExecContext(ctx, q[0], e.Name, ial, e.Evidence, e.By, now.UnixMicro(), id); err != nil {
			return Account{}, "", wrap(CodeInternal, "store", err)
		}
		if _, err := tx.ExecContext(ctx, q[1], id); err != nil {
			return Account{}, "", wrap(CodeInternal, "store", err)
		}
		if e.ReplacePasskeys {
			for _, q := range []string{`DELETE FROM id_credentials WHERE account_id = ?`, `DELETE FROM id_sessions WHERE account_id = ?`} {
				if _, err := tx.ExecContext(ctx, q, id); err != nil {
					return Account{}, "", wrap(CodeInternal, "store", err)
				}
			}
			if err := s.cutOff(ctx, id); err != nil {
				return Account{}, "", err
			}
		}
	}
	for _, w := range e.Wards {
		if err := linkWard(ctx, tx, id, w, now); err != nil {
			return Account{}, "", err
		}
	}
	code := newCode()
	if err := s.putCode(ctx, tx, id, code, s.cfg.EnrolmentCodeTTL); err != nil {
		return Account{}, "", err
	}
	if err := tx.Commit(); err != nil {
		return Account{}, "", wrap(CodeInternal, "store", err)
	}
	a, err := s.Account(ctx, id)
	return a, code, err
}

func linkWard(ctx context.Context, tx sqldb.Tx, accountID string, w Ward, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO id_wards (account_id, patient, related_person, name, created_us) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, patient) DO UPDATE SET related_person = excluded.related_person, name = excluded.name`,
		accountID, w.Patient, w.RelatedPerson, strings.TrimSpace(w.Name), now.UnixMicro())
	return wrapCommit(err)
}

// PatientAccount returns the active account of a FHIR Patient id
// (not_found if there is none).
func (s *Service) PatientAccount(ctx context.Context, patient string) (Account, error) {
	return s.queryAccount(ctx, "no account for this patient", `SELECT `+accountCols+` FROM id_accounts a WHERE a.patient = ? AND a.disabled = 0`, patient)
}

// Guardians returns the active accounts linked to patient as a ward.
func (s *Service) Guardians(ctx context.Context, patient string) ([]Account, error) {
	return s.queryAccounts(ctx, nil, `SELECT `+accountCols+` FROM id_accounts a JOIN id_wards w ON w.account_id = a.id
		WHERE w.patient = ? AND a.disabled = 0 ORDER BY w.created_us, a.id`, patient)
}

// Wards lists the people accountID may act for, in the order they were
// linked.
func (s *Service) Wards(ctx context.Context, accountID string) ([]Ward, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT patient, related_person, name FROM id_wards WHERE account_id = ? ORDER BY created_us, patient`, accountID)
	if err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	defer rows.Close()
	var out []Ward
	for rows.Next() {
		var w Ward
		if err := rows.Scan(&w.Patient, &w.RelatedPerson, &w.Name); err != nil {
			return nil, wrap(CodeInternal, "store", err)
		}
		out = append(out, w)
	}
	return out, wrapCommit(rows.Err())
}

// LinkWard lets the patient account accountID act for w.Patient as the
// RelatedPerson w.RelatedPerson (linking the same patient again replaces
// the relation). The caller creates the RelatedPerson resource: the
// authorization policies read it, not this row.
func (s *Service) LinkWard(ctx context.Context, accountID string, w Ward) error {
	if err := w.check(); err != nil {
		return err
	}
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if a.Role != RolePatient {
		return errf(CodeInvalidEnrolment, "only a patient account can have wards")
	}
	if a.Patient == w.Patient {
		return errf(CodeInvalidEnrolment, "a person is not their own ward")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(CodeInternal, "store", err)
	}
	defer tx.Rollback()
	if err := linkWard(ctx, tx, accountID, w, s.now()); err != nil {
		return err
	}
	return wrapCommit(tx.Commit())
}

// UnlinkWard removes the link of accountID to patient (not_found if there
// is none).
func (s *Service) UnlinkWard(ctx context.Context, accountID, patient string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM id_wards WHERE account_id = ? AND patient = ?`, accountID, patient)
	if err != nil {
		return wrap(CodeInternal, "store", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errf(CodeNotFound, "no such ward")
	}
	return nil
}

// Passkey is a registered passkey as staff see it (no key material).
type Passkey struct {
	ID      string    `json:"id"` // base64url of the credential id
	Created time.Time `json:"created"`
}

// Passkeys lists an account's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, accountID string) ([]Passkey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, created_us FROM id_credentials WHERE account_id = ? ORDER BY created_us, id`, accountID)
	if err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		var id []byte
		var created int64
		if err := rows.Scan(&id, &created); err != nil {
			return nil, wrap(CodeInternal, "store", err)
		}
		out = append(out, Passkey{ID: b64(id), Created: time.UnixMicro(created).UTC()})
	}
	return out, wrapCommit(rows.Err())
}

// RevokePasskey deletes one passkey of an account (it can no longer sign
// in) and ends the account's sessions: the device may be in other hands.
func (s *Service) RevokePasskey(ctx context.Context, accountID, passkeyID string) error {
	raw, err := b64dec(passkeyID)
	if err != nil || len(raw) == 0 {
		return errf(CodeNotFound, "no such passkey")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(CodeInternal, "store", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM id_credentials WHERE id = ? AND account_id = ?`, raw, accountID)
	if err != nil {
		return wrap(CodeInternal, "store", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errf(CodeNotFound, "no such passkey")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM id_sessions WHERE account_id = ?`, accountID); err != nil {
		return wrap(CodeInternal, "store", err)
	}
	if err := s.cutOff(ctx, accountID); err != nil {
		return err
	}
	return wrapCommit(tx.Commit())
}

// OpenCode reports whether the account has an unused, unexpired,
// unrevoked code, and when it expires.
func (s *Service) OpenCode(ctx context.Context, accountID string) (time.Time, bool, error) {
	var exp sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(expires_us) FROM id_codes WHERE account_id = ? AND used_us IS NULL AND revoked = 0 AND expires_us > ?`,
		accountID, s.now().UnixMicro()).Scan(&exp)
	if err != nil {
		return time.Time{}, false, wrap(CodeInternal, "store", err)
	}
	if !exp.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMicro(exp.Int64).UTC(), true, nil
}
