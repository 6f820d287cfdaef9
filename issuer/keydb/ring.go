package keydb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/keys"
)

// DefaultPoll is how often a Ring checks the ring's version when nothing
// wakes it earlier: the bound on how late a replica sees a change when
// PostgreSQL notifications are lost (and always on SQLite).
const DefaultPoll = 2 * time.Second

// Ring is the key set a replica serves from the database (it implements
// issuer.KeySet): the active signer, decrypted under the KEK, and the
// published public keys, read from their plain columns. It follows changes
// made by any replica or by `shc-issuer keys`: on PostgreSQL it LISTENs on
// NotifyChannel and reloads at once; it also polls the ring's version every
// poll interval, so a change is seen within that bound even if a
// notification is lost (a dropped connection) and on SQLite.
//
// # Security considerations
//
// Loading fails closed. If the active key does not open (another KEK, a
// damaged row), Active refuses to sign until a reload succeeds; the JWKS is
// still published from the public columns. Between a change in the database
// and its reload (normally milliseconds, at most the poll interval plus a
// query), a replica may still sign with a key just rotated out or marked
// compromised; cards signed by a compromised key fail verification once it
// leaves the JWKS (KEY-10).
type Ring struct {
	s    *Store
	log  *slog.Logger
	poll time.Duration

	mu      sync.RWMutex
	version int64
	public  []keys.JWK // active and published keys, creation order
	signer  *keys.PrivateKey
	err     error // why the active key is unavailable
	loaded  chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// Watch loads the ring and follows it until Close. poll <= 0 means
// DefaultPoll; log may be nil.
func (s *Store) Watch(ctx context.Context, poll time.Duration, log *slog.Logger) (*Ring, error) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Ring{s: s, log: log, poll: poll, version: -1, loaded: make(chan struct{}, 1), done: make(chan struct{})}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	wake := make(chan struct{}, 1)
	var listening sync.WaitGroup
	if s.d == sqldb.PostgreSQL && s.dsn != "" {
		listening.Add(1)
		go func() { defer listening.Done(); r.listen(wctx, wake) }()
	}
	go func() {
		defer close(r.done)
		defer listening.Wait()
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			case <-wake:
			}
			if err := r.refresh(wctx); err != nil && wctx.Err() == nil {
				r.log.Warn("key ring: reload failed; retrying", "err", err.Error())
			}
		}
	}()
	return r, nil
}

// Close stops following the ring.
func (r *Ring) Close() error {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
	return nil
}

// listen holds one PostgreSQL connection LISTENing on NotifyChannel and
// wakes the reloader on every notification; it reconnects after a failure
// (the poll covers the gap).
func (r *Ring) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := func() error {
			cfg, err := pgxpool.ParseConfig(r.s.dsn)
			if err != nil {
				return err
			}
			conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
			if err != nil {
				return err
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
				return err
			}
			// A change between the last load and LISTEN is caught here.
			select {
			case wake <- struct{}{}:
			default:
			}
			for {
				if _, err := conn.WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("key ring: LISTEN connection lost; polling meanwhile", "err", err.Error(), "poll", r.poll.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.poll):
		}
	}
}

// refresh reloads when the version moved or the last load failed.
func (r *Ring) refresh(ctx context.Context) error {
	v, err := r.s.Version(ctx)
	if err != nil {
		return err
	}
	r.mu.RLock()
	same := v == r.version && r.err == nil
	r.mu.RUnlock()
	if same {
		return nil
	}
	return r.Reload(ctx)
}

// Reload rereads the ring now.
func (r *Ring) Reload(ctx context.Context) error {
	tx, err := r.s.db.BeginTx(ctx, r.s.snapshotOpts())
	if err != nil {
		return fmt.Errorf("keydb: reload: %w", err)
	}
	defer tx.Rollback()
	var v int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM keyring_state WHERE id = 1`).Scan(&v); err != nil {
		return fmt.Errorf("keydb: reload: %w", err)
	}
	rows, err := r.s.rows(ctx, tx)
	if err != nil {
		return err
	}
	_ = tx.Rollback()
	var public []keys.JWK
	var signer *keys.PrivateKey
	var kerr error = newErr(CodeNoActiveKey, "the key ring has no active key; run 'shc-issuer keys rotate'", nil)
	for _, row := range rows {
		if row.Status != keys.StatusActive && row.Status != keys.StatusPublished {
			continue
		}
		var j keys.JWK
		if err := json.Unmarshal(row.public, &j); err != nil || j.Kid != row.Kid {
			return newErr(CodeSealBroken, "public key of "+row.Kid+" is damaged", err)
		}
		if _, err := j.CheckSigning(); err != nil {
			return newErr(CodeSealBroken, "public key of "+row.Kid+" is damaged", err)
		}
		j.CRLVersion = nil
		public = append(public, j)
		if row.Status == keys.StatusActive {
			signer, kerr = r.s.openKey(row.Kid, row.sealed)
		}
	}
	r.mu.Lock()
	r.version, r.public, r.signer, r.err = v, public, signer, kerr
	r.mu.Unlock()
	select {
	case r.loaded <- struct{}{}:
	default:
	}
	if kerr != nil && keys.CodeOf(kerr) != CodeNoActiveKey {
		return kerr
	}
	return nil
}

// Version returns the ring version the replica serves.
func (r *Ring) Version() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.version
}

// Active returns the signing key, or the reason there is none.
func (r *Ring) Active() (keys.Signer, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.err != nil {
		return nil, r.err
	}
	return r.signer, nil
}

// PublicJWKS returns the active and published keys in creation order, each
// with crlVersion(kid) when crlVersion is not nil (KEY-9..KEY-11).
func (r *Ring) PublicJWKS(crlVersion func(kid string) int) keys.JWKS {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := keys.JWKS{Keys: make([]keys.JWK, 0, len(r.public))}
	for _, j := range r.public {
		if crlVersion != nil {
			v := crlVersion(j.Kid)
			j.CRLVersion = &v
		}
		out.Keys = append(out.Keys, j)
	}
	return out
}

func (s *Store) snapshotOpts() *sql.TxOptions {
	if s.d == sqldb.PostgreSQL {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return nil
}
