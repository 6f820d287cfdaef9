package keydb

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/keys"
)

//go:embed migrations
var migrationFS embed.FS

// FileName is the SQLite database of the key ring in a data directory.
const FileName = "keyring.db"

// Secret names kept by the service.
const (
	SecretRID          = "rid-secret"          // the rid HMAC secret (REV-3)
	SecretLinkLocation = "shl-location-secret" // signs SMART Health Link location URLs
)

// NotifyChannel is the PostgreSQL channel every ring change notifies.
const NotifyChannel = "healthcards_keyring"

// ErrSchemaTooNew reports a database migrated by a newer release.
var ErrSchemaTooNew = errors.New("keydb: database schema is newer than this program")

// Store is the key ring and the shared secrets in one database. It is safe
// for concurrent use, and several processes (replicas) may share one
// PostgreSQL database: every change is one transaction that first locks the
// keyring_state row and increments its version.
type Store struct {
	d   sqldb.Dialect
	db  *sql.DB
	dsn string // PostgreSQL only, for LISTEN
	kek *KEK
	now func() time.Time
	// onClose runs after the database closes (a token KEK's session).
	onClose []func() error
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock for the ring's times (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithOnClose runs fn when the Store is closed, or when opening it fails:
// for a token KEK, fn closes the token session.
func WithOnClose(fn func() error) Option {
	return func(s *Store) { s.onClose = append(s.onClose, fn) }
}

// OpenPostgres opens the key ring in the PostgreSQL database dsn (the
// issuer store's) and applies pending migrations under an advisory lock.
func OpenPostgres(ctx context.Context, dsn string, kek *KEK, opts ...Option) (*Store, error) {
	if kek == nil {
		return nil, newErr(CodeBadKEK, "no KEK", nil)
	}
	db, err := sqldb.OpenPostgres(dsn)
	if err != nil {
		return nil, fmt.Errorf("keydb: %w", err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	s := &Store{d: sqldb.PostgreSQL, db: db, dsn: dsn, kek: kek, now: time.Now}
	return s.open(ctx, opts)
}

// OpenSQLite opens (creating) the key ring in dir/keyring.db, for one
// process. dir is created with mode 0700.
func OpenSQLite(ctx context.Context, dir string, kek *KEK, opts ...Option) (*Store, error) {
	if kek == nil {
		return nil, newErr(CodeBadKEK, "no KEK", nil)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	db, err := sqldb.OpenSQLite(path, false)
	if err != nil {
		return nil, fmt.Errorf("keydb: %w", err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{d: sqldb.SQLite, db: db, kek: kek, now: time.Now}
	if err := sqldb.CheckSQLite(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("keydb: %w", err)
	}
	return s.open(ctx, opts)
}

func (s *Store) open(ctx context.Context, opts []Option) (*Store, error) {
	for _, o := range opts {
		o(s)
	}
	ms, err := sqldb.Load(migrationFS, "migrations/"+s.d.String())
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("keydb: %w", err)
	}
	create := `CREATE TABLE IF NOT EXISTS keyring_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)`
	if s.d == sqldb.PostgreSQL {
		create = `CREATE TABLE IF NOT EXISTS keyring_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)`
	}
	err = sqldb.Migrate(ctx, s.db, sqldb.Schema{
		Dialect: s.d, Lock: "healthcards/issuer/keydb migrations", Table: "keyring_migrations", Create: create,
		Record:     `INSERT INTO keyring_migrations (version, name, applied_us) VALUES (?, ?, ?)`,
		Args:       func(m sqldb.Migration, at time.Time) []any { return []any{m.Version, m.Name, at.UnixMicro()} },
		Migrations: ms, TooNew: ErrSchemaTooNew,
	}, s.now())
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("keydb: migrate: %w", err)
	}
	// The first KEK to open the database is its KEK: another one is
	// refused here, before it could seal a key nobody else can open.
	if _, err := s.Secret(ctx, secretKEKCheck, func() (string, error) { return "healthcards keydb kek check", nil }); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// secretKEKCheck is a constant sealed under the database's KEK.
const secretKEKCheck = "kek-check"

// Close closes the database handle (and runs WithOnClose functions).
func (s *Store) Close() error {
	err := s.db.Close()
	for _, fn := range s.onClose {
		if e := fn(); err == nil {
			err = e
		}
	}
	s.onClose = nil
	return err
}

// Dialect names the database: "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.d.String() }

func (s *Store) q(query string) string { return s.d.Rebind(query) }

// tm and fromTm store times as the dialect holds them.
func (s *Store) tm(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.d == sqldb.SQLite {
		return t.UnixMicro()
	}
	return t
}

type timeCol struct {
	t     time.Time
	valid bool
}

func (c *timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		c.valid = false
	case int64:
		c.t, c.valid = time.UnixMicro(v).UTC(), true
	case time.Time:
		c.t, c.valid = v.UTC(), true
	default:
		return fmt.Errorf("keydb: unexpected time column type %T", src)
	}
	return nil
}

func (c timeCol) ptr() *time.Time {
	if !c.valid {
		return nil
	}
	t := c.t
	return &t
}

// change runs fn in one transaction holding the ring's lock (the
// keyring_state row; on SQLite the database write lock), then bumps the
// version and, on PostgreSQL, notifies NotifyChannel at commit.
func (s *Store) change(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("keydb: %w", err)
	}
	defer tx.Rollback()
	var v int64
	if err := tx.QueryRowContext(ctx, `UPDATE keyring_state SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
		return fmt.Errorf("keydb: lock: %w", err)
	}
	if err := fn(tx, s.now()); err != nil {
		return err
	}
	if s.d == sqldb.PostgreSQL {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, current_schema() || ':' || $2)`, NotifyChannel, strconv.FormatInt(v, 10)); err != nil {
			return fmt.Errorf("keydb: notify: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("keydb: commit: %w", err)
	}
	return nil
}

// Version returns the ring's change counter: it grows with every change,
// so a replica reloads when it differs from what it loaded.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM keyring_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("keydb: version: %w", err)
	}
	return v, nil
}

// row is one keyring_keys row.
type row struct {
	keys.RingEntry
	public []byte
	sealed []byte
}

func (s *Store) rows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]row, error) {
	rs, err := q.QueryContext(ctx, `SELECT kid, status, created_at, deactivated_at, removed_at, public_jwk, sealed FROM keyring_keys ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("keydb: list: %w", err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var st string
		var c, d, rm timeCol
		if err := rs.Scan(&r.Kid, &st, &c, &d, &rm, &r.public, &r.sealed); err != nil {
			return nil, fmt.Errorf("keydb: list: %w", err)
		}
		r.Status, r.Created, r.Deactivated, r.Removed = keys.KeyStatus(st), c.t, d.ptr(), rm.ptr()
		out = append(out, r)
		if len(out) > keys.MaxRingKeys {
			return nil, newErr(CodeTooLarge, fmt.Sprintf("the ring has more than %d keys", keys.MaxRingKeys), nil)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("keydb: list: %w", err)
	}
	return out, nil
}

// List returns every key of the ring in creation order.
func (s *Store) List(ctx context.Context) ([]keys.RingEntry, error) {
	rs, err := s.rows(ctx, s.db)
	if err != nil {
		return nil, err
	}
	out := make([]keys.RingEntry, len(rs))
	for i, r := range rs {
		out[i] = r.RingEntry
	}
	return out, nil
}

func keyAAD(kid string) string { return "key:" + kid }

// sealKey seals k's private JWK for its row.
func (s *Store) sealKey(k *keys.PrivateKey) (public, sealed []byte, err error) {
	plain, err := keys.MarshalPrivateJWK(k, nil)
	if err != nil {
		return nil, nil, err
	}
	defer clear(plain)
	sealed, err = s.kek.seal(plain, keyAAD(k.KeyID()))
	if err != nil {
		return nil, nil, err
	}
	public, err = json.Marshal(k.PublicJWK())
	return public, sealed, err
}

// openKey opens a sealed private key and checks it against its kid.
func (s *Store) openKey(kid string, sealed []byte) (*keys.PrivateKey, error) {
	plain, err := s.kek.open(sealed, keyAAD(kid))
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return keys.LoadPrivate(plain, nil, kid)
}

func (s *Store) insertKey(ctx context.Context, tx *sql.Tx, e keys.RingEntry, k *keys.PrivateKey, publicJWK []byte) error {
	var sealed []byte
	if k != nil {
		pub, sl, err := s.sealKey(k)
		if err != nil {
			return err
		}
		publicJWK, sealed = pub, sl
	}
	var d, rm any
	if e.Deactivated != nil {
		d = s.tm(*e.Deactivated)
	}
	if e.Removed != nil {
		rm = s.tm(*e.Removed)
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO keyring_keys (kid, status, created_at, deactivated_at, removed_at, public_jwk, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		e.Kid, string(e.Status), s.tm(e.Created), d, rm, publicJWK, sealed)
	if err != nil {
		return fmt.Errorf("keydb: insert key: %w", err)
	}
	return nil
}

// Rotate generates a new key and makes it the active signer; the previous
// active key becomes published (it stops signing but stays in the JWKS,
// KEY-8, KEY-9). It returns the new kid.
func (s *Store) Rotate(ctx context.Context) (string, error) {
	priv, err := keys.Generate()
	if err != nil {
		return "", err
	}
	k, err := keys.NewPrivateKey(priv)
	if err != nil {
		return "", err
	}
	err = s.change(ctx, func(tx *sql.Tx, now time.Time) error {
		return s.rotateTx(ctx, tx, now, k)
	})
	if err != nil {
		return "", err
	}
	return k.KeyID(), nil
}

func (s *Store) rotateTx(ctx context.Context, tx *sql.Tx, now time.Time, k *keys.PrivateKey) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM keyring_keys`).Scan(&n); err != nil {
		return fmt.Errorf("keydb: rotate: %w", err)
	}
	if n >= keys.MaxRingKeys {
		return newErr(CodeTooLarge, fmt.Sprintf("the ring already has %d keys", n), nil)
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE keyring_keys SET status = 'published', deactivated_at = ? WHERE status = 'active'`), s.tm(now)); err != nil {
		return fmt.Errorf("keydb: rotate: %w", err)
	}
	return s.insertKey(ctx, tx, keys.RingEntry{Kid: k.KeyID(), Status: keys.StatusActive, Created: now}, k, nil)
}

// EnsureActive makes sure the ring can sign: a ring with no key at all gets
// its first key, atomically, so replicas starting together create one key.
// A ring whose keys are all retired or compromised gets a new key only if
// rotateIfNone is set (development); otherwise it is CodeNoActiveKey. It
// returns the new kid, or "" if none was made.
func (s *Store) EnsureActive(ctx context.Context, rotateIfNone bool) (string, error) {
	priv, err := keys.Generate()
	if err != nil {
		return "", err
	}
	k, err := keys.NewPrivateKey(priv)
	if err != nil {
		return "", err
	}
	made := ""
	err = s.change(ctx, func(tx *sql.Tx, now time.Time) error {
		var total, active int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) FROM keyring_keys`).Scan(&total, &active); err != nil {
			return fmt.Errorf("keydb: %w", err)
		}
		if active > 0 {
			return nil
		}
		if total > 0 && !rotateIfNone {
			return newErr(CodeNoActiveKey, "the key ring has no active key (compromised?); run 'shc-issuer keys rotate'", nil)
		}
		made = k.KeyID()
		return s.rotateTx(ctx, tx, now, k)
	})
	return made, err
}

