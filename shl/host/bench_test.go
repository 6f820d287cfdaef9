package host

import "testing"

// go test ./shl/host -run '^$' -bench . -benchmem
// The cost an attacker pays per passcode guess, and the server per check.
func BenchmarkPasscodeVerify(b *testing.B) {
	h, _ := hashPasscode("correct horse")
	for b.Loop() {
		verifyPasscode(h, "wrong")
	}
}
