package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/healthcards/healthcards/internal/sqldb"
)

// Defaults of Config.
const (
	DefaultCodeTTL         = 24 * time.Hour
	DefaultIdleTimeout     = 15 * time.Minute
	DefaultAbsoluteTimeout = 8 * time.Hour
	ceremonyTTL            = 5 * time.Minute
)

// Config configures a Service. Exactly one of Path and PostgresDSN is
// required; RPID and Origin are needed for passkeys (without them only
// accounts and codes work, as in the CLI).
type Config struct {
	// Path is the SQLite file (created if missing), for one process.
	Path string
	// PostgresDSN is the issuer's PostgreSQL database (the tables id_*
	// next to the issuer store's), shared by replicas: a code is claimed
	// by one conditional UPDATE and code attempts are counted in the
	// database, so both limits hold across replicas.
	PostgresDSN string
	// RPID is the WebAuthn relying party id: the service's host name.
	RPID string
	// Origin is the service's origin, https://host[:port].
	Origin string
	// RPName is shown by the authenticator; "" means RPID.
	RPName string
	// CodeTTL is how long a staff invitation code works.
	CodeTTL time.Duration
	// EnrolmentCodeTTL is how long a patient's sign-up code (EnrolPatient,
	// NewCode of a patient account) works; 0 means CodeTTL.
	EnrolmentCodeTTL time.Duration
	// IdleTimeout ends a session not used for this long.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after sign-in.
	AbsoluteTimeout time.Duration
	// CodeAttemptsPerMinute bounds code redemptions per client key (and 10
	// times that globally, counting only attempts within their client's
	// limit), in the database; 0 means 5.
	CodeAttemptsPerMinute int
	// MaxCeremonies bounds the passkey ceremonies under way (each lives 5
	// minutes): sign-in pages are public, so their rows must not grow with
	// an attacker's request rate. Past it, new ceremonies are refused
	// (rate_limited) until old ones expire; 0 means 10,000.
	MaxCeremonies int
	// OnCutOff, when set, is called when an account is cut off (Disable,
	// RevokePasskey, an enrolment with ReplacePasskeys) before the change
	// commits; the issuer withdraws the account's OAuth grants with it. An
	// error aborts the change (fail closed: the caller may retry).
	OnCutOff func(ctx context.Context, accountID string) error
	// ClientIP is the client address of a request (ClientKey): behind
	// reverse proxies, the rightmost untrusted X-Forwarded-For hop
	// (shc-issuer serve --trusted-proxy). Nil means the connection's peer.
	ClientIP func(*http.Request) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Account is a person who signs in.
type Account struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
	Passkeys int       `json:"passkeys"`
	// Patient is the FHIR Patient id of a patient account's own record;
	// "" for staff and for a guardian-only account.
	Patient string `json:"patient,omitempty"`
	// IAL is the identity assurance level the desk proofed a patient
	// account at, a URI such as https://smarthealth.cards/ial/IAL2.
	IAL string `json:"ial,omitempty"`
	// Evidence is the kind of document checked (EvidenceKinds), CheckedBy
	// the staff account that checked it and Proofed when: kept for audit.
	// The document's number is never stored.
	Evidence  string    `json:"evidence,omitempty"`
	CheckedBy string    `json:"checkedBy,omitempty"`
	Proofed   time.Time `json:"proofed,omitzero"`
	handle    []byte
}

// Session is a signed-in person.
type Session struct {
	Account Account
	// CSRF is the token state-changing requests must carry.
	CSRF    string
	Created time.Time
	token   string
}

// Token is the session's secret (the cookie value).
func (s *Session) Token() string { return s.token }

// Service manages accounts, codes, passkeys and sessions. Safe for
// concurrent use.
type Service struct {
	cfg Config
	db  sqldb.DB
	wa  *webauthn.WebAuthn
	now func() time.Time
}

