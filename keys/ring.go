package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// KeyStatus is the life-cycle state of a key in a Ring (KEY-8..KEY-10).
type KeyStatus string

const (
	// StatusActive: the one key that signs; published in the JWKS.
	StatusActive KeyStatus = "active"
	// StatusPublished: rotated out, no longer signs, still published so that
	// cards it signed keep verifying (KEY-9).
	StatusPublished KeyStatus = "published"
	// StatusRetired: removed from the JWKS, private key destroyed (KEY-9).
	StatusRetired KeyStatus = "retired"
	// StatusCompromised: removed from the JWKS at once, private key
	// destroyed (KEY-10).
	StatusCompromised KeyStatus = "compromised"
)

// RingEntry describes one key of a Ring, as stored in its manifest.
type RingEntry struct {
	Kid     string    `json:"kid"`
	Status  KeyStatus `json:"status"`
	Created time.Time `json:"created"`
	// Deactivated is when the key stopped signing (rotation, compromise).
	Deactivated *time.Time `json:"deactivated,omitempty"`
	// Removed is when the key left the published JWKS (retire, compromise).
	Removed *time.Time `json:"removed,omitempty"`
}

// Ring bounds.
const (
	MaxRingKeys      = 256
	maxManifestBytes = 1 << 20
	manifestName     = "ring.json"
	manifestVersion  = 1
	keyFileSuffix    = ".jwk"
)

type manifest struct {
	Version int         `json:"version"`
	Keys    []RingEntry `json:"keys"`
}

// Ring is a directory of issuer keys with one active signer, for key
// rotation. The directory holds ring.json (the manifest: kid, status and
// times of every key ever in the ring) and one private key file
// "<kid>.jwk" per key that still has private material (active and
// published keys), encrypted when the ring has a passphrase.
//
// Every change writes files atomically (temporary file, fsync, rename,
// fsync of the directory); the manifest is written before a private key
// file is destroyed, and OpenRing finishes an interrupted destruction.
//
// A Ring is safe for concurrent use by one process. Two processes changing
// the same directory at once are not coordinated: run rotations from one
// place and reopen the ring elsewhere.
type Ring struct {
	dir        string
	passphrase []byte
	now        func() time.Time
	writeCount int // PBES2 count of new key files
	minCount   int // lowest PBES2 count accepted when reading

	mu      sync.Mutex
	entries []RingEntry            // manifest order = creation order
	keys    map[string]*PrivateKey // active and published keys
}

// RingOption configures OpenRing.
type RingOption func(*Ring)

// WithClock sets the clock used for the manifest's times (default time.Now).
func WithClock(now func() time.Time) RingOption { return func(r *Ring) { r.now = now } }

// WithTestWorkFactor makes the ring write new encrypted key files with
// TestPBES2Count PBKDF2 iterations instead of DefaultPBES2Count, and accept
// files down to TestPBES2Count when reading. It is for test suites only.
//
// # Security considerations
//
// A file written under this option falls to a passphrase guess in
// microseconds. It is an explicit option rather than an environment
// variable so that nothing outside the program's own code can switch it on,
// and a ring opened without it refuses such files (CodeBadPBES2Count): a
// test key directory copied into a deployment fails to open instead of
// protecting real keys weakly. The commands in this module never pass it;
// their tests do, through a hook set only in _test.go files.
func WithTestWorkFactor() RingOption {
	return func(r *Ring) { r.writeCount, r.minCount = TestPBES2Count, TestPBES2Count }
}

