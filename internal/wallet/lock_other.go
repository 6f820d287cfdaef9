//go:build !unix

package wallet

const noFollow = 0

// unixFS is false here: the private-folder checks read Unix mode bits and
// the lock is flock, neither of which holds on this system, so Open refuses
// (wallet_unsupported_platform) rather than pretend.
const unixFS = false

// lock is never reached (Open refuses first); it fails closed all the same.
func (w *Wallet) lock() (func(), error) { return nil, errNeedsUnix() }
