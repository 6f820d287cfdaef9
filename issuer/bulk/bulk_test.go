package bulk_test

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
	"github.com/healthcards/healthcards/issuer/store/sqlstore"
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
	return replicaIssuer(t, openSQLite(t, dir))
}

// openSQLite opens the issuer's SQLite store in dir, closed at cleanup.
func openSQLite(t testing.TB, dir string) *sqlstore.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// needPdftoppm returns the path of poppler's pdftoppm, or skips (fails in
// CI) without it.
func needPdftoppm(t testing.TB) string {
	t.Helper()
	pdftoppm, err := exec.LookPath("pdftoppm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftoppm (poppler-utils) is required in CI")
		}
		t.Skip("pdftoppm (poppler-utils) is not installed")
	}
	return pdftoppm
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

// PDFs are checked by rendering a page to an image (poppler's pdftoppm)
// and reading its QR back with the project's decoder: the page holds the
// patient's card.
func TestPDFQRReadsBack(t *testing.T) {
	pdftoppm := needPdftoppm(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 3, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t, filepath.Join(dir, "store"))
	for _, paper := range []string{"A4", "Letter"} {
		o := filepath.Join(out, paper)
		if _, err := bulk.Run(context.Background(), bulk.Config{Issuer: is, In: in, Out: o, BatchID: "pdf-" + paper,
			Outputs: bulk.Outputs{Card: true, PDF: true, Paper: paper, IssuerName: "Springfield Registry"}}); err != nil {
			t.Fatal(err)
		}
		r := readResults(t, o)["patient/p0000001"]
		if r.PDF == "" || len(r.Cards) == 0 {
			t.Fatalf("%s: %+v", paper, r)
		}
		b, err := os.ReadFile(filepath.Join(o, r.File))
		if err != nil {
			t.Fatal(err)
		}
		jws, err := shc.ParseFile(b)
		if err != nil {
			t.Fatal(err)
		}
		// The words beside the QR: who and what, read from the signed card.
		txt, err := exec.Command(filepath.Join(filepath.Dir(pdftoppm), "pdftotext"), filepath.Join(o, r.PDF), "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		for _, want := range []string{"SMART Health Card", "Springfield Registry", "Date of birth:", "SARS-CoV-2 RNA Resp Ql NAA+probe"} {
			if !strings.Contains(string(txt), want) {
				t.Errorf("%s PDF lacks %q:\n%s", paper, want, txt)
			}
		}
		for page := range r.Cards {
			prefix := filepath.Join(dir, fmt.Sprintf("%s-page%d", paper, page+1))
			p := fmt.Sprint(page + 1)
			cmd := exec.Command(pdftoppm, "-r", "150", "-png", "-singlefile", "-f", p, "-l", p, filepath.Join(o, r.PDF), prefix)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v\n%s", err, msg)
			}
			png, err := os.ReadFile(prefix + ".png")
			if err != nil {
				t.Fatal(err)
			}
			text, err := qr.DecodeBytes(png)
			if err != nil {
				t.Fatalf("%s page %d: %v", paper, page+1, err)
			}
			back, err := shc.DecodeQRText(text)
			if err != nil || back != jws[page] {
				t.Fatalf("%s page %d does not hold card %d (%v)", paper, page+1, page+1, err)
			}
			verify(t, back)
		}
	}
}