// OpenRing opens the ring in dir, creating the directory (mode 0700) and an
// empty ring if needed. An existing directory that group or others may
// write is refused. With a non-empty passphrase every key file must be
// encrypted with it, and new key files are; with an empty one every key
// file must be plaintext. Every active and published key is loaded and
// checked against its kid, so a damaged ring fails here rather than later.
func OpenRing(dir string, passphrase []byte, opts ...RingOption) (*Ring, error) {
	r := &Ring{dir: dir, passphrase: append([]byte(nil), passphrase...), now: time.Now, keys: map[string]*PrivateKey{},
		writeCount: pbes2WriteCount, minCount: MinPBES2Count}
	for _, o := range opts {
		o(r)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, newErr(CodeIO, "", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, newErr(CodeIO, "", err)
	}
	if !st.IsDir() {
		return nil, newErr(CodeIO, dir+" is not a directory", nil)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return nil, newErr(CodeIO, fmt.Sprintf("key ring directory %s is writable by group or others (mode %v)", dir, st.Mode().Perm()), nil)
	}
	m, err := r.readManifest()
	if err != nil {
		return nil, err
	}
	for _, e := range m.Keys {
		switch e.Status {
		case StatusActive, StatusPublished:
			k, err := readPrivateFile(r.keyPath(e.Kid), r.passphrase, e.Kid, r.minCount)
			if err != nil {
				return nil, fmt.Errorf("keys: ring key %s: %w", e.Kid, err)
			}
			r.keys[e.Kid] = k
		default:
			// Finish a destruction that a crash interrupted.
			if err := destroyFile(r.keyPath(e.Kid)); err != nil {
				return nil, err
			}
		}
	}
	r.entries = m.Keys
	return r, nil
}

func (r *Ring) keyPath(kid string) string { return filepath.Join(r.dir, kid+keyFileSuffix) }

func (r *Ring) readManifest() (manifest, error) {
	data, err := readBounded(filepath.Join(r.dir, manifestName), maxManifestBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return manifest{Version: manifestVersion}, nil
	}
	if err != nil {
		return manifest{}, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return manifest{}, newErr(CodeMalformed, "ring manifest is not valid JSON", err)
	}
	if m.Version != manifestVersion {
		return manifest{}, newErr(CodeMalformed, fmt.Sprintf("ring manifest version %d, want %d", m.Version, manifestVersion), nil)
	}
	if len(m.Keys) > MaxRingKeys {
		return manifest{}, newErr(CodeTooLarge, fmt.Sprintf("ring has %d keys, limit %d", len(m.Keys), MaxRingKeys), nil)
	}
	seen := map[string]bool{}
	active := 0
	for _, e := range m.Keys {
		if !validKid(e.Kid) {
			return manifest{}, newErr(CodeMalformed, fmt.Sprintf("ring manifest has an invalid kid %q", e.Kid), nil)
		}
		if seen[e.Kid] {
			return manifest{}, newErr(CodeMalformed, fmt.Sprintf("ring manifest lists kid %q twice", e.Kid), nil)
		}
		seen[e.Kid] = true
		switch e.Status {
		case StatusActive:
			active++
		case StatusPublished, StatusRetired, StatusCompromised:
		default:
			return manifest{}, newErr(CodeMalformed, fmt.Sprintf("ring manifest: key %s has unknown status %q", e.Kid, e.Status), nil)
		}
	}
	if active > 1 {
		return manifest{}, newErr(CodeMalformed, fmt.Sprintf("ring manifest has %d active keys", active), nil)
	}
	return m, nil
}

// validKid accepts exactly the shape of an RFC 7638 SHA-256 thumbprint
// (43 base64url characters). It also keeps manifest kids from naming paths.
func validKid(kid string) bool {
	if len(kid) != 43 {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// writeManifest persists entries; callers hold r.mu and update r.entries
// only after it succeeds.
func (r *Ring) writeManifest(entries []RingEntry) error {
	data, err := json.MarshalIndent(manifest{Version: manifestVersion, Keys: entries}, "", "  ")
	if err != nil {
		return newErr(CodeMalformed, "encoding ring manifest", err)
	}
	return writeFileAtomic(filepath.Join(r.dir, manifestName), data, 0o600)
}

func (r *Ring) find(kid string) int {
	for i, e := range r.entries {
		if e.Kid == kid {
			return i
		}
	}
	return -1
}

// Rotate generates a new key and makes it the active signer. The previous
// active key becomes StatusPublished: it stops signing but stays in the
// JWKS (KEY-9). Rotate at least once a year (KEY-8).
func (r *Ring) Rotate() (Signer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.entries) >= MaxRingKeys {
		return nil, newErr(CodeTooLarge, fmt.Sprintf("ring already has %d keys", len(r.entries)), nil)
	}
	priv, err := Generate()
	if err != nil {
		return nil, err
	}
	k, err := NewPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	// The key file first: a crash before the manifest write leaves an
	// unreferenced file, never a manifest entry without its key.
	if err := writePrivateFile(r.keyPath(k.KeyID()), k, r.passphrase, r.writeCount); err != nil {
		return nil, err
	}
	now := r.now().UTC()
	entries := append([]RingEntry(nil), r.entries...)
	for i := range entries {
		if entries[i].Status == StatusActive {
			entries[i].Status = StatusPublished
			entries[i].Deactivated = &now
		}
	}
	entries = append(entries, RingEntry{Kid: k.KeyID(), Status: StatusActive, Created: now})
	if err := r.writeManifest(entries); err != nil {
		_ = destroyFile(r.keyPath(k.KeyID()))
		return nil, err
	}
	r.entries = entries
	r.keys[k.KeyID()] = k
	return k, nil
}

// Retire removes a published (rotated-out) key from the JWKS and destroys
// its private key file (KEY-9). The active key cannot be retired: rotate
// first. Retire only once the cards the key signed are no longer clinically
// relevant.
func (r *Ring) Retire(kid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.find(kid)
	if i < 0 {
		return newErr(CodeKeyNotFound, fmt.Sprintf("no key %q in the ring", kid), nil)
	}
	switch r.entries[i].Status {
	case StatusPublished:
	case StatusActive:
		return newErr(CodeRingState, fmt.Sprintf("key %s is the active signer; rotate before retiring it", kid), nil)
	default:
		return newErr(CodeRingState, fmt.Sprintf("key %s is already %s", kid, r.entries[i].Status), nil)
	}
	return r.remove(i, StatusRetired)
}

// Compromised handles a leaked key (KEY-10): it is removed from the
// published JWKS at once and its private key file is destroyed, so cards it
// signed stop verifying. If it was the active key the ring has no signer
// until the next Rotate; Active then fails with ErrNoActiveKey rather than
// sign with a compromised key. Marking a retired key compromised records it;
// marking a compromised key again does nothing. Certificates bound to the
// key (x5c) must be revoked separately.
func (r *Ring) Compromised(kid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.find(kid)
	if i < 0 {
		return newErr(CodeKeyNotFound, fmt.Sprintf("no key %q in the ring", kid), nil)
	}
	if r.entries[i].Status == StatusCompromised {
		return nil
	}
	return r.remove(i, StatusCompromised)
}

// remove moves entry i to a non-published status, persists the manifest,
// then destroys the private key file. Callers hold r.mu.
func (r *Ring) remove(i int, to KeyStatus) error {
	now := r.now().UTC()
	entries := append([]RingEntry(nil), r.entries...)
	e := &entries[i]
	if e.Status == StatusActive {
		e.Deactivated = &now
	}
	if e.Status == StatusActive || e.Status == StatusPublished {
		e.Removed = &now
	}
	e.Status = to
	if err := r.writeManifest(entries); err != nil {
		return err
	}
	r.entries = entries
	delete(r.keys, e.Kid)
	return destroyFile(r.keyPath(e.Kid))
}

// List returns every key of the ring in creation order.
func (r *Ring) List() []RingEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RingEntry, len(r.entries))
	copy(out, r.entries)
	return out
}