// Open opens (and migrates) the store and configures WebAuthn.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if (cfg.Path == "") == (cfg.PostgresDSN == "") {
		return nil, errors.New("identity: give exactly one of Config.Path (SQLite) and Config.PostgresDSN")
	}
	if (cfg.RPID == "") != (cfg.Origin == "") || (cfg.Origin != "" && !strings.HasPrefix(cfg.Origin, "https://")) {
		return nil, errors.New("identity: Config.RPID and an https Config.Origin go together (both empty: accounts and codes only, as the CLI uses it)")
	}
	if cfg.RPName == "" {
		cfg.RPName = cfg.RPID
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.EnrolmentCodeTTL <= 0 {
		cfg.EnrolmentCodeTTL = cfg.CodeTTL
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if cfg.MaxCeremonies <= 0 {
		cfg.MaxCeremonies = 10000
	}
	if cfg.CodeAttemptsPerMinute <= 0 {
		cfg.CodeAttemptsPerMinute = 5
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var wa *webauthn.WebAuthn
	if cfg.RPID != "" {
		var err error
		if wa, err = webauthn.New(&webauthn.Config{RPID: cfg.RPID, RPDisplayName: cfg.RPName, RPOrigins: []string{cfg.Origin}}); err != nil {
			return nil, fmt.Errorf("identity: webauthn: %w", err)
		}
	}
	db, err := openDB(ctx, cfg.Path, cfg.PostgresDSN, false)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db, now()); err != nil {
		db.Close()
		return nil, fmt.Errorf("identity: migrating the identity tables: %w", err)
	}
	return &Service{cfg: cfg, db: db, wa: wa, now: now}, nil
}

// openDB opens the SQLite file path (read-only if readOnly) or the
// PostgreSQL database dsn. Errors never hold the DSN's password.
func openDB(ctx context.Context, path, dsn string, readOnly bool) (sqldb.DB, error) {
	db, err := sqldb.Open(ctx, path, dsn, readOnly, 4, 2)
	if err != nil {
		return sqldb.DB{}, fmt.Errorf("identity: %w", err)
	}
	return db, nil
}

// Close closes the store.
func (s *Service) Close() error { return s.db.Close() }

// Config returns the configuration with defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// The identity tables, per dialect: the same columns (times as INTEGER
// microseconds, flags as INTEGER 0/1) in SQLite and PostgreSQL types.
var schemas = map[sqldb.Dialect][]sqldb.Migration{
	sqldb.SQLite: {{Version: 1, Name: "identity 1", SQL: `
CREATE TABLE id_accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, handle BLOB NOT NULL UNIQUE,
  disabled INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL);
CREATE TABLE id_codes (hash BLOB PRIMARY KEY, account_id TEXT NOT NULL REFERENCES id_accounts(id), expires_us INTEGER NOT NULL,
  used_us INTEGER, revoked INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL);
CREATE TABLE id_credentials (id BLOB PRIMARY KEY, account_id TEXT NOT NULL REFERENCES id_accounts(id), data TEXT NOT NULL,
  created_us INTEGER NOT NULL);
CREATE TABLE id_sessions (hash BLOB PRIMARY KEY, account_id TEXT NOT NULL REFERENCES id_accounts(id), csrf TEXT NOT NULL,
  created_us INTEGER NOT NULL, seen_us INTEGER NOT NULL);
CREATE TABLE id_ceremonies (hash BLOB PRIMARY KEY, kind TEXT NOT NULL, account_id TEXT, code_hash BLOB, data TEXT NOT NULL,
  expires_us INTEGER NOT NULL);
`}, {Version: 2, Name: "identity 2: code attempts", SQL: attemptsSQL}, {Version: 3, Name: "identity 3: patients", SQL: patientsSQL}},
	sqldb.PostgreSQL: {{Version: 1, Name: "identity 1", SQL: `
CREATE TABLE id_accounts (id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, handle BYTEA NOT NULL UNIQUE,
  disabled INTEGER NOT NULL DEFAULT 0, created_us BIGINT NOT NULL, seq BIGINT GENERATED ALWAYS AS IDENTITY); -- seq: SQLite's rowid
CREATE TABLE id_codes (hash BYTEA PRIMARY KEY, account_id TEXT COLLATE "C" NOT NULL REFERENCES id_accounts(id), expires_us BIGINT NOT NULL,
  used_us BIGINT, revoked INTEGER NOT NULL DEFAULT 0, created_us BIGINT NOT NULL);
CREATE TABLE id_credentials (id BYTEA PRIMARY KEY, account_id TEXT COLLATE "C" NOT NULL REFERENCES id_accounts(id), data TEXT NOT NULL,
  created_us BIGINT NOT NULL);
CREATE TABLE id_sessions (hash BYTEA PRIMARY KEY, account_id TEXT COLLATE "C" NOT NULL REFERENCES id_accounts(id), csrf TEXT NOT NULL,
  created_us BIGINT NOT NULL, seen_us BIGINT NOT NULL);
CREATE TABLE id_ceremonies (hash BYTEA PRIMARY KEY, kind TEXT NOT NULL, account_id TEXT, code_hash BYTEA, data TEXT NOT NULL,
  expires_us BIGINT NOT NULL);
`}, {Version: 2, Name: "identity 2: code attempts", SQL: attemptsSQL}, {Version: 3, Name: "identity 3: patients", SQL: patientsSQL}},
}

// attemptsSQL (version 2) counts code attempts per one-minute window and
// hashed client key ("*" counts all clients), in the database so that
// replicas share the limit.
const attemptsSQL = `CREATE TABLE id_attempts (win BIGINT NOT NULL, client BYTEA NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (win, client));`

func migrate(ctx context.Context, db sqldb.DB, now time.Time) error {
	ms := schemas[db.Dialect]
	if db.Dialect == sqldb.SQLite {
		// SQLite's BYTEA is a BLOB by type affinity; keep the file's
		// tables plain.
		ms = append([]sqldb.Migration(nil), ms...)
		ms[1].SQL = strings.ReplaceAll(ms[1].SQL, "BYTEA", "BLOB")
		ms[2].SQL = strings.ReplaceAll(ms[2].SQL, ` COLLATE "C"`, "")
	}
	return sqldb.Migrate(ctx, db.DB, sqldb.Schema{
		Dialect: db.Dialect, Lock: "healthcards/issuer/identity",
		Table:      "id_schema_migrations",
		Create:     `CREATE TABLE IF NOT EXISTS id_schema_migrations (version BIGINT PRIMARY KEY, applied_us BIGINT NOT NULL)`,
		Record:     `INSERT INTO id_schema_migrations (version, applied_us) VALUES (?, ?)`,
		Args:       func(m sqldb.Migration, at time.Time) []any { return []any{m.Version, at.UnixMicro()} },
		Migrations: ms,
		TooNew:     errors.New("identity: the database was written by a newer release"),
	}, now)
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("identity: crypto/rand failed: " + err.Error())
	}
	return b
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// codeAlphabet is Crockford's base32 without I, L, O, U: easy to read out.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newCode returns 12 characters (60 bits) shown as XXXX-XXXX-XXXX.
func newCode() string {
	b := random(12)
	out := make([]byte, 0, 14)
	for i, c := range b {
		if i == 4 || i == 8 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[c&31])
	}
	return string(out)
}