// Retire removes a published key from the JWKS and destroys its sealed
// private key (KEY-9). The active key cannot be retired: rotate first.
func (s *Store) Retire(ctx context.Context, kid string) error {
	return s.change(ctx, func(tx *sql.Tx, now time.Time) error {
		st, err := s.status(ctx, tx, kid)
		if err != nil {
			return err
		}
		switch st {
		case keys.StatusPublished:
		case keys.StatusActive:
			return newErr(CodeRingState, fmt.Sprintf("key %s is the active signer; rotate before retiring it", kid), nil)
		default:
			return newErr(CodeRingState, fmt.Sprintf("key %s is already %s", kid, st), nil)
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE keyring_keys SET status = 'retired', removed_at = ?, sealed = NULL WHERE kid = ?`), s.tm(now), kid)
		return err
	})
}

// Compromised removes a leaked key from the JWKS at once and destroys its
// sealed private key (KEY-10); if it was active the ring has no signer
// until the next Rotate. Marking a compromised key again does nothing.
func (s *Store) Compromised(ctx context.Context, kid string) error {
	return s.change(ctx, func(tx *sql.Tx, now time.Time) error {
		st, err := s.status(ctx, tx, kid)
		if err != nil {
			return err
		}
		t := s.tm(now)
		switch st {
		case keys.StatusCompromised:
			return nil
		case keys.StatusActive:
			_, err = tx.ExecContext(ctx, s.q(`UPDATE keyring_keys SET status = 'compromised', deactivated_at = ?, removed_at = ?, sealed = NULL WHERE kid = ?`), t, t, kid)
		case keys.StatusPublished:
			_, err = tx.ExecContext(ctx, s.q(`UPDATE keyring_keys SET status = 'compromised', removed_at = ?, sealed = NULL WHERE kid = ?`), t, kid)
		default:
			_, err = tx.ExecContext(ctx, s.q(`UPDATE keyring_keys SET status = 'compromised' WHERE kid = ?`), kid)
		}
		return err
	})
}

func (s *Store) status(ctx context.Context, tx *sql.Tx, kid string) (keys.KeyStatus, error) {
	var st string
	err := tx.QueryRowContext(ctx, s.q(`SELECT status FROM keyring_keys WHERE kid = ?`), kid).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", newErr(CodeKeyNotFound, fmt.Sprintf("no key %q in the ring", kid), nil)
	}
	if err != nil {
		return "", fmt.Errorf("keydb: %w", err)
	}
	return keys.KeyStatus(st), nil
}

func secretAAD(name string) string { return "secret:" + name }

// Secret returns the shared secret name, creating it from gen the first
// time. Creation is atomic: of replicas starting together, one value wins
// and every replica returns it.
func (s *Store) Secret(ctx context.Context, name string, gen func() (string, error)) (string, error) {
	if v, ok, err := s.readSecret(ctx, name); err != nil || ok {
		return v, err
	}
	v, err := gen()
	if err != nil {
		return "", err
	}
	if err := s.putSecret(ctx, name, v); err != nil {
		return "", err
	}
	v, ok, err := s.readSecret(ctx, name)
	if err == nil && !ok {
		err = fmt.Errorf("keydb: secret %s vanished", name)
	}
	return v, err
}

// HasSecret reports whether the secret name exists.
func (s *Store) HasSecret(ctx context.Context, name string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM keyring_secrets WHERE name = ?`), name).Scan(&n); err != nil {
		return false, fmt.Errorf("keydb: %w", err)
	}
	return n > 0, nil
}

// putSecret stores v under name unless name exists (first writer wins).
func (s *Store) putSecret(ctx context.Context, name, v string) error {
	sealed, err := s.kek.seal([]byte(v), secretAAD(name))
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO keyring_secrets (name, sealed, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`),
		name, sealed, s.tm(s.now())); err != nil {
		return fmt.Errorf("keydb: secret %s: %w", name, err)
	}
	return nil
}

func (s *Store) readSecret(ctx context.Context, name string) (string, bool, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT sealed FROM keyring_secrets WHERE name = ?`), name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("keydb: secret %s: %w", name, err)
	}
	plain, err := s.kek.open(sealed, secretAAD(name))
	if err != nil {
		return "", false, err
	}
	v := string(plain)
	clear(plain)
	return v, true, nil
}