// Key returns the private key of an active or published key, for moving a
// ring elsewhere (shc-issuer migrate-keys).
func (r *Ring) Key(kid string) (*PrivateKey, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.keys[kid]
	return k, ok
}

// Active returns the signing key, or ErrNoActiveKey when the ring is empty
// or its active key was marked compromised.
func (r *Ring) Active() (Signer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.Status == StatusActive {
			return r.keys[e.Kid], nil
		}
	}
	return nil, newErr(CodeNoActiveKey, "the key ring has no active key; run a rotation", nil)
}

// PublicJWKS returns the JWKS to publish: the active and published keys in
// creation order, never retired or compromised ones (KEY-9, KEY-10), and
// never "d". If crlVersion is not nil, every key carries crlVersion(kid)
// (KEY-11).
func (r *Ring) PublicJWKS(crlVersion func(kid string) int) JWKS {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := JWKS{Keys: []JWK{}}
	for _, e := range r.entries {
		k, ok := r.keys[e.Kid]
		if !ok {
			continue
		}
		j := k.PublicJWK()
		if crlVersion != nil {
			v := crlVersion(e.Kid)
			j.CRLVersion = &v
		}
		s.Keys = append(s.Keys, j)
	}
	return s
}

// destroyFile overwrites a key file with zeros, syncs it and removes it. A
// missing file is not an error. See the package doc for what overwriting
// can and cannot guarantee.
func destroyFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return newErr(CodeIO, "", err)
	}
	st, err := f.Stat()
	if err == nil {
		_, err = f.WriteAt(make([]byte, st.Size()), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return newErr(CodeIO, "overwriting "+path, err)
	}
	if err := os.Remove(path); err != nil {
		return newErr(CodeIO, "", err)
	}
	return syncDir(filepath.Dir(path))
}