// normalizeCode uppercases and drops separators, mapping the letters
// Crockford's alphabet leaves out to the digits they look like.
func normalizeCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == '-' || r == ' ':
		case r == 'O':
			b.WriteByte('0')
		case r == 'I' || r == 'L':
			b.WriteByte('1')
		case r < 128 && strings.IndexByte(codeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != 12 {
		return ""
	}
	return b.String()
}

// AddAccount creates an account and its first one-time code. name is what
// staff see (at most 100 characters); role is a staff role or RolePatient.
func (s *Service) AddAccount(ctx context.Context, name string, role Role) (Account, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\r\n") {
		return Account{}, "", errf(CodeInvalidAccount, "the name must be 1..100 characters on one line")
	}
	if !role.Valid() && role != RolePatient {
		return Account{}, "", errf(CodeInvalidAccount, "role must be desk, supervisor or admin")
	}
	a := Account{ID: "acct-" + b64(random(9)), Name: name, Role: role, Created: s.now().UTC(), handle: random(32)}
	code := newCode()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Account{}, "", wrap(CodeInternal, "store", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO id_accounts (id, name, role, handle, created_us) VALUES (?, ?, ?, ?, ?)`,
		a.ID, a.Name, string(a.Role), a.handle, a.Created.UnixMicro()); err != nil {
		return Account{}, "", wrap(CodeInternal, "store", err)
	}
	if err := s.putCode(ctx, tx, a.ID, code, s.ttl(role)); err != nil {
		return Account{}, "", err
	}
	if err := tx.Commit(); err != nil {
		return Account{}, "", wrap(CodeInternal, "store", err)
	}
	return a, code, nil
}

// ttl is how long a new code of an account of role works.
func (s *Service) ttl(role Role) time.Duration {
	if role == RolePatient {
		return s.cfg.EnrolmentCodeTTL
	}
	return s.cfg.CodeTTL
}

func (s *Service) putCode(ctx context.Context, tx sqldb.Tx, accountID, code string, ttl time.Duration) error {
	now := s.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO id_codes (hash, account_id, expires_us, created_us) VALUES (?, ?, ?, ?)`,
		hash(normalizeCode(code)), accountID, now.Add(ttl).UnixMicro(), now.UnixMicro())
	if err != nil {
		return wrap(CodeInternal, "store", err)
	}
	return nil
}

