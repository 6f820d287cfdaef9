package bulk_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
)

const testIss = "https://registry.example.org"

func testKey(t testing.TB) keys.Signer {
	t.Helper()
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), []byte("bulk-test-only-p256-scalar-32byt"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newIssuer is an issuer over a SQLite store in dir (the store the
// service uses by default).
func newIssuer(t testing.TB, dir string) *issuer.Issuer {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	is, err := issuer.New(issuer.Config{
		Iss: testIss, Keys: issuer.StaticKeys{Signer: testKey(t)}, Store: st,
		RIDSecret: "bulk-test-rid-secret-with-32-chars-or-more",
		Now:       func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func readResults(t testing.TB, out string) map[string]bulk.Result {
	t.Helper()
	f, err := os.Open(filepath.Join(out, bulk.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]bulk.Result{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r bulk.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("results line %q: %v", sc.Text(), err)
		}
		if _, dup := got[r.Key]; dup {
			t.Fatalf("results.ndjson has %s twice", r.Key)
		}
		got[r.Key] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func code(r bulk.Result) string {
	if r.Outcome == nil || len(r.Outcome.Issue) == 0 || r.Outcome.Issue[0].Details == nil || len(r.Outcome.Issue[0].Details.Coding) == 0 {
		return ""
	}
	return r.Outcome.Issue[0].Details.Coding[0].Code
}

// verify checks a card's signature with the test key and returns it.
func verify(t testing.TB, jws string) *shc.Card {
	t.Helper()
	c, err := shc.Parse(jws)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifySignature(testKey(t).Public().(*ecdsa.PublicKey)); err != nil {
		t.Fatalf("card does not verify: %v", err)
	}
	return c
}

// A batch with every kind of broken record reports each with its stable
// code in results.ndjson, and every other patient is issued (QR PNG output,
// so cards must fit one QR: SIZE-3).
func TestBrokenRecords(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	const n = 20
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: n, Seed: 7, Broken: true}); err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t, filepath.Join(dir, "store"))
	sum, err := bulk.Run(context.Background(), bulk.Config{Issuer: is, In: in, Out: out, BatchID: "b1",
		Outputs: bulk.Outputs{Card: true, PNG: true}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := readResults(t, out)
	for key, want := range bulk.BrokenPatients {
		r, ok := got[key]
		if !ok {
			t.Errorf("no result for %s", key)
			continue
		}
		if r.Status != bulk.StatusFailed || code(r) != want || len(r.Cards) != 0 {
			t.Errorf("%s: status %s code %q cards %d; want failed %s", key, r.Status, code(r), len(r.Cards), want)
		}
	}
	// The broken records are the last lines of Observation.ndjson.
	obs, err := os.ReadFile(filepath.Join(in, "Observation.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(obs), "\n")
	for i, br := range bulk.BrokenRecords {
		key := fmt.Sprintf("record/Observation.ndjson:%d", lines-len(bulk.BrokenRecords)+1+i)
		if r := got[key]; r.Status != bulk.StatusFailed || code(r) != br.Code {
			t.Errorf("%s: %+v; want failed %s", key, r, br.Code)
		}
	}
	wantLines := n + len(bulk.BrokenPatients) + len(bulk.BrokenRecords)
	if len(got) != wantLines || sum.Total != wantLines {
		t.Errorf("%d result lines, Summary.Total %d; want %d", len(got), sum.Total, wantLines)
	}
	for i := range n {
		key := fmt.Sprintf("patient/p%07d", i)
		r := got[key]
		if r.Status != bulk.StatusIssued || len(r.Cards) == 0 {
			t.Fatalf("%s: %+v; want issued", key, r)
		}
		b, err := os.ReadFile(filepath.Join(out, r.File))
		if err != nil {
			t.Fatal(err)
		}
		jws, err := shc.ParseFile(b)
		if err != nil || len(jws) != len(r.Cards) {
			t.Fatalf("%s: %d cards in the file (%v), %d in the result", r.File, len(jws), err, len(r.Cards))
		}
		for j, c := range r.Cards {
			card := verify(t, jws[j])
			if card.Issuer() != testIss {
				t.Errorf("iss %q", card.Issuer())
			}
			stored, err := is.Store().Card(context.Background(), c.ID)
			if err != nil || stored.JWS != jws[j] || stored.PatientID != fmt.Sprintf("p%07d", i) {
				t.Fatalf("card %s not stored as written (%v)", c.ID, err)
			}
			if i < 3 { // reading QR images back is slow: a few suffice
				png, err := os.ReadFile(filepath.Join(out, c.PNG))
				if err != nil {
					t.Fatal(err)
				}
				text, err := qr.DecodeBytes(png)
				if err != nil {
					t.Fatalf("%s: %v", c.PNG, err)
				}
				if back, err := shc.DecodeQRText(text); err != nil || back != jws[j] {
					t.Fatalf("%s does not hold the card (%v)", c.PNG, err)
				}
			}
		}
	}
	if sum.Issued != n || sum.Failed != len(bulk.BrokenPatients)+len(bulk.BrokenRecords) {
		t.Errorf("summary %+v", sum)
	}
}

// Running a finished batch again writes nothing new and issues nothing.
func TestRunAgainIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 5, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t, filepath.Join(dir, "store"))
	cfg := bulk.Config{Issuer: is, In: in, Out: out, BatchID: "again"}
	if _, err := bulk.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, bulk.ResultsFile))
	sum, err := bulk.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(out, bulk.ResultsFile))
	if string(before) != string(after) || sum.Issued != 0 || !sum.Resumed {
		t.Fatalf("second run changed results or issued %d (resumed %v)", sum.Issued, sum.Resumed)
	}
	// Another batch id on the same output directory is refused.
	cfg.BatchID = "other"
	if _, err := bulk.Run(context.Background(), cfg); !errors.Is(err, bulk.ErrBatchMismatch) {
		t.Fatalf("other batch id: %v; want batch_mismatch", err)
	}
}
