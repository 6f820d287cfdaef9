//go:build !unix

package wallet

const noFollow = 0

// lock is a no-op where flock is not available: run one wallet command at
// a time there.
func (w *Wallet) lock() (func(), error) { return func() {}, nil }