// NewCode revokes the account's unused codes and issues a new one (a lost
// phone, an expired invitation).
func (s *Service) NewCode(ctx context.Context, accountID string) (string, error) {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return "", err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", wrap(CodeInternal, "store", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE id_codes SET revoked = 1 WHERE account_id = ? AND used_us IS NULL`, accountID); err != nil {
		return "", wrap(CodeInternal, "store", err)
	}
	code := newCode()
	if err := s.putCode(ctx, tx, accountID, code, s.ttl(a.Role)); err != nil {
		return "", err
	}
	return code, wrapCommit(tx.Commit())
}

// RevokeCodes revokes the account's unused codes.
func (s *Service) RevokeCodes(ctx context.Context, accountID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE id_codes SET revoked = 1 WHERE account_id = ? AND used_us IS NULL`, accountID)
	return wrapCommit(err)
}

func wrapCommit(err error) error {
	if err != nil {
		return wrap(CodeInternal, "store", err)
	}
	return nil
}

const accountCols = `a.id, a.name, a.role, a.handle, a.disabled, a.created_us, (SELECT COUNT(*) FROM id_credentials c WHERE c.account_id = a.id),
  COALESCE(a.patient, ''), a.ial, a.evidence, a.checked_by, a.proofed_us`

func scanAccount(sc interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var role string
	var created int64
	var disabled int
	var proofed sql.NullInt64
	if err := sc.Scan(&a.ID, &a.Name, &role, &a.handle, &disabled, &created, &a.Passkeys, &a.Patient, &a.IAL, &a.Evidence, &a.CheckedBy, &proofed); err != nil {
		return a, err
	}
	a.Role, a.Disabled, a.Created = Role(role), disabled != 0, time.UnixMicro(created).UTC()
	if proofed.Valid {
		a.Proofed = time.UnixMicro(proofed.Int64).UTC()
	}
	return a, nil
}

// Account returns one account.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	return s.queryAccount(ctx, "no such account", `SELECT `+accountCols+` FROM id_accounts a WHERE a.id = ?`, id)
}

// queryAccount reads the account query (a SELECT of accountCols) finds;
// none is not_found with the message notFound.
func (s *Service) queryAccount(ctx context.Context, notFound, query string, args ...any) (Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, errf(CodeNotFound, "%s", notFound)
	}
	if err != nil {
		return a, wrap(CodeInternal, "store", err)
	}
	return a, nil
}

// queryAccounts reads the accounts query (a SELECT of accountCols) finds,
// in its order, keeping those keep accepts (nil keeps all).
func (s *Service) queryAccounts(ctx context.Context, keep func(Account) bool, query string, args ...any) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, wrap(CodeInternal, "store", err)
		}
		if keep == nil || keep(a) {
			out = append(out, a)
		}
	}
	return out, wrapCommit(rows.Err())
}

// Accounts lists the accounts, oldest first; patients are left out unless
// withPatients.
func (s *Service) Accounts(ctx context.Context, withPatients bool) ([]Account, error) {
	order := `a.rowid`
	if s.db.Dialect == sqldb.PostgreSQL {
		order = `a.seq`
	}
	return s.queryAccounts(ctx, func(a Account) bool { return withPatients || a.Role != RolePatient },
		`SELECT `+accountCols+` FROM id_accounts a ORDER BY a.created_us, `+order)
}

// Disable stops an account: it cannot enrol or sign in, its codes are
// revoked and its sessions end at once.
func (s *Service) Disable(ctx context.Context, id string) error {
	if _, err := s.Account(ctx, id); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(CodeInternal, "store", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`UPDATE id_accounts SET disabled = 1 WHERE id = ?`, `UPDATE id_codes SET revoked = 1 WHERE account_id = ? AND used_us IS NULL`,
		`DELETE FROM id_sessions WHERE account_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return wrap(CodeInternal, "store", err)
		}
	}
	if err := s.cutOff(ctx, id); err != nil {
		return err
	}
	return wrapCommit(tx.Commit())
}

// cutOff runs Config.OnCutOff for an account losing its access, inside
// the caller's transaction (before its commit).
func (s *Service) cutOff(ctx context.Context, accountID string) error {
	if s.cfg.OnCutOff == nil {
		return nil
	}
	if err := s.cfg.OnCutOff(ctx, accountID); err != nil {
		return wrap(CodeInternal, "withdrawing the account's app grants", err)
	}
	return nil
}

// newSession stores a session for the account and returns it.
func (s *Service) newSession(ctx context.Context, a Account) (*Session, error) {
	tok := b64(random(32))
	now := s.now()
	ses := &Session{Account: a, CSRF: b64(random(24)), Created: now.UTC(), token: tok}
	_, err := s.db.ExecContext(ctx, `INSERT INTO id_sessions (hash, account_id, csrf, created_us, seen_us) VALUES (?, ?, ?, ?, ?)`,
		hash(tok), a.ID, ses.CSRF, now.UnixMicro(), now.UnixMicro())
	if err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	return ses, nil
}

