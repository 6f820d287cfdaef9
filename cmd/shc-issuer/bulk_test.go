package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/service"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier"
)

const bulkIss = "https://registry.example.org"

// bulkProc starts `shc-issuer bulk issue` as a child process (this test
// binary re-executed as main, see TestMain).
func bulkProc(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, chan error) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(os.Args[0], append([]string{"bulk", "issue"}, args...)...)
	cmd.Env = append(os.Environ(), "SHC_ISSUER_TEST_AS_MAIN=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, out, done
}

// resultLines counts the complete lines of results.ndjson.
func resultLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// SIGKILL the real binary three times in a batch (once while indexing,
// twice while issuing), start it again with the same batch id each time,
// and compare: every patient and bad record has exactly one result line,
// no patient has a card issued twice (the store holds exactly the cards
// its line names), none is lost, and every card verifies with the
// verifier library. The run also makes a SMART Health Link per patient
// (--outputs card,link): the link store holds exactly one link per issued
// patient, the one its line names.
func TestBulkKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills the binary")
	}
	dir := t.TempDir()
	in, out, data := filepath.Join(dir, "in"), filepath.Join(dir, "out"), filepath.Join(dir, "data")
	const n = 800
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: n, Seed: 3, Broken: true}); err != nil {
		t.Fatal(err)
	}
	args := []string{"--in", in, "--out", out, "--data", data, "--iss", bulkIss, "--batch", "kill-test", "--workers", "2", "--progress-every", "1h", "--outputs", "card,link"}
	res := filepath.Join(out, bulk.ResultsFile)
	deadline := time.Now().Add(startBound)
	// Kill once while indexing (the index is rebuilt), then twice while
	// issuing, each time a quarter of the batch further on.
	ready := []func() bool{
		func() bool { _, err := os.Stat(filepath.Join(out, ".bulk", "index.db")); return err == nil },
	}
	for range 2 {
		var target int
		ready = append(ready, func() bool {
			if target == 0 {
				target = resultLines(res) + n/5
			}
			return resultLines(res) >= target
		})
	}
	for i, ok := range ready {
		cmd, log, done := bulkProc(t, args...)
		for !ok() {
			select {
			case err := <-done:
				t.Fatalf("finished before kill %d: %v\n%s", i, err, log.String())
			case <-time.After(2 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no progress to kill %d\n%s", i, log.String())
			}
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		<-done
		t.Logf("kill %d at %d result lines", i, resultLines(res))
	}
	_, log, done := bulkProc(t, args...)
	if err := <-done; err != nil {
		t.Fatalf("resumed run: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "batch kill-test done") {
		t.Fatalf("resumed run output:\n%s", log.String())
	}

	// The store's cards, by patient.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "store", "issuer.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]map[string]string{} // patient -> card id -> jws
	rows, err := db.Query(`SELECT id, patient_id, jws FROM cards`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, pid, jws string
		if err := rows.Scan(&id, &pid, &jws); err != nil {
			t.Fatal(err)
		}
		if stored[pid] == nil {
			stored[pid] = map[string]string{}
		}
		stored[pid][id] = jws
	}
	rows.Close()

	pass, err := service.Passphrase(data, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := service.OpenRing(data, pass, ringOptions...)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(ring.PublicJWKS(nil))
	v, err := verifier.New(verifier.WithStaticKeys(bulkIss, jwks), verifier.WithOffline())
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(res)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen, links := map[string]bool{}, map[string]bool{}
	issued := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r bulk.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if seen[r.Key] {
			t.Fatalf("%s has two result lines", r.Key)
		}
		seen[r.Key] = true
		if r.Status != bulk.StatusIssued {
			continue
		}
		issued++
		if r.Link == nil || links[r.Link.ID] || !strings.HasPrefix(r.Link.URI, "shlink:/") {
			t.Fatalf("%s: link %+v missing or named twice", r.Patient, r.Link)
		}
		links[r.Link.ID] = true
		if len(stored[r.Patient]) != len(r.Cards) {
			t.Fatalf("%s: the store holds %d cards, the result names %d: issued twice or lost", r.Patient, len(stored[r.Patient]), len(r.Cards))
		}
		b, err := os.ReadFile(filepath.Join(out, r.File))
		if err != nil {
			t.Fatal(err)
		}
		jws, err := shc.ParseFile(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range r.Cards {
			if stored[r.Patient][c.ID] != jws[i] {
				t.Fatalf("%s: card %s in the file is not the stored card", r.Patient, c.ID)
			}
		}
		vr, err := v.Verify(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range vr {
			if !x.Valid {
				t.Fatalf("%s: card %d does not verify: %s %+v", r.Patient, x.Index, x.Verdict, x.Errors)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if !seen[fmt.Sprintf("patient/p%07d", i)] {
			t.Errorf("patient p%07d has no result line", i)
		}
	}
	for key := range bulk.BrokenPatients {
		if !seen[key] {
			t.Errorf("%s has no result line", key)
		}
	}
	// Every patient with stored cards of this batch has its line (none lost).
	for pid := range stored {
		if !seen["patient/"+pid] {
			t.Errorf("patient %s has stored cards but no result line", pid)
		}
	}
	if want := n + len(bulk.BrokenPatients) + len(bulk.BrokenRecords); len(seen) != want || issued < n {
		t.Errorf("%d result lines (%d issued); want %d (at least %d issued)", len(seen), issued, want, n)
	}
	ldb, err := sql.Open("sqlite", "file:"+filepath.Join(data, "links.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	lrows, err := ldb.Query(`SELECT id FROM shl_links`)
	if err != nil {
		t.Fatal(err)
	}
	nlinks := 0
	for lrows.Next() {
		var id string
		if err := lrows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		nlinks++
		if !links[id] {
			t.Errorf("link %s is stored but named by no result line (a second link for a patient)", id)
		}
	}
	lrows.Close()
	if nlinks != issued {
		t.Errorf("%d links stored for %d issued patients", nlinks, issued)
	}
}

func TestBulkUsage(t *testing.T) {
	var out bytes.Buffer
	for _, args := range [][]string{{"bulk"}, {"bulk", "nope"}, {"bulk", "issue"}, {"bulk", "issue", "--in", "x", "--out", "y", "--outputs", "gif"},
		{"bulk", "generate", "--out", t.TempDir()}} {
		var ue usageError
		if err := run(context.Background(), args, &out, &out); !errors.As(err, &ue) {
			t.Errorf("%q: %v; want a usage error", args, err)
		}
	}
	if err := run(context.Background(), []string{"bulk", "-h"}, &out, &out); err != nil || !strings.Contains(out.String(), "bulk issue --in") {
		t.Errorf("bulk -h: %v", err)
	}
}
