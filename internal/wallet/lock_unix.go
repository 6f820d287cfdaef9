//go:build unix

package wallet

import (
	"os"
	"path/filepath"
	"syscall"
)

const noFollow = syscall.O_NOFOLLOW

// unixFS: the folder's privacy is Unix mode bits, the lock is flock.
const unixFS = true

// lock takes the wallet's exclusive lock (flock on DIR/.lock) so that two
// imports never use the same refresh token; the returned function releases
// it.
func (w *Wallet) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(w.dir, lockFile), os.O_RDWR|os.O_CREATE|noFollow, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