// Authenticate returns the session of a token, ending it when the idle or
// absolute timeout has passed (session_expired) and refreshing its idle
// clock otherwise. An unknown token is unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 64 {
		return nil, errf(CodeUnauthenticated, "sign in first")
	}
	h := hash(token)
	var accountID, csrf string
	var created, seen int64
	err := s.db.QueryRowContext(ctx, `SELECT account_id, csrf, created_us, seen_us FROM id_sessions WHERE hash = ?`, h).Scan(&accountID, &csrf, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errf(CodeUnauthenticated, "sign in first")
	}
	if err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	now := s.now()
	if now.Sub(time.UnixMicro(seen)) > s.cfg.IdleTimeout || now.Sub(time.UnixMicro(created)) > s.cfg.AbsoluteTimeout {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM id_sessions WHERE hash = ?`, h)
		return nil, errf(CodeSessionExpired, "the session has expired; sign in again")
	}
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.Disabled {
		return nil, errf(CodeAccountDisabled, "this account is disabled")
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE id_sessions SET seen_us = ? WHERE hash = ?`, now.UnixMicro(), h); err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	return &Session{Account: a, CSRF: csrf, Created: time.UnixMicro(created).UTC(), token: token}, nil
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM id_sessions WHERE hash = ?`, hash(token))
	return wrapCommit(err)
}

// CheckCSRF compares the token a request carried with the session's, in
// constant time.
func CheckCSRF(ses *Session, got string) error {
	if ses == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ses.CSRF)) != 1 {
		return errf(CodeCSRF, "the form is stale or was not sent by this site; reload the page")
	}
	return nil
}

// allowAttempt counts one code attempt of clientKey in the current
// one-minute window, in the database (shared by replicas). The client's
// own limit (CodeAttemptsPerMinute) is checked first, and only attempts
// that pass it count towards the global limit (10 x CodeAttemptsPerMinute):
// one client guessing fast exhausts its own budget, never everyone's
// sign-ups and invitations. A window whose global budget is spent refuses
// new clients before their row is written, which bounds the rows of a
// window. Each count is one atomic upsert. Client keys are stored hashed;
// windows older than the previous one are deleted.
func (s *Service) allowAttempt(ctx context.Context, clientKey string) (bool, error) {
	per := int64(s.cfg.CodeAttemptsPerMinute)
	w := s.now().Unix() / 60
	if _, err := s.db.ExecContext(ctx, `DELETE FROM id_attempts WHERE win < ?`, w-1); err != nil {
		return false, wrap(CodeInternal, "store", err)
	}
	global := []byte("*")
	var spent int64
	err := s.db.QueryRowContext(ctx, `SELECT n FROM id_attempts WHERE win = ? AND client = ?`, w, global).Scan(&spent)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, wrap(CodeInternal, "store", err)
	}
	if spent >= 10*per {
		return false, nil
	}
	count := func(client []byte) (int64, error) {
		var n int64
		err := s.db.QueryRowContext(ctx, `INSERT INTO id_attempts (win, client, n) VALUES (?, ?, 1)
			ON CONFLICT (win, client) DO UPDATE SET n = id_attempts.n + 1 RETURNING n`, w, client).Scan(&n)
		return n, err
	}
	n, err := count(hash("client:" + clientKey))
	if err != nil {
		return false, wrap(CodeInternal, "store", err)
	}
	if n > per {
		return false, nil
	}
	if n, err = count(global); err != nil {
		return false, wrap(CodeInternal, "store", err)
	}
	return n <= 10*per, nil
}

// user adapts an account to webauthn.User.
type user struct {
	a     Account
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.a.handle }
func (u *user) WebAuthnName() string                       { return u.a.ID }
func (u *user) WebAuthnDisplayName() string                { return u.a.Name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (s *Service) credentials(ctx context.Context, accountID string) ([]webauthn.Credential, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM id_credentials WHERE account_id = ?`, accountID)
	if err != nil {
		return nil, wrap(CodeInternal, "store", err)
	}
	defer rows.Close()
	var out []webauthn.Credential
	for rows.Next() {
		var data string
		var c webauthn.Credential
		if err := rows.Scan(&data); err != nil {
			return nil, wrap(CodeInternal, "store", err)
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return nil, wrap(CodeInternal, "stored passkey unreadable", err)
		}
		out = append(out, c)
	}
	return out, wrapCommit(rows.Err())
}
