package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BeginEnrol checks a one-time code (rate-limited per clientKey, for
// example the client address) and starts registering a passkey for its
// account. It returns the options for navigator.credentials.create and a
// ceremony id to give back to FinishEnrol (the HTTP layer keeps it in a
// short-lived cookie). The code is consumed only by FinishEnrol.
func (s *Service) BeginEnrol(ctx context.Context, code, clientKey string) (*protocol.CredentialCreation, string, error) {
	return s.BeginEnrolFor(ctx, AnyAccount, code, clientKey)
}

// Audience is whose codes an enrolment page redeems.
type Audience int

// Audiences of BeginEnrolFor.
const (
	AnyAccount   Audience = iota
	StaffOnly             // the desk's enrolment page
	PatientsOnly          // the patient sign-up page
)

// BeginEnrolFor is BeginEnrol for the accounts of aud only: another
// account's code answers invalid_enrolment_code, like an unknown one (and
// counts as an attempt), so a page never signs in the other kind.
func (s *Service) BeginEnrolFor(ctx context.Context, aud Audience, code, clientKey string) (*protocol.CredentialCreation, string, error) {
	if s.wa == nil {
		return nil, "", errNoRP
	}
	if ok, err := s.allowAttempt(ctx, clientKey); err != nil {
		return nil, "", err
	} else if !ok {
		return nil, "", errf(CodeRateLimited, "too many codes tried; wait a minute")
	}
	n := normalizeCode(code)
	if n == "" {
		return nil, "", errf(CodeInvalidCode, "this code is not valid (mistyped, expired, already used or withdrawn)")
	}
	var accountID string
	err := s.db.QueryRowContext(ctx, `SELECT c.account_id FROM id_codes c JOIN id_accounts a ON a.id = c.account_id
		WHERE c.hash = ? AND c.used_us IS NULL AND c.revoked = 0 AND c.expires_us > ? AND a.disabled = 0`+audienceSQL[aud], hash(n), s.now().UnixMicro()).Scan(&accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", errf(CodeInvalidCode, "this code is not valid (mistyped, expired, already used or withdrawn)")
	}
	if err != nil {
		return nil, "", wrap(CodeInternal, "store", err)
	}
	u, err := s.user(ctx, accountID)
	if err != nil {
		return nil, "", err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := s.wa.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return nil, "", wrap(CodePasskeyFailed, "cannot start the passkey registration", err)
	}
	id, err := s.putCeremony(ctx, "enrol", accountID, hash(n), sd)
	return creation, id, err
}

// FinishEnrol verifies the authenticator's response (the JSON body of r),
// consumes the code (single use, atomically), stores the passkey and
// signs the person in.
func (s *Service) FinishEnrol(ctx context.Context, ceremonyID string, r *http.Request) (*Session, error) {
	accountID, codeHash, sd, err := s.takeCeremony(ctx, "enrol", ceremonyID)
	if err != nil {
		return nil, err
	}
	u, err := s.user(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if u.a.Disabled {
		return nil, errf(CodeAccountDisabled, "this account is disabled")
	}
	cred, err := s.wa.FinishRegistration(u, *sd, r)
	if err != nil {
		return nil, wrap(CodePasskeyFailed, "the passkey could not be registered", err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, wrap(CodeInternal, "passkey", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	defer tx.Rollback()
	now := s.now().UnixMicro()
	res, err := tx.ExecContext(ctx, `UPDATE id_codes SET used_us = ? WHERE hash = ? AND used_us IS NULL AND revoked = 0 AND expires_us > ?`, now, codeHash, now)
	if err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, errf(CodeInvalidCode, "this code is not valid (mistyped, expired, already used or withdrawn)")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO id_credentials (id, account_id, data, created_us) VALUES (?, ?, ?, ?)`, cred.ID, accountID, string(data), now); err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	return s.newSession(ctx, u.a)
}

// BeginSignIn starts a passkey sign-in (a discoverable credential: no
// name is typed). It returns the options for navigator.credentials.get and
// a ceremony id for FinishSignIn.
func (s *Service) BeginSignIn(ctx context.Context) (*protocol.CredentialAssertion, string, error) {
	if s.wa == nil {
		return nil, "", errNoRP
	}
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", wrap(CodePasskeyFailed, "cannot start the sign-in", err)
	}
	id, err := s.putCeremony(ctx, "signin", "", nil, sd)
	return assertion, id, err
}

// FinishSignIn verifies the assertion (the JSON body of r) and signs the
// account in. A disabled account is refused (account_disabled).
func (s *Service) FinishSignIn(ctx context.Context, ceremonyID string, r *http.Request) (*Session, error) {
	_, _, sd, err := s.takeCeremony(ctx, "signin", ceremonyID)
	if err != nil {
		return nil, err
	}
	var found *user
	var disabled bool
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		var id string
		if err := s.db.QueryRowContext(ctx, `SELECT id FROM id_accounts WHERE handle = ?`, userHandle).Scan(&id); err != nil {
			return nil, errors.New("unknown passkey")
		}
		u, err := s.user(ctx, id)
		if err != nil {
			return nil, err
		}
		disabled = u.a.Disabled
		found = u
		return u, nil
	}
	_, cred, err := s.wa.FinishPasskeyLogin(handler, *sd, r)
	if err != nil || found == nil {
		return nil, wrap(CodePasskeyFailed, "the passkey was not accepted", err)
	}
	if disabled {
		return nil, errf(CodeAccountDisabled, "this account is disabled")
	}
	if data, err := json.Marshal(cred); err == nil { // keep the signature counter
		_, _ = s.db.ExecContext(ctx, `UPDATE id_credentials SET data = ? WHERE id = ? AND account_id = ?`, string(data), cred.ID, found.a.ID)
	}
	return s.newSession(ctx, found.a)
}

var audienceSQL = map[Audience]string{StaffOnly: ` AND a.role <> 'patient'`, PatientsOnly: ` AND a.role = 'patient'`}

var errNoRP = &Error{Pkg: pkg, Code: CodePasskeyFailed, Msg: "passkeys are not configured (Config.RPID, Config.Origin)"}

func (s *Service) user(ctx context.Context, accountID string) (*user, error) {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	creds, err := s.credentials(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return &user{a: a, creds: creds}, nil
}

func (s *Service) putCeremony(ctx context.Context, kind, accountID string, codeHash []byte, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", wrap(CodeInternal, "ceremony", err)
	}
	id := b64(random(24))
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM id_ceremonies WHERE expires_us < ?`, now.UnixMicro()); err != nil {
		return "", wrap(CodeInternal, "store", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM id_ceremonies`).Scan(&n); err != nil {
		return "", wrap(CodeInternal, "store", err)
	}
	if n >= s.cfg.MaxCeremonies {
		return "", errf(CodeRateLimited, "too many sign-ins are under way; try again in a few minutes")
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO id_ceremonies (hash, kind, account_id, code_hash, data, expires_us) VALUES (?, ?, ?, ?, ?, ?)`,
		hash(id), kind, accountID, codeHash, string(data), now.Add(ceremonyTTL).UnixMicro())
	if err != nil {
		return "", wrap(CodeInternal, "store", err)
	}
	return id, nil
}

// takeCeremony loads and deletes a ceremony (each is used once).
func (s *Service) takeCeremony(ctx context.Context, kind, id string) (string, []byte, *webauthn.SessionData, error) {
	if id == "" || len(id) > 64 {
		return "", nil, nil, errf(CodePasskeyFailed, "no passkey ceremony is under way; start again")
	}
	var accountID sql.NullString
	var codeHash []byte
	var data string
	var exp int64
	h := hash(id)
	err := s.db.QueryRowContext(ctx, `DELETE FROM id_ceremonies WHERE hash = ? AND kind = ? RETURNING account_id, code_hash, data, expires_us`, h, kind).
		Scan(&accountID, &codeHash, &data, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil, errf(CodePasskeyFailed, "no passkey ceremony is under way; start again")
	}
	if err != nil {
		return "", nil, nil, wrap(CodeInternal, "store", err)
	}
	if s.now().UnixMicro() > exp {
		return "", nil, nil, errf(CodePasskeyFailed, "the passkey step took too long; start again")
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(data), &sd); err != nil {
		return "", nil, nil, wrap(CodeInternal, "ceremony", err)
	}
	return accountID.String, codeHash, &sd, nil
}
