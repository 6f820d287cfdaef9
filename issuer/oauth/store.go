package oauth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/healthcards/healthcards/internal/sqldb"
)

// Lifetimes.
const (
	// AccessTokenTTL is the lifetime of access tokens and ID tokens.
	AccessTokenTTL = 5 * time.Minute
	// RefreshTokenTTL is the absolute lifetime of a refresh token family
	// (from the code redemption): each use rotates the token, and the new
	// one keeps the family's expiry. Then the person signs in again.
	RefreshTokenTTL = 90 * 24 * time.Hour
	// RequestTTL is how long a person has to sign in and consent.
	RequestTTL = 10 * time.Minute
	// CodeTTL is how long an authorization code can be redeemed (RFC 6749
	// recommends at most 10 minutes).
	CodeTTL = time.Minute
	// keepUsed keeps redeemed codes and rotated tokens this long, so that a
	// replay is recognised (and its family revoked) rather than unknown.
	keepUsed = 24 * time.Hour
)

// StoreConfig says where the authorization server's state lives. Exactly
// one of Path and PostgresDSN is required.
type StoreConfig struct {
	// Path is the SQLite file (created if missing) of one process.
	Path string
	// PostgresDSN is the issuer's PostgreSQL database (tables oa_*),
	// shared by replicas: codes and refresh tokens are consumed by one
	// conditional UPDATE, so single use holds across replicas.
	PostgresDSN string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store holds clients, authorization requests, codes, grants and tokens.
// Safe for concurrent use, and for several processes on one database.
type Store struct {
	db  sqldb.DB
	now func() time.Time
}

// Open opens (and migrates) the store.
func Open(ctx context.Context, cfg StoreConfig) (*Store, error) {
	if (cfg.Path == "") == (cfg.PostgresDSN == "") {
		return nil, errors.New("oauth: give exactly one of StoreConfig.Path (SQLite) and StoreConfig.PostgresDSN")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	db, err := openDB(ctx, cfg.Path, cfg.PostgresDSN)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db, now()); err != nil {
		db.Close()
		return nil, fmt.Errorf("oauth: migrating the oauth tables: %w", err)
	}
	return &Store{db: db, now: now}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// GrantActive reports whether an access token may still be used: its jti
// was issued and not revoked, and its grant is not withdrawn. It is one
// lookup by primary keys (issuer/auth calls it for every request that
// carries one of this server's tokens).
func (s *Store) GrantActive(ctx context.Context, grantID, jti string) (bool, error) {
	if grantID == "" || jti == "" || len(grantID) > 64 || len(jti) > 64 {
		return false, nil
	}
	var revoked int
	var withdrawn sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT a.revoked, g.withdrawn_us FROM oa_access a JOIN oa_grants g ON g.id = a.grant_id
		WHERE a.jti = ? AND a.grant_id = ?`, jti, grantID).Scan(&revoked, &withdrawn)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("oauth: grant lookup: %w", err)
	}
	return revoked == 0 && !withdrawn.Valid, nil
}

// Grant is what a person allowed an app: remembered per app and person,
// listed on the connected-apps page.
type Grant struct {
	ID         string
	ClientID   string
	ClientName string
	AccountID  string
	Patient    string // the person's FHIR Patient id
	FHIRUser   string // "Patient/ID" or "RelatedPerson/ID"
	PersonName string
	Scopes     []string
	Consent    Consent
	Created    time.Time
	Updated    time.Time
}

// Grants lists the active grants of an account, newest first.
func (s *Store) Grants(ctx context.Context, accountID string) ([]Grant, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT g.id, g.client_id, COALESCE(c.name, ''), g.account_id, g.patient, g.fhir_user, g.person_name,
		g.scopes, g.details, g.created_us, g.updated_us FROM oa_grants g LEFT JOIN oa_clients c ON c.id = g.client_id
		WHERE g.account_id = ? AND g.withdrawn_us IS NULL ORDER BY g.updated_us DESC, g.id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var scopes, details string
		var created, updated int64
		if err := rows.Scan(&g.ID, &g.ClientID, &g.ClientName, &g.AccountID, &g.Patient, &g.FHIRUser, &g.PersonName,
			&scopes, &details, &created, &updated); err != nil {
			return nil, fmt.Errorf("oauth: %w", err)
		}
		g.Scopes = strings.Fields(scopes)
		if err := json.Unmarshal([]byte(details), &g.Consent); err != nil {
			return nil, fmt.Errorf("oauth: grant %s: %w", g.ID, err)
		}
		g.Created, g.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// querier is a database or a transaction.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// activeGrant returns the active grant of client for account and patient.
func (s *Store) activeGrant(ctx context.Context, clientID, accountID, patient string) (*Grant, error) {
	return activeGrant(ctx, s.db, clientID, accountID, patient)
}

func activeGrant(ctx context.Context, q querier, clientID, accountID, patient string) (*Grant, error) {
	var g Grant
	var scopes, details string
	err := q.QueryRowContext(ctx, `SELECT id, scopes, details FROM oa_grants WHERE client_id = ? AND account_id = ? AND patient = ? AND withdrawn_us IS NULL`,
		clientID, accountID, patient).Scan(&g.ID, &scopes, &details)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	g.ClientID, g.AccountID, g.Patient, g.Scopes = clientID, accountID, patient, strings.Fields(scopes)
	if err := json.Unmarshal([]byte(details), &g.Consent); err != nil {
		return nil, fmt.Errorf("oauth: grant %s: %w", g.ID, err)
	}
	return &g, nil
}

// putGrant records the consent for client, account and patient: the
// active grant is updated (its id stays, so tokens already issued stay
// tied to it), or a new one is made.
func (s *Store) putGrant(ctx context.Context, g Grant) (string, error) {
	return s.putGrantIn(ctx, s.db, g)
}

// putGrantIn is putGrant in q (the consent's transaction). The INSERT
// yields to a concurrent first consent (ON CONFLICT DO NOTHING on the
// unique index of active grants), which in PostgreSQL would otherwise
// abort the transaction; the UPDATE then finds that grant.
func (s *Store) putGrantIn(ctx context.Context, q querier, g Grant) (string, error) {
	details, err := json.Marshal(g.Consent)
	if err != nil {
		return "", err
	}
	now := s.now().UnixMicro()
	for range 2 {
		res, err := q.ExecContext(ctx, `UPDATE oa_grants SET scopes = ?, details = ?, fhir_user = ?, person_name = ?, updated_us = ?
			WHERE client_id = ? AND account_id = ? AND patient = ? AND withdrawn_us IS NULL`,
			strings.Join(g.Scopes, " "), string(details), g.FHIRUser, g.PersonName, now, g.ClientID, g.AccountID, g.Patient)
		if err != nil {
			return "", fmt.Errorf("oauth: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ag, err := activeGrant(ctx, q, g.ClientID, g.AccountID, g.Patient)
			if err != nil || ag == nil {
				return "", fmt.Errorf("oauth: grant vanished: %v", err)
			}
			return ag.ID, nil
		}
		id := "gr_" + b64(random(15))
		res, err = q.ExecContext(ctx, `INSERT INTO oa_grants (id, client_id, account_id, patient, fhir_user, person_name, scopes, details,
			created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (client_id, account_id, patient) WHERE withdrawn_us IS NULL DO NOTHING`,
			id, g.ClientID, g.AccountID, g.Patient, g.FHIRUser, g.PersonName, strings.Join(g.Scopes, " "), string(details), now, now)
		if err != nil {
			return "", fmt.Errorf("oauth: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return id, nil
		}
	}
	return "", errors.New("oauth: could not record the grant")
}

// WithdrawGrant withdraws a grant of the account: its refresh tokens are
// revoked at once, and its access tokens are refused from their next use
// (issuer/auth checks the grant). It is CodeNotFound when the account has
// no such active grant.
func (s *Store) WithdrawGrant(ctx context.Context, accountID, grantID string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE oa_grants SET withdrawn_us = ? WHERE id = ? AND account_id = ? AND withdrawn_us IS NULL`,
		s.now().UnixMicro(), grantID, accountID)
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errf(CodeNotFound, "no such connected app")
	}
	for _, q := range []string{
		`UPDATE oa_refresh SET revoked = 1 WHERE grant_id = ? AND revoked = 0`,
		`UPDATE oa_access SET revoked = 1 WHERE grant_id = ? AND revoked = 0`,
	} {
		if _, err := tx.ExecContext(ctx, q, grantID); err != nil {
			return fmt.Errorf("oauth: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	return nil
}

// WithdrawAccount withdraws every active grant of an account (disabled, a
// passkey revoked, a lost phone re-enrolled: identity.Config.OnCutOff):
// their refresh tokens are revoked at once and their access tokens refused
// from their next use. An account without grants is not an error.
func (s *Store) WithdrawAccount(ctx context.Context, accountID string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`UPDATE oa_refresh SET revoked = 1 WHERE revoked = 0 AND grant_id IN (SELECT id FROM oa_grants WHERE account_id = ? AND withdrawn_us IS NULL)`,
		`UPDATE oa_access SET revoked = 1 WHERE revoked = 0 AND grant_id IN (SELECT id FROM oa_grants WHERE account_id = ? AND withdrawn_us IS NULL)`,
	} {
		if _, err := tx.ExecContext(ctx, q, accountID); err != nil {
			return fmt.Errorf("oauth: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oa_grants SET withdrawn_us = ? WHERE account_id = ? AND withdrawn_us IS NULL`,
		s.now().UnixMicro(), accountID); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	return nil
}

// revokeFamily revokes every refresh and access token descended from one
// code redemption (a replayed code or refresh token, RFC 6749 section
// 4.1.2 and RFC 9700 section 4.14.2).
func (s *Store) revokeFamily(ctx context.Context, family string) error {
	for _, q := range []string{
		`UPDATE oa_refresh SET revoked = 1 WHERE family = ? AND revoked = 0`,
		`UPDATE oa_access SET revoked = 1 WHERE family = ? AND revoked = 0`,
	} {
		if _, err := s.db.ExecContext(ctx, q, family); err != nil {
			return fmt.Errorf("oauth: %w", err)
		}
	}
	return nil
}

// allow counts one request of endpoint from client in the current
// one-minute window (one atomic upsert in the database, shared by
// replicas) and reports whether it is within per. Client addresses are
// stored hashed; windows older than the previous one are deleted.
func (s *Store) allow(ctx context.Context, endpoint, client string, per int) (bool, error) {
	w := s.now().Unix() / 60
	tx, err := s.db.BeginTx(ctx, nil) // one commit for both statements
	if err != nil {
		return false, fmt.Errorf("oauth: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM oa_attempts WHERE win < ?`, w-1); err != nil {
		return false, fmt.Errorf("oauth: %w", err)
	}
	var n int64
	err = tx.QueryRowContext(ctx, `INSERT INTO oa_attempts (win, client, n) VALUES (?, ?, 1)
		ON CONFLICT (win, client) DO UPDATE SET n = oa_attempts.n + 1 RETURNING n`, w, hash(endpoint+"\x00"+client)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("oauth: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("oauth: %w", err)
	}
	return n <= int64(per), nil
}

// openRequests counts the authorization requests awaiting an answer.
func (s *Store) openRequests(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM oa_requests WHERE expires_us > ? AND code_hash IS NULL`, s.now().UnixMicro()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("oauth: %w", err)
	}
	return n, nil
}

// prune deletes expired requests and tokens past the replay window.
func (s *Store) prune(ctx context.Context) error {
	cut := s.now().Add(-keepUsed).UnixMicro()
	for _, q := range []string{
		`DELETE FROM oa_requests WHERE expires_us < ?`,
		`DELETE FROM oa_refresh WHERE expires_us < ?`,
		`DELETE FROM oa_access WHERE expires_us < ?`,
	} {
		if _, err := s.db.ExecContext(ctx, q, cut); err != nil {
			return fmt.Errorf("oauth: %w", err)
		}
	}
	return nil
}
