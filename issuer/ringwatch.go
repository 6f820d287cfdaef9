package issuer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/healthcards/healthcards/keys"
)

// ringManifest is the file a keys.Ring rewrites (atomically, by rename) on
// every rotate, retire and compromise.
const ringManifest = "ring.json"

// WatchedRing is a KeySet over a key-ring directory that follows changes
// made by other processes, such as `shc-issuer keys rotate|retire|
// compromised` run by an operator while the service runs.
//
// On every Active and PublicJWKS call it stats the ring's manifest (one
// stat system call, no read) and, when the file's identity, size or
// modification time changed, reopens the ring before answering. A key
// marked compromised therefore leaves the published JWKS on the very next
// request (KEY-10), and after a rotation the next card is signed by the new
// active key, with no restart, signal or admin call. Reload forces a reread
// (the service also calls it on SIGHUP).
//
// # Security considerations
//
// Reloading fails closed: if the changed ring cannot be opened (a key file
// unreadable, a damaged manifest), Active refuses to sign and PublicJWKS
// publishes only keys that the new manifest still lists as active or
// published (none if the manifest itself is unreadable), until a reload
// succeeds; every later call retries. A reload decrypts every key file
// (PBES2), so it holds callers for as long as that takes; key changes are
// rare.
type WatchedRing struct {
	dir        string
	passphrase []byte
	opts       []keys.RingOption

	mu    sync.Mutex
	ring  *keys.Ring
	stamp ringStamp
	err   error // last reload failure; nil when ring is current
}

var _ KeySet = (*WatchedRing)(nil)

// ringStamp identifies one version of the manifest file.
type ringStamp struct {
	exists      bool
	dev, ino    uint64
	size        int64
	mtime       time.Time
	statFailure bool
}

func statRing(dir string) ringStamp {
	fi, err := os.Stat(filepath.Join(dir, ringManifest))
	if errors.Is(err, fs.ErrNotExist) {
		return ringStamp{}
	}
	if err != nil {
		return ringStamp{statFailure: true}
	}
	s := ringStamp{exists: true, size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), uint64(st.Ino)
	}
	return s
}

// OpenWatchedRing opens the ring in dir (see keys.OpenRing) and watches it.
func OpenWatchedRing(dir string, passphrase []byte, opts ...keys.RingOption) (*WatchedRing, error) {
	w := &WatchedRing{dir: dir, passphrase: append([]byte(nil), passphrase...), opts: opts}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.reloadLocked(); err != nil {
		return nil, err
	}
	return w, nil
}

// reloadLocked reopens the ring. A concurrent writer may be between its
// manifest write and a key file's destruction, so an attempt that fails is
// retried a few times before the failure is kept.
func (w *WatchedRing) reloadLocked() error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		stamp := statRing(w.dir)
		var r *keys.Ring
		r, err = keys.OpenRing(w.dir, w.passphrase, w.opts...)
		if err == nil {
			w.ring, w.stamp, w.err = r, stamp, nil
			return nil
		}
	}
	w.err = err
	return err
}

// refreshLocked reloads when the manifest changed or the last reload failed.
func (w *WatchedRing) refreshLocked() {
	if w.err == nil && statRing(w.dir) == w.stamp {
		return
	}
	_ = w.reloadLocked()
}

// Reload rereads the ring now.
func (w *WatchedRing) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reloadLocked()
}

// Ring returns the current ring (reloaded if it changed), for listing.
func (w *WatchedRing) Ring() (*keys.Ring, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refreshLocked()
	return w.ring, w.err
}

// Active returns the active key of the current ring. After a failed
// reload it refuses to sign.
func (w *WatchedRing) Active() (keys.Signer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refreshLocked()
	if w.err != nil {
		return nil, fmt.Errorf("the key ring changed and cannot be reloaded: %w", w.err)
	}
	return w.ring.Active()
}

// PublicJWKS returns the current ring's published keys. After a failed
// reload it publishes the last good ring's keys that the manifest on disk
// still lists as active or published.
func (w *WatchedRing) PublicJWKS(crlVersion func(kid string) int) keys.JWKS {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refreshLocked()
	set := w.ring.PublicJWKS(crlVersion)
	if w.err == nil {
		return set
	}
	ok := publishedInManifest(w.dir)
	out := keys.JWKS{Keys: []keys.JWK{}}
	for _, k := range set.Keys {
		if ok[k.Kid] {
			out.Keys = append(out.Keys, k)
		}
	}
	return out
}

// publishedInManifest reads the kids the manifest lists as active or
// published; an unreadable manifest gives none.
func publishedInManifest(dir string) map[string]bool {
	out := map[string]bool{}
	f, err := os.Open(filepath.Join(dir, ringManifest))
	if err != nil {
		return out
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return out
	}
	var m struct {
		Keys []struct {
			Kid    string         `json:"kid"`
			Status keys.KeyStatus `json:"status"`
		} `json:"keys"`
	}
	if json.Unmarshal(b, &m) != nil {
		return out
	}
	for _, k := range m.Keys {
		if k.Status == keys.StatusActive || k.Status == keys.StatusPublished {
			out[k.Kid] = true
		}
	}
	return out
}
