package bulk

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer"
)

// One patient whose records are many times the bundle limit: resources
// stops reading once their bytes pass the limit and reports too_large,
// so the memory it allocates stays near the limit instead of growing
// with the patient's records (24 × 900 KB here; 300 × 0.9 MB took 1.25 GB
// of RSS before). Measured with runtime.MemStats.TotalAlloc, not time.
func TestResourcesStopAtBundleLimit(t *testing.T) {
	ctx := context.Background()
	ix, err := openIndex(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	const records, size = 24, 900 << 10
	l := &loader{ctx: ctx, ix: ix}
	for i := range records {
		raw := fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","subject":{"reference":"Patient/big"},"note":[{"text":"%s"}]}`,
			i, strings.Repeat("x", size))
		if err := l.resource("big", "Observation", fmt.Sprintf("o%d", i), []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	const limit = issuer.DefaultMaxBundleBytes
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rs, err := ix.resources(ctx, "big", limit)
	runtime.ReadMemStats(&after)
	if issuer.CodeOf(err) != CodeTooLarge || rs != nil {
		t.Fatalf("got %d records, err %v; want too_large", len(rs), err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB reading a patient with %d KiB of records (limit %d KiB)", alloc>>10, records*size>>10, limit>>10)
	// The limit plus one record, each copied by the driver and by Scan,
	// with room to spare; without the bound this is over 40 MiB.
	if bound := uint64(4*(limit+MaxRecordBytes)) + 1<<20; alloc > bound {
		t.Fatalf("allocated %d bytes reading one patient; want at most %d", alloc, bound)
	}

	// Under the limit every record comes back, in input order.
	for i := range 3 {
		raw := fmt.Sprintf(`{"resourceType":"Observation","id":"s%d","subject":{"reference":"Patient/small"}}`, i)
		if err := l.resource("small", "Observation", fmt.Sprintf("s%d", i), []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	rs, err = ix.resources(ctx, "small", limit)
	if err != nil || len(rs) != 3 || !strings.Contains(string(rs[2]), `"s2"`) {
		t.Fatalf("got %d records, err %v", len(rs), err)
	}
}
