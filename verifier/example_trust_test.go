package verifier_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/healthcards/healthcards/verifier"
)

// A long-running verifier reloads its trust sources on a schedule of its
// own: Reload reads the files (and fetches the URLs) again and swaps the
// trusted issuers atomically, keeping the key-set and revocation caches;
// a source that fails keeps its last good copy. TrustSources and
// TrustReady report the state for monitoring and readiness.
func ExampleVerifier_Reload() {
	dir, _ := os.MkdirTemp("", "trust")
	defer os.RemoveAll(dir)
	list := filepath.Join(dir, "vci-issuers.json")
	os.WriteFile(list, []byte(`{"participating_issuers":[{"iss":"https://a.example","name":"A"}]}`), 0o600)

	v, err := verifier.New(verifier.WithTrustSource(list), verifier.WithOffline(),
		verifier.WithClock(func() time.Time { return time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) }))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The list gains an issuer; a reload picks it up.
	os.WriteFile(list, []byte(`{"participating_issuers":[{"iss":"https://a.example"},{"iss":"https://b.example"}]}`), 0o600)
	fmt.Println(v.Reload(context.Background()), v.TrustSources()[0].Issuers)

	// A broken copy is refused and the last good one stays in use.
	os.WriteFile(list, []byte(`{"participating_issuers":`), 0o600)
	err = v.Reload(context.Background())
	st := v.TrustSources()[0]
	fmt.Println(verifier.CodeOf(err), st.Loaded, st.Issuers, st.Err != nil)
	fmt.Println(v.TrustReady())
	// Output:
	// <nil> 2
	// bad_config true 2 true
	// <nil>
}
