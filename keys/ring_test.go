package keys

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var ringT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func openRing(t *testing.T, dir string, pass []byte) *Ring {
	t.Helper()
	r, err := OpenRing(dir, pass, WithClock(func() time.Time { return ringT0 }))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rotate(t *testing.T, r *Ring) string {
	t.Helper()
	s, err := r.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	return s.KeyID()
}

func jwksKids(s JWKS) []string {
	var ks []string
	for _, k := range s.Keys {
		ks = append(ks, k.Kid)
	}
	return ks
}

func statuses(r *Ring) map[string]KeyStatus {
	m := map[string]KeyStatus{}
	for _, e := range r.List() {
		m[e.Kid] = e.Status
	}
	return m
}

func fileExists(t *testing.T, p string) bool {
	t.Helper()
	_, err := os.Stat(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// TestRing_Lifecycle_KEY8_KEY9_KEY10 walks rotate, retire and compromise,
// checking the signer, the published JWKS and the key files at each step.
func TestRing_Lifecycle_KEY8_KEY9_KEY10(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ring")
	r := openRing(t, dir, nil)
	_, err := r.Active()
	wantCode(t, err, ErrNoActiveKey)
	if n := len(r.PublicJWKS(nil).Keys); n != 0 {
		t.Fatalf("empty ring publishes %d keys", n)
	}

	k1 := rotate(t, r)
	k2 := rotate(t, r)
	a, err := r.Active()
	if err != nil || a.KeyID() != k2 {
		t.Fatalf("Active = %v, %v; want %s", a, err, k2)
	}
	signAndVerify(t, a, a.Public().(*ecdsa.PublicKey))
	if got := jwksKids(r.PublicJWKS(nil)); !equalStrings(got, []string{k1, k2}) {
		t.Fatalf("JWKS kids %v, want old and new", got)
	}
	if st := statuses(r); st[k1] != StatusPublished || st[k2] != StatusActive {
		t.Fatalf("statuses %v", st)
	}

	// The active key cannot be retired.
	wantCode(t, r.Retire(k2), ErrRingState)
	wantCode(t, r.Retire("unknown"), ErrKeyNotFound)

	// Retire: gone from the JWKS, private key destroyed (KEY-9).
	if err := r.Retire(k1); err != nil {
		t.Fatal(err)
	}
	if fileExists(t, r.keyPath(k1)) {
		t.Fatal("retired key file still exists")
	}
	if got := jwksKids(r.PublicJWKS(nil)); !equalStrings(got, []string{k2}) {
		t.Fatalf("JWKS after retire %v", got)
	}
	wantCode(t, r.Retire(k1), ErrRingState)

	// Compromise of the active key: unpublished at once and no signer (KEY-10).
	k3 := rotate(t, r)
	if err := r.Compromised(k3); err != nil {
		t.Fatal(err)
	}
	if fileExists(t, r.keyPath(k3)) {
		t.Fatal("compromised key file still exists")
	}
	if got := jwksKids(r.PublicJWKS(nil)); !equalStrings(got, []string{k2}) {
		t.Fatalf("JWKS after compromise %v, want only %s", got, k2)
	}
	_, err = r.Active()
	wantCode(t, err, ErrNoActiveKey)
	if err := r.Compromised(k3); err != nil {
		t.Fatalf("second Compromised: %v", err)
	}
	// A published key can be compromised too; a retired one is re-labelled.
	if err := r.Compromised(k2); err != nil {
		t.Fatal(err)
	}
	if err := r.Compromised(k1); err != nil {
		t.Fatal(err)
	}
	if n := len(r.PublicJWKS(nil).Keys); n != 0 {
		t.Fatalf("JWKS still has %d keys", n)
	}
	for _, e := range r.List() {
		if e.Status != StatusCompromised || e.Removed == nil || !e.Created.Equal(ringT0) {
			t.Fatalf("entry %+v", e)
		}
	}
	k4 := rotate(t, r)
	if a, err := r.Active(); err != nil || a.KeyID() != k4 {
		t.Fatalf("Active after new rotation: %v %v", a, err)
	}
}

func TestRing_PersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	r := openRing(t, dir, nil)
	k1 := rotate(t, r)
	k2 := rotate(t, r)
	k3 := rotate(t, r)
	if err := r.Retire(k1); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(r.List())
	jwksBefore, _ := json.Marshal(r.PublicJWKS(nil))

	r2 := openRing(t, dir, nil)
	after, _ := json.Marshal(r2.List())
	jwksAfter, _ := json.Marshal(r2.PublicJWKS(nil))
	if !bytes.Equal(before, after) || !bytes.Equal(jwksBefore, jwksAfter) {
		t.Fatalf("reopened ring differs:\n%s\n%s", before, after)
	}
	a, err := r2.Active()
	if err != nil || a.KeyID() != k3 {
		t.Fatalf("Active after reopen %v %v", a, err)
	}
	if st := statuses(r2); st[k1] != StatusRetired || st[k2] != StatusPublished {
		t.Fatalf("statuses after reopen %v", st)
	}
	for _, p := range []string{filepath.Join(dir, manifestName), r.keyPath(k2), r.keyPath(k3)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", p, st.Mode().Perm())
		}
	}
}

func TestRing_Encrypted(t *testing.T) {
	fastPBES2(t)
	dir := t.TempDir()
	pass := []byte("ring passphrase")
	r := openRing(t, dir, pass)
	kid := rotate(t, r)
	data, err := os.ReadFile(r.keyPath(kid))
	if err != nil {
		t.Fatal(err)
	}
	if !isCompactJWE(data) {
		t.Fatal("ring key file is not encrypted")
	}
	_, err = OpenRing(dir, nil)
	wantCode(t, err, ErrPassphraseRequired)
	_, err = OpenRing(dir, []byte("wrong"))
	wantCode(t, err, ErrDecrypt)
	r2 := openRing(t, dir, pass)
	if a, err := r2.Active(); err != nil || a.KeyID() != kid {
		t.Fatalf("Active %v %v", a, err)
	}
}

// TestRing_PublicJWKS_KEY11_NoD: every key carries crlVersion when asked, and
// the JSON never contains "d".
func TestRing_PublicJWKS_KEY11_NoD(t *testing.T) {
	r := openRing(t, t.TempDir(), nil)
	k1 := rotate(t, r)
	k2 := rotate(t, r)
	versions := map[string]int{k1: 3, k2: 0}
	s := r.PublicJWKS(func(kid string) int { return versions[kid] })
	for _, k := range s.Keys {
		if k.CRLVersion == nil || *k.CRLVersion != versions[k.Kid] {
			t.Fatalf("kid %s crlVersion %v", k.Kid, k.CRLVersion)
		}
		if _, err := k.CheckSigning(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"d"`)) {
		t.Fatalf("public JWKS contains d: %s", b)
	}
	if !bytes.Contains(b, []byte(`"crlVersion":0`)) {
		t.Fatalf("crlVersion 0 must be published, not omitted: %s", b)
	}
}

func writeManifestRaw(t *testing.T, dir string, m any) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, manifestName), mustJSON(t, m), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRing_RejectsBadManifest(t *testing.T) {
	valid := "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
	other := "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw"
	entry := func(kid string, s KeyStatus) map[string]any {
		return map[string]any{"kid": kid, "status": s, "created": ringT0}
	}
	tests := []struct {
		name string
		m    any
		want *Error
	}{
		{"path traversal kid", map[string]any{"version": 1, "keys": []any{entry("../../../../etc/passwd-xxxxxxxxxxxxxxxxxxxxxxx", StatusRetired)}}, ErrMalformed},
		{"two actives", map[string]any{"version": 1, "keys": []any{entry(valid, StatusActive), entry(other, StatusActive)}}, ErrMalformed},
		{"duplicate kid", map[string]any{"version": 1, "keys": []any{entry(valid, StatusRetired), entry(valid, StatusRetired)}}, ErrMalformed},
		{"unknown status", map[string]any{"version": 1, "keys": []any{entry(valid, "sleeping")}}, ErrMalformed},
		{"bad version", map[string]any{"version": 2, "keys": []any{}}, ErrMalformed},
		{"missing key file", map[string]any{"version": 1, "keys": []any{entry(valid, StatusActive)}}, ErrIO},
		{"not JSON", "{", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if s, ok := tc.m.(string); ok {
				if err := os.WriteFile(filepath.Join(dir, manifestName), []byte(s), 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				writeManifestRaw(t, dir, tc.m)
			}
			r, err := OpenRing(dir, nil)
			if r != nil {
				t.Fatal("non-nil ring with error")
			}
			wantCode(t, err, tc.want)
		})
	}
}

// TestRing_KeyFileSwapped: a key file holding another key than its kid is
// refused at open.
func TestRing_KeyFileSwapped(t *testing.T) {
	dir := t.TempDir()
	r := openRing(t, dir, nil)
	kid := rotate(t, r)
	if err := WritePrivateFile(r.keyPath(kid), newTestKey(t), nil); err != nil {
		t.Fatal(err)
	}
	_, err := OpenRing(dir, nil)
	wantCode(t, err, ErrKeyNotFound)
}

func TestRing_FinishesInterruptedDestroy(t *testing.T) {
	dir := t.TempDir()
	r := openRing(t, dir, nil)
	k1 := rotate(t, r)
	rotate(t, r)
	// Simulate a crash after the manifest write and before the file removal.
	data, err := os.ReadFile(r.keyPath(k1))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Retire(k1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.keyPath(k1), data, 0o600); err != nil {
		t.Fatal(err)
	}
	openRing(t, dir, nil)
	if fileExists(t, r.keyPath(k1)) {
		t.Fatal("OpenRing left a retired key file in place")
	}
}

func TestRing_RefusesOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := OpenRing(dir, nil)
	wantCode(t, err, ErrIO)
}

// TestRing_Concurrent exercises the mutex under -race.
func TestRing_Concurrent(t *testing.T) {
	r := openRing(t, t.TempDir(), nil)
	rotate(t, r)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := r.Rotate(); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if _, err := r.Active(); err != nil {
					t.Error(err)
				}
				_ = r.PublicJWKS(nil)
				_ = r.List()
			}
		}()
	}
	wg.Wait()
	active := 0
	for _, e := range r.List() {
		if e.Status == StatusActive {
			active++
		}
	}
	if n := len(r.List()); n != 5 || active != 1 {
		t.Fatalf("%d keys, %d active; want 5 and 1", n, active)
	}
	if n := len(r.PublicJWKS(nil).Keys); n != 5 {
		t.Fatalf("JWKS has %d keys, want 5", n)
	}
}

// WithTestWorkFactor writes TestPBES2Count files and reads them back; a ring
// opened without it refuses them (a test key directory must not pass for a
// protected one), and files written without it keep the real count.
func TestRing_TestWorkFactor(t *testing.T) {
	fastPBES2(t)
	dir := t.TempDir()
	pass := []byte("ring passphrase")
	r, err := OpenRing(dir, pass, WithTestWorkFactor())
	if err != nil {
		t.Fatal(err)
	}
	kid := rotate(t, r)
	data, err := os.ReadFile(r.keyPath(kid))
	if err != nil {
		t.Fatal(err)
	}
	if p2c := jweHeader(t, data)["p2c"]; p2c != float64(TestPBES2Count) {
		t.Fatalf("p2c %v, want %d", p2c, TestPBES2Count)
	}
	if r2, err := OpenRing(dir, pass, WithTestWorkFactor()); err != nil || len(r2.List()) != 1 {
		t.Fatalf("reopen with the test work factor: %v", err)
	}
	_, err = OpenRing(dir, pass)
	wantCode(t, err, ErrBadPBES2Count)
	if _, err := ReadPrivateFile(r.keyPath(kid), pass, kid); CodeOf(err) != CodeBadPBES2Count {
		t.Fatalf("ReadPrivateFile of a test file: %v, want %s", err, CodeBadPBES2Count)
	}
	// The test work factor lowers the floor only: an absurd count is still
	// refused before any key derivation (DoS).
	for _, p2c := range []float64{MaxPBES2Count + 1, 1e12, TestPBES2Count - 1} {
		hdr := jweHeader(t, data)
		hdr["p2c"] = p2c
		if err := os.WriteFile(r.keyPath(kid), withHeader(t, data, hdr), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = OpenRing(dir, pass, WithTestWorkFactor())
		wantCode(t, err, ErrBadPBES2Count)
	}

	dir2 := t.TempDir()
	r3, err := OpenRing(dir2, pass)
	if err != nil {
		t.Fatal(err)
	}
	kid = rotate(t, r3)
	data, err = os.ReadFile(r3.keyPath(kid))
	if err != nil {
		t.Fatal(err)
	}
	if p2c := jweHeader(t, data)["p2c"]; p2c != float64(MinPBES2Count) { // fastPBES2; DefaultPBES2Count otherwise
		t.Fatalf("p2c %v without the option, want %d", p2c, MinPBES2Count)
	}
}
