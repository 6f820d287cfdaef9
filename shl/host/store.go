package host

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Store errors. Implementations must return errors wrapping these.
var (
	ErrStoreNotFound = errors.New("shl: store: link not found")
	ErrStoreConflict = errors.New("shl: store: link id already exists")
)

// StoredLink is the server-side record of one link. It holds the link's key
// and the encrypted files: a Store must protect it as secret data (at rest
// encryption, access control), although the files are stored only as JWE.
type StoredLink struct {
	ID    string // manifest id: 43 base64url characters, 256 random bits (SHL-4)
	Owner string // opaque reference for the issuer's management API
	Key   string // payload key, base64url (secret)
	Flag  string // L, P, U in alphabetical order
	Label string
	// Exp is the expiry; the zero time means none.
	Exp time.Time
	// PasscodeHash is an argon2id hash ("" when the link has no passcode).
	PasscodeHash string
	// FailuresLeft is the lifetime budget of wrong passcodes (SHL-10).
	FailuresLeft int
	Revoked      bool
	Created      time.Time
	Files        []StoredFile
}

// StoredFile is one file of a link, already encrypted.
type StoredFile struct {
	ContentType string
	JWE         string // compact JWE (dir, A256GCM), SHL-17
	LastUpdated time.Time
	FHIRVersion string
}

// AccessEvent is one entry of a link's access log. It holds the time, the
// recipient string the requester sent (SHL-9) and the outcome; nothing else
// about the requester (no IP address, no passcode) is recorded.
type AccessEvent struct {
	Time      time.Time `json:"time"`
	Recipient string    `json:"recipient"`
	Outcome   string    `json:"outcome"`
}

// Access outcomes.
const (
	OutcomeOK              = "ok"
	OutcomePasscodeMissing = "passcode_missing"
	OutcomePasscodeWrong   = "passcode_wrong"
	OutcomeLocked          = "locked"
)

// Store persists links for a Host. It is deliberately small so that a
// SQLite or PostgreSQL table can back it. All methods take ctx first and
// must be safe for concurrent use.
type Store interface {
	// Create stores a new link. It returns an error wrapping
	// ErrStoreConflict if the ID exists. It must be atomic (one INSERT).
	Create(ctx context.Context, l *StoredLink) error
	// Get returns a copy of the link, or an error wrapping ErrStoreNotFound.
	// A plain read is enough; decisions that must not race use Update.
	Get(ctx context.Context, id string) (*StoredLink, error)
	// Update runs fn on the current record and stores the result atomically:
	// for one id, Update calls are serialized (no lost updates, no two fn
	// seeing the same FailuresLeft). In SQL: one transaction with
	// SELECT ... FOR UPDATE (PostgreSQL) or BEGIN IMMEDIATE (SQLite). If fn
	// returns an error nothing is stored and Update returns that error. fn
	// is cheap and does no I/O. Unknown id: an error wrapping ErrStoreNotFound.
	Update(ctx context.Context, id string, fn func(*StoredLink) error) error
	// AppendAccess appends one entry to the link's access log (a single
	// INSERT; no ordering guarantee between concurrent appends beyond Time).
	// A store may cap the log, dropping the oldest entries.
	AppendAccess(ctx context.Context, id string, e AccessEvent) error
	// AccessLog returns the link's log, oldest first.
	AccessLog(ctx context.Context, id string) ([]AccessEvent, error)
}

// MemoryStore is an in-memory Store for tests and single-process use. Its
// access log keeps the newest MaxLog entries per link (0 → 1000).
type MemoryStore struct {
	MaxLog int

	mu    sync.Mutex
	links map[string]*StoredLink
	logs  map[string][]AccessEvent
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

func copyLink(l *StoredLink) *StoredLink {
	c := *l
	c.Files = slices.Clone(l.Files)
	return &c
}

// Create implements Store.
func (s *MemoryStore) Create(_ context.Context, l *StoredLink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.links == nil {
		s.links = map[string]*StoredLink{}
		s.logs = map[string][]AccessEvent{}
	}
	if _, ok := s.links[l.ID]; ok {
		return ErrStoreConflict
	}
	s.links[l.ID] = copyLink(l)
	return nil
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, id string) (*StoredLink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[id]
	if !ok {
		return nil, ErrStoreNotFound
	}
	return copyLink(l), nil
}

// Update implements Store; one mutex serializes all updates.
func (s *MemoryStore) Update(_ context.Context, id string, fn func(*StoredLink) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[id]
	if !ok {
		return ErrStoreNotFound
	}
	c := copyLink(l)
	if err := fn(c); err != nil {
		return err
	}
	c.ID = id
	s.links[id] = c
	return nil
}

// AppendAccess implements Store.
func (s *MemoryStore) AppendAccess(_ context.Context, id string, e AccessEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.links[id]; !ok {
		return ErrStoreNotFound
	}
	max := s.MaxLog
	if max <= 0 {
		max = 1000
	}
	log := append(s.logs[id], e)
	if len(log) > max {
		log = slices.Clone(log[len(log)-max:])
	}
	s.logs[id] = log
	return nil
}

// AccessLog implements Store.
func (s *MemoryStore) AccessLog(_ context.Context, id string) ([]AccessEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.links[id]; !ok {
		return nil, ErrStoreNotFound
	}
	return slices.Clone(s.logs[id]), nil
}