// Import copies a key ring (every entry in creation order, with the private
// keys of active and published ones from key) and secrets into an empty
// database, in one transaction. Run again on a database that already holds
// the same kids and secrets, it changes nothing; a database holding another
// ring or another value of a secret is CodeMigrated, and nothing is
// written. It returns whether it wrote anything.
func (s *Store) Import(ctx context.Context, entries []keys.RingEntry, key func(kid string) (*keys.PrivateKey, bool), secrets map[string]string) (bool, error) {
	wrote := false
	err := s.change(ctx, func(tx *sql.Tx, now time.Time) error {
		have, err := s.rows(ctx, tx)
		if err != nil {
			return err
		}
		if len(have) > 0 {
			if len(have) != len(entries) {
				return newErr(CodeMigrated, fmt.Sprintf("the database already holds a key ring of %d keys (the directory has %d)", len(have), len(entries)), nil)
			}
			for i := range have {
				if have[i].Kid != entries[i].Kid {
					return newErr(CodeMigrated, "the database already holds another key ring", nil)
				}
			}
		} else {
			for _, e := range entries {
				var k *keys.PrivateKey
				if e.Status == keys.StatusActive || e.Status == keys.StatusPublished {
					var ok bool
					if k, ok = key(e.Kid); !ok {
						return newErr(CodeKeyNotFound, "no private key for "+e.Kid, nil)
					}
				}
				pub, _ := json.Marshal(map[string]string{"kid": e.Kid})
				if err := s.insertKey(ctx, tx, e, k, pub); err != nil {
					return err
				}
				wrote = true
			}
		}
		for name, v := range secrets {
			var sealed []byte
			err := tx.QueryRowContext(ctx, s.q(`SELECT sealed FROM keyring_secrets WHERE name = ?`), name).Scan(&sealed)
			if err == nil {
				plain, err := s.kek.open(sealed, secretAAD(name))
				if err != nil {
					return err
				}
				same := string(plain) == v
				clear(plain)
				if !same {
					return newErr(CodeMigrated, "the database already holds another "+name, nil)
				}
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("keydb: %w", err)
			}
			sl, err := s.kek.seal([]byte(v), secretAAD(name))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO keyring_secrets (name, sealed, created_at) VALUES (?, ?, ?)`), name, sl, s.tm(now)); err != nil {
				return fmt.Errorf("keydb: secret %s: %w", name, err)
			}
			wrote = true
		}
		return nil
	})
	return wrote, err
}