// A run that stopped after storing cards but before writing their result
// lines (and in the middle of a line) finds the stored cards on the next
// run: the same card ids, nothing issued twice, no torn line left.
func TestResumeFindsStoredCards(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 12, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t, filepath.Join(dir, "store"))
	cfg := bulk.Config{Issuer: is, In: in, Out: out, BatchID: "torn", Workers: 3}
	if _, err := bulk.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	first := readResults(t, out)
	path := filepath.Join(out, bulk.ResultsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	lines = lines[:len(lines)-1] // the empty string after the last "\n"
	// Drop the last three lines and leave half of the one before.
	kept := strings.Join(lines[:len(lines)-4], "") + lines[len(lines)-4][:10]
	if err := os.WriteFile(path, []byte(kept), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := bulk.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Issued != 4 || !sum.Resumed {
		t.Errorf("resumed run wrote %d patients (resumed %v); want the 4 whose lines were lost", sum.Issued, sum.Resumed)
	}
	second := readResults(t, out)
	if len(second) != len(first) {
		t.Fatalf("%d results after resuming; want %d", len(second), len(first))
	}
	for k, r := range first {
		r2 := second[k]
		if len(r2.Cards) != len(r.Cards) {
			t.Fatalf("%s: %d cards, then %d", k, len(r.Cards), len(r2.Cards))
		}
		for i := range r.Cards {
			if r.Cards[i].ID != r2.Cards[i].ID {
				t.Fatalf("%s: card %d re-issued as %s (was %s)", k, i, r2.Cards[i].ID, r.Cards[i].ID)
			}
		}
	}
}

// A ZIP of the NDJSON files gives the same results as the directory.
func TestZIPInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 4, Seed: 9, Broken: true}); err != nil {
		t.Fatal(err)
	}
	zpath := filepath.Join(dir, "export.zip")
	zf, err := os.Create(zpath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	ents, _ := os.ReadDir(in)
	for _, e := range ents {
		w, err := zw.Create("export/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(in, e.Name()))
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zf.Close()
	is := newIssuer(t, filepath.Join(dir, "store"))
	fromDir, err := bulk.Run(context.Background(), bulk.Config{Issuer: is, In: in, Out: filepath.Join(dir, "out-dir"), BatchID: "d"})
	if err != nil {
		t.Fatal(err)
	}
	fromZIP, err := bulk.Run(context.Background(), bulk.Config{Issuer: is, In: zpath, Out: filepath.Join(dir, "out-zip"), BatchID: "z"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := readResults(t, filepath.Join(dir, "out-dir")), readResults(t, filepath.Join(dir, "out-zip"))
	if len(a) != len(b) || fromDir.Issued != fromZIP.Issued || fromDir.Failed != fromZIP.Failed {
		t.Fatalf("dir %+v, zip %+v", fromDir, fromZIP)
	}
	for k, r := range a {
		if b[k].Status != r.Status || code(b[k]) != code(r) {
			t.Errorf("%s: dir %s %s, zip %s %s", k, r.Status, code(r), b[k].Status, code(b[k]))
		}
	}
	// Not a directory or a ZIP.
	if _, err := bulk.Run(context.Background(), bulk.Config{Issuer: is, In: filepath.Join(in, "Patient.ndjson"), Out: filepath.Join(dir, "o3"), BatchID: "x"}); !errors.Is(err, bulk.ErrInvalidInput) {
		t.Errorf("an NDJSON file as input: %v; want invalid_input", err)
	}
}

// With links and PDFs, the PDF ends with a page for the patient's link:
// rendered to an image (pdftoppm) its QR reads back (the project's
// decoder) to the result's shlink:/, and the page prints the link's
// passcode.
func TestPDFLinkPage(t *testing.T) {
	pdftoppm := needPdftoppm(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 2, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	st := openSQLite(t, filepath.Join(dir, "store"))
	is, l := fileLinker(t, st, filepath.Join(dir, "links.db"))
	if _, err := bulk.Run(context.Background(), bulk.Config{Issuer: is, In: in, Out: out, BatchID: "pdf-link", Linker: l,
		Outputs: bulk.Outputs{PDF: true, Link: true, LinkPasscode: true}}); err != nil {
		t.Fatal(err)
	}
	r := readResults(t, out)["patient/p0000000"]
	if r.Link == nil || r.PDF == "" || len(r.Link.Passcode) != 8 {
		t.Fatalf("result %+v", r)
	}
	txt, err := exec.Command(filepath.Join(filepath.Dir(pdftoppm), "pdftotext"), filepath.Join(out, r.PDF), "-").Output()
	if err != nil || !strings.Contains(string(txt), "SMART Health Link") || !strings.Contains(string(txt), "Passcode: "+r.Link.Passcode) {
		t.Fatalf("PDF text (%v):\n%s", err, txt)
	}
	page := fmt.Sprint(len(r.Cards) + 1)
	prefix := filepath.Join(dir, "link-page")
	if msg, err := exec.Command(pdftoppm, "-r", "150", "-png", "-singlefile", "-f", page, "-l", page, filepath.Join(out, r.PDF), prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, msg)
	}
	png, err := os.ReadFile(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	if text, err := qr.DecodeRawBytes(png); err != nil || text != r.Link.URI {
		t.Fatalf("the link page's QR reads %q (%v); want %s", text, err, r.Link.URI)
	}
	// The link's own QR file reads back too.
	b, err := os.ReadFile(filepath.Join(out, r.Link.QR))
	if err != nil {
		t.Fatal(err)
	}
	if text, err := qr.DecodeRawBytes(b); err != nil || text != r.Link.URI {
		t.Fatalf("%s reads %q (%v)", r.Link.QR, text, err)
	}
}

// A patient whose records add up to many bundles is reported too_large
// (the code IssueBundle gives an oversized bundle) without being read
// whole, and the rest of the batch issues.
func TestPatientOverBundleLimit(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	const n = 4
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: n, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(in, "Observation.ndjson"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		fmt.Fprintf(f, `{"resourceType":"Observation","id":"big%d","status":"final","subject":{"reference":"Patient/p0000002"},"note":[{"text":"%s"}]}`+"\n",
			i, strings.Repeat("x", 900<<10))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t, filepath.Join(dir, "store"))
	sum, err := bulk.Run(context.Background(), bulk.Config{Issuer: is, In: in, Out: out, BatchID: "big", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := readResults(t, out)
	if r := got["patient/p0000002"]; r.Status != bulk.StatusFailed || code(r) != string(bulk.CodeTooLarge) {
		t.Fatalf("patient/p0000002: %+v; want failed too_large", r)
	}
	if sum.Issued != n-1 {
		t.Fatalf("issued %d patients; want %d", sum.Issued, n-1)
	}
}

// Outputs are camelCase in JSON (the API's batch status); options stored
// before the tags (Go field names) still decode.
func TestOutputsJSON(t *testing.T) {
	b, err := json.Marshal(bulk.Outputs{Card: true, PNG: true, Paper: "Letter", LinkPasscode: true, LinkExp: 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"card":true,"png":true,"paper":"Letter","linkPasscode":true,"linkExp":5}`; string(b) != want {
		t.Fatalf("got %s; want %s", b, want)
	}
	var old bulk.Outputs
	if err := json.Unmarshal([]byte(`{"Card":true,"PNG":false,"SVG":true,"PDF":true,"Paper":"A4","IssuerName":"Lab","Link":true,"LinkPasscode":true,"LinkExp":7}`), &old); err != nil {
		t.Fatal(err)
	}
	if want := (bulk.Outputs{Card: true, SVG: true, PDF: true, Paper: "A4", IssuerName: "Lab", Link: true, LinkPasscode: true, LinkExp: 7}); old != want {
		t.Fatalf("stored options decode to %+v; want %+v", old, want)
	}
}
