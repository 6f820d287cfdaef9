package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proc is shc-issuer serve running as a child process (this test binary
// re-executed, see TestMain).
type proc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

func startProc(t *testing.T, dir, port string) *proc {
	t.Helper()
	p := &proc{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:"+port, "--verifier-listen", "off")
	p.cmd.Env = append(os.Environ(), "SHC_ISSUER_TEST_AS_MAIN=1")
	p.cmd.Stdout = p.out
	p.cmd.Stderr = &syncBuffer{} // request logs; not needed
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	<-p.exited
}

func randomRID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

type ack struct {
	Ctr     int64 `json:"ctr"`
	Entries []struct {
		Kid   string `json:"kid"`
		Entry string `json:"entry"`
	} `json:"entries"`
}

// SIGKILL the real shc-issuer process (embedded defaults: SQLite) in the
// middle of a burst of POST /v1/revocations from several goroutines; after
// a restart on the same data directory every acknowledged revocation is in
// the served CRLs and the counter is at least the highest acknowledged ctr
// (REV-4, REV-7: durable before the response).
func TestCrashDuringRevocationBurst_REV4(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the service twice")
	}
	deadline := time.Now().Add(startBound)
	dir := t.TempDir()
	port := freePort(t)
	p := startProc(t, dir, port)
	for devToken(p.out.String()) == "" || !strings.Contains(p.out.String(), "shc-issuer: iss") {
		select {
		case <-p.exited:
			t.Fatalf("shc-issuer exited: %s", p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("shc-issuer did not start in time")
		}
	}
	token := devToken(p.out.String())
	c := newClient(t, dir, port, token)
	c.waitReady(time.Until(deadline), p.exited)

	var (
		mu      sync.Mutex
		acks    []ack
		failed  atomic.Int64 // requests without a 2xx answer (in flight at the kill, or after)
		stop    atomic.Bool
		wg      sync.WaitGroup
		nAcked  atomic.Int64
		workers = 6
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				var body []byte
				if nAcked.Load()%5 == 4 {
					body = []byte(`{"patientId":"pt-` + randomRID()[:6] + `","reason":"burst"}`)
				} else {
					body = []byte(`{"rid":"` + randomRID() + `","reason":"burst"}`)
				}
				code, b, err := c.do("POST", "/v1/revocations", body)
				if err != nil || code/100 != 2 {
					failed.Add(1)
					if err != nil {
						time.Sleep(5 * time.Millisecond) // the process is gone
					}
					continue
				}
				var a ack
				if err := json.Unmarshal(b, &a); err != nil || a.Ctr < 2 || len(a.Entries) == 0 {
					t.Errorf("acknowledged revocation with a bad body: %s", b)
					continue
				}
				mu.Lock()
				acks = append(acks, a)
				mu.Unlock()
				nAcked.Add(1)
			}
		}()
	}
	// Kill once the burst is well under way, with requests in flight.
	for nAcked.Load() < 40 && time.Now().Before(deadline.Add(-startBound/2)) {
		time.Sleep(5 * time.Millisecond)
	}
	p.kill(t)
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if len(acks) == 0 {
		t.Fatal("no revocation was acknowledged before the kill; the test proves nothing")
	}
	t.Logf("%d revocations acknowledged, %d requests unanswered around the kill", len(acks), failed.Load())

	// Restart on the same data directory and port.
	p2 := startProc(t, dir, port)
	c.http.CloseIdleConnections()
	c.waitReady(time.Until(deadline), p2.exited)

	var j jwksDoc
	c.get("/.well-known/jwks.json", &j)
	var maxCtr int64
	want := map[string][]string{} // kid -> entries
	for _, a := range acks {
		maxCtr = max(maxCtr, a.Ctr)
		for _, e := range a.Entries {
			want[e.Kid] = append(want[e.Kid], e.Entry)
		}
	}
	for _, k := range j.Keys {
		if k.CRLVersion < maxCtr {
			t.Errorf("key %s crlVersion %d < highest acknowledged ctr %d", k.Kid, k.CRLVersion, maxCtr)
		}
	}
	for kid, entries := range want {
		var crl struct {
			Kid  string   `json:"kid"`
			Ctr  int64    `json:"ctr"`
			RIDs []string `json:"rids"`
		}
		c.get("/.well-known/crl/"+kid+".json", &crl)
		if crl.Ctr < maxCtr {
			t.Errorf("CRL ctr %d < highest acknowledged ctr %d", crl.Ctr, maxCtr)
		}
		lost := 0
		for _, e := range entries {
			if !slices.Contains(crl.RIDs, e) {
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("%d of %d acknowledged revocations for key %s are missing after the crash", lost, len(entries), kid)
		}
	}
	if code, _, err := c.do("GET", "/healthz", nil); err != nil || code != http.StatusOK {
		t.Errorf("after restart: healthz %d %v", code, err)
	}
}
