package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/issuer/store/sqlstore"
	shlsql "github.com/healthcards/healthcards/shl/sqlstore"
)

// The replica harness (issue 17): docs/deploy.md's environment and HAProxy
// configuration, three `shc-issuer serve` processes (the built binary) on
// one PostgreSQL schema, HAProxy from Debian on loopback.

const haproxyBin = "/usr/sbin/haproxy"

// needReplicaTools returns the test PostgreSQL DSN, or skips (fails in CI)
// when PostgreSQL or HAProxy is missing.
func needReplicaTools(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(pgtest.DSNEnv)
	_, herr := os.Stat(haproxyBin)
	if dsn == "" || herr != nil {
		msg := fmt.Sprintf("the replica harness needs PostgreSQL (%s; eval \"$(bash .ci/postgres.sh)\") and HAProxy (%s; apt-get install haproxy)", pgtest.DSNEnv, haproxyBin)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

// deployBlock returns the fenced block that follows marker in
// docs/deploy.md.
func deployBlock(t *testing.T, marker string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), marker)
	if !ok {
		t.Fatalf("docs/deploy.md has no %q", marker)
	}
	_, rest, ok = strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("docs/deploy.md: no fenced block after %q", marker)
	}
	_, rest, _ = strings.Cut(rest, "\n") // the fence's info string
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("docs/deploy.md: unterminated block after %q", marker)
	}
	return block
}

// deployEnv parses the documented environment file and replaces what a
// test must: the DSN, the KEK path (the documented names are kept, so a
// renamed variable breaks this test).
func deployEnv(t *testing.T, dsn, kek string) []string {
	t.Helper()
	var env []string
	seen := map[string]bool{}
	for _, line := range strings.Split(deployBlock(t, "<!-- harness: env -->"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "SHC_ISSUER_") {
			t.Fatalf("docs/deploy.md env: bad line %q", line)
		}
		// Double quotes, as systemd's EnvironmentFile= and sh both strip
		// them (the DSN is quoted: the file is shell-sourced too).
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		switch k {
		case "SHC_ISSUER_POSTGRES_DSN":
			v = dsn
		case "SHC_ISSUER_KEK_FILE":
			v = kek
		case "SHC_ISSUER_TRUSTED_PROXY":
			v = "127.0.0.1/32" // HAProxy on loopback
		case "SHC_ISSUER_LISTEN", "SHC_ISSUER_DATA":
			continue // per replica
		}
		seen[k] = true
		env = append(env, k+"="+v)
	}
	// The unit runs `serve` with exactly this environment file.
	unit := deployBlock(t, "<!-- harness: systemd -->")
	envFile := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(strings.TrimSpace(deployBlock(t, "<!-- harness: env -->")), "\n", 2)[0], "#"))
	envFile, _, _ = strings.Cut(envFile, " ")
	if !strings.Contains(unit, "\nEnvironmentFile="+envFile+"\n") || !regexp.MustCompile(`\nExecStart=\S*/shc-issuer serve\n`).MatchString(unit) {
		t.Fatalf("docs/deploy.md: the systemd unit must run 'shc-issuer serve' with EnvironmentFile=%s", envFile)
	}
	for _, k := range []string{"SHC_ISSUER_STORE", "SHC_ISSUER_POSTGRES_DSN", "SHC_ISSUER_KEK_FILE", "SHC_ISSUER_PRODUCTION"} {
		if !seen[k] {
			t.Fatalf("docs/deploy.md env lacks %s", k)
		}
	}
	base := slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "SHC_ISSUER_") })
	return append(base, env...)
}

var interRE = regexp.MustCompile(`\binter\s+(\d+)(ms|s)\b`)

// haproxyConfig rewrites the documented configuration for loopback: the
// frontend binds lbPort without TLS, and the servers are the replicas'
// ports (extra documented servers are dropped). It returns the config and
// the health-check interval.
func haproxyConfig(t *testing.T, lbPort string, ports []string) (string, time.Duration) {
	t.Helper()
	src := deployBlock(t, "<!-- harness: haproxy.cfg -->")
	var out []string
	n := 0
	for _, line := range strings.Split(src, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "bind":
			line = "    bind 127.0.0.1:" + lbPort
		case len(f) >= 3 && f[0] == "server":
			if n >= len(ports) {
				continue
			}
			f[2] = "127.0.0.1:" + ports[n]
			n++
			line = "    " + strings.Join(f, " ")
		}
		out = append(out, line)
	}
	if n != len(ports) {
		t.Fatalf("docs/deploy.md haproxy.cfg has %d server lines, need %d", n, len(ports))
	}
	m := interRE.FindStringSubmatch(src)
	if m == nil {
		t.Fatal("docs/deploy.md haproxy.cfg sets no health-check inter")
	}
	v, _ := strconv.Atoi(m[1])
	inter := time.Duration(v) * time.Millisecond
	if m[2] == "s" {
		inter = time.Duration(v) * time.Second
	}
	return strings.Join(out, "\n") + "\n", inter
}

var buildOnce struct {
	sync.Once
	path string
	err  error
	out  []byte
}

// buildIssuer builds this command once per test binary run.
func buildIssuer(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shc-issuer-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "shc-issuer")
		gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			gobin = "go"
		}
		cmd := exec.Command(gobin, "build", "-o", buildOnce.path, ".")
		buildOnce.out, buildOnce.err = cmd.CombinedOutput()
	})
	if buildOnce.err != nil {
		t.Fatalf("go build: %v\n%s", buildOnce.err, buildOnce.out)
	}
	return buildOnce.path
}

// replica is one `shc-issuer serve` process.
type replica struct {
	name, port, data string
	env              []string
	bin              string
	cmd              *exec.Cmd
	out, errOut      *syncBuffer
	exited           chan struct{}
}

func (r *replica) start(t *testing.T) {
	t.Helper()
	r.out, r.errOut, r.exited = &syncBuffer{}, &syncBuffer{}, make(chan struct{})
	r.cmd = exec.Command(r.bin, "serve")
	r.cmd.Env = append(slices.Clone(r.env), "SHC_ISSUER_LISTEN=127.0.0.1:"+r.port, "SHC_ISSUER_DATA="+r.data)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.errOut
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd, exited := r.cmd, r.exited
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
}

func (r *replica) url(path string) string { return "http://127.0.0.1:" + r.port + path }

func (r *replica) waitHealthy(t *testing.T) {
	t.Helper()
	for end := time.Now().Add(startBound); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		select {
		case <-r.exited:
			t.Fatalf("%s exited: %s\n%s", r.name, r.out.String(), r.errOut.String())
		default:
		}
		if resp, err := http.Get(r.url("/healthz")); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s not healthy: %s", r.name, r.errOut.String())
}

func (r *replica) sigkill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.exited
}

// startHAProxy runs HAProxy in the foreground with cfg until the test ends.
func startHAProxy(t *testing.T, cfg string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxyBin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, cfg)
	}
	cmd := exec.Command(haproxyBin, "-db", "-f", path)
	var errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &errOut, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
}

// lbClient talks to the load balancer with an API token.
type lbClient struct {
	base, token string
	http        *http.Client
}

func (c *lbClient) do(method, path string, body []byte, ctype string) (int, []byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b, err
}

// replicaSet starts n replicas together on a fresh schema and HAProxy in
// front of them.
type replicaSet struct {
	reps   []*replica
	lb     *lbClient
	env    []string
	bin    string
	dsn    string
	inter  time.Duration
	issued atomic.Int64
}

func startReplicaSet(t *testing.T, n int) *replicaSet {
	t.Helper()
	dsn := needReplicaTools(t)
	rs := &replicaSet{bin: buildIssuer(t), dsn: pgtest.SchemaOn(t, dsn)}
	tmp := t.TempDir()
	kek := filepath.Join(tmp, "kek")
	if err := keydb.GenerateKEKFile(kek); err != nil {
		t.Fatal(err)
	}
	rs.env = deployEnv(t, rs.dsn, kek)
	// A short batch lease (30 s by default) so that the batch takeover
	// after a SIGKILL (batchThroughLB) waits 3 s.
	rs.env = append(rs.env, "SHC_ISSUER_BATCH_LEASE=3s")
	// --production needs a token: created with the replicas' environment.
	out, err := rs.cli(t, "tokens", "create", "--scopes", strings.Join(auth.AllLabScopes, ","))
	if err != nil {
		t.Fatalf("tokens create: %v %s", err, out)
	}
	token := strings.TrimSpace(out)
	var ports []string
	for i := 0; i < n; i++ {
		r := &replica{name: fmt.Sprintf("r%d", i+1), port: freePort(t), data: filepath.Join(tmp, fmt.Sprintf("r%d", i+1)), env: rs.env, bin: rs.bin}
		rs.reps = append(rs.reps, r)
		ports = append(ports, r.port)
	}
	for _, r := range rs.reps { // together: one key, one rid secret
		r.start(t)
	}
	for _, r := range rs.reps {
		r.waitHealthy(t)
	}
	lbPort := freePort(t)
	cfg, inter := haproxyConfig(t, lbPort, ports)
	rs.inter = inter
	startHAProxy(t, cfg)
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	t.Cleanup(tr.CloseIdleConnections)
	rs.lb = &lbClient{base: "http://127.0.0.1:" + lbPort, token: token, http: &http.Client{Transport: tr, Timeout: startBound}}
	for end := time.Now().Add(startBound); ; time.Sleep(50 * time.Millisecond) {
		if code, _, err := rs.lb.do("GET", "/healthz", nil, ""); err == nil && code == 200 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("HAProxy did not answer")
		}
	}
	return rs
}

// cli runs the built shc-issuer with the replicas' environment.
func (rs *replicaSet) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(rs.bin, args...)
	cmd.Env = append(slices.Clone(rs.env), "SHC_ISSUER_DATA="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

type issuedCard struct {
	ID, Kid, RID, JWS string
	started           time.Time
}

// issue issues the sample lab bundle for a new patient through HAProxy.
func (rs *replicaSet) issue(patient string) (issuedCard, int, error) {
	start := time.Now()
	body := bytes.ReplaceAll(bundles.LabCovidPCR, []byte("pt-1001"), []byte(patient))
	code, b, err := rs.lb.do("POST", "/v1/cards", body, "application/fhir+json")
	if err != nil || code != http.StatusCreated {
		if err == nil {
			err = fmt.Errorf("status %d: %.200s", code, b)
		}
		return issuedCard{}, code, err
	}
	var out struct {
		Cards []struct {
			ID, Kid, RID, JWS string
		} `json:"cards"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Cards) != 1 {
		return issuedCard{}, code, fmt.Errorf("reply %.200s", b)
	}
	c := out.Cards[0]
	rs.issued.Add(1)
	return issuedCard{ID: c.ID, Kid: c.Kid, RID: c.RID, JWS: c.JWS, started: start}, code, nil
}

// outcome is one request through the load balancer.
type outcome struct {
	start, end time.Time
	ok         bool
	what       string
}

type ledger struct {
	mu       sync.Mutex
	outcomes []outcome
	cards    []issuedCard
	revoked  []ack
	links    []string
}

func (l *ledger) note(start time.Time, ok bool, what string) {
	l.mu.Lock()
	l.outcomes = append(l.outcomes, outcome{start: start, end: time.Now(), ok: ok, what: what})
	l.mu.Unlock()
}

const rightPasscode = "correct horse battery"

// createLink shares the sample bundle behind a passcode through HAProxy and
// returns the link id and its manifest path.
func (rs *replicaSet) createLink() (id, path string, err error) {
	req, _ := json.Marshal(map[string]any{"bundle": json.RawMessage(bundles.LabCovidPCR), "passcode": rightPasscode})
	code, b, err := rs.lb.do("POST", "/v1/links", req, "application/json")
	if err != nil || code != http.StatusCreated {
		if err == nil {
			err = fmt.Errorf("status %d: %.200s", code, b)
		}
		return "", "", err
	}
	var l struct {
		ID      string `json:"id"`
		Payload struct {
			URL string `json:"url"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(b, &l); err != nil || l.ID == "" {
		return "", "", fmt.Errorf("link reply %.200s", b)
	}
	i := strings.Index(l.Payload.URL, "/shl/")
	if i < 0 {
		return "", "", fmt.Errorf("link url %q", l.Payload.URL)
	}
	return l.ID, l.Payload.URL[i:], nil
}

// guess posts a manifest request with passcode: 401 with remainingAttempts
// (wrong), 404 (locked), 200 (right).
func (rs *replicaSet) guess(path, passcode string) (code, remaining int, err error) {
	body, _ := json.Marshal(map[string]string{"recipient": "replica harness", "passcode": passcode})
	code, b, err := rs.lb.do("POST", path, body, "application/json")
	if err != nil {
		return 0, 0, err
	}
	if code == http.StatusUnauthorized {
		var r struct {
			Remaining *int `json:"remainingAttempts"`
		}
		if json.Unmarshal(b, &r) != nil || r.Remaining == nil {
			return code, 0, fmt.Errorf("401 without remainingAttempts: %.200s", b)
		}
		return code, *r.Remaining, nil
	}
	return code, 0, nil
}

func getBody(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 8<<20))
}

func jwksKids(b []byte) ([]string, []int64) {
	var j jwksDoc
	if json.Unmarshal(b, &j) != nil {
		return nil, nil
	}
	var vs []int64
	for _, k := range j.Keys {
		vs = append(vs, k.CRLVersion)
	}
	return j.kids(), vs
}

// waitAll waits until every running replica serves kid in its JWKS (or, with
// gone, no longer serves it) and returns how long it took.
func (rs *replicaSet) waitAll(t *testing.T, kid string, present bool) time.Duration {
	t.Helper()
	start := time.Now()
	for end := start.Add(startBound); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		all := true
		for _, r := range rs.reps {
			b, err := getBody(r.url("/.well-known/jwks.json"))
			kids, _ := jwksKids(b)
			if err != nil || slices.Contains(kids, kid) != present {
				all = false
				break
			}
		}
		if all {
			return time.Since(start)
		}
	}
	t.Fatalf("not every replica shows key %s (present=%v)", kid, present)
	return 0
}

// TestReplicasBehindHAProxy is issue 17's proof; see docs/deploy.md.
func TestReplicasBehindHAProxy(t *testing.T) {
	rs := startReplicaSet(t, 3)
	ctx := context.Background()

	// Started together, the replicas made one key and publish the same set.
	var first []byte
	for i, r := range rs.reps {
		b, err := getBody(r.url("/.well-known/jwks.json"))
		if err != nil {
			t.Fatal(err)
		}
		if kids, _ := jwksKids(b); len(kids) != 1 {
			t.Fatalf("%s publishes %v, want one key", r.name, kids)
		}
		if i > 0 && !bytes.Equal(b, first) {
			t.Fatalf("%s and r1 publish different key sets:\n%s\n%s", r.name, b, first)
		}
		first = b
	}

	var led ledger
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const workers = 4
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				c, _, err := rs.issue(fmt.Sprintf("pt-w%d-%d", w, i))
				led.note(start, err == nil, "issue")
				if err != nil {
					continue
				}
				led.mu.Lock()
				led.cards = append(led.cards, c)
				led.mu.Unlock()
				if i%3 == 0 {
					start = time.Now()
					body, _ := json.Marshal(map[string]string{"rid": c.RID, "kid": c.Kid, "reason": "harness"})
					code, b, err := rs.lb.do("POST", "/v1/revocations", body, "application/json")
					var a ack
					ok := err == nil && code == 200 && json.Unmarshal(b, &a) == nil && len(a.Entries) == 1
					led.note(start, ok, "revoke")
					if ok {
						led.mu.Lock()
						led.revoked = append(led.revoked, a)
						led.mu.Unlock()
					}
				}
				if i%5 == 0 {
					start = time.Now()
					id, _, err := rs.createLink()
					led.note(start, err == nil, "link")
					if err == nil {
						led.mu.Lock()
						led.links = append(led.links, id)
						led.mu.Unlock()
					}
				}
			}
		}()
	}
	// crlVersion as one client sees it through HAProxy: requests one after
	// another, so each may not show less than the one before.
	var versions []int64
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, b, err := rs.lb.do("GET", "/.well-known/jwks.json", nil, "")
			if err != nil || code != 200 {
				continue
			}
			_, vs := jwksKids(b)
			for _, v := range vs {
				if v != vs[0] {
					t.Errorf("one JWKS with different crlVersions: %v", vs)
				}
			}
			if len(vs) > 0 {
				versions = append(versions, vs[0])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	waitIssued := func(n int64) {
		t.Helper()
		for end := time.Now().Add(startBound); rs.issued.Load() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("only %d cards issued, waiting for %d", rs.issued.Load(), n)
			}
		}
	}

	// A key rotation mid-run, from the command line.
	waitIssued(30)
	out, err := rs.cli(t, "keys", "rotate")
	if err != nil {
		t.Fatalf("keys rotate: %v %s", err, out)
	}
	newKid := strings.TrimSpace(out)
	reach := rs.waitAll(t, newKid, true)
	afterRotation := time.Now()
	t.Logf("rotation reached all %d replicas in %v", len(rs.reps), reach)

	// Passcode guessing on three links, across the kill.
	waitIssued(60)
	gl, guessWait := guessLinks(t, rs, &led, 3)

	// SIGKILL one replica under load.
	victim := rs.reps[1]
	victim.sigkill(t)
	killed := time.Now()
	waitIssued(rs.issued.Load() + 40)
	guessWait()
	victim.start(t)
	victim.waitHealthy(t)
	waitIssued(rs.issued.Load() + 20)
	close(stop)
	wg.Wait()
	<-monDone

	// No request started after the kill failed for longer than the
	// health-check interval.
	var firstFail, lastFail time.Time
	fails := 0
	for _, o := range led.outcomes {
		if o.start.Before(killed) || o.ok {
			continue
		}
		fails++
		if firstFail.IsZero() || o.start.Before(firstFail) {
			firstFail = o.start
		}
		if o.end.After(lastFail) {
			lastFail = o.end
		}
	}
	// The failure window is a wall-clock measurement, logged for
	// BENCHMARKS.md. HAProxy (fall 1) takes the dead replica out at its
	// next check, at most one interval after the kill, and retries refused
	// connections elsewhere, so the window should stay under an interval.
	// The assertion allows 3 intervals: the window ends when the last
	// failed request returns, and on this shared two-core machine a
	// request can queue for a second behind the load and HAProxy's check
	// can start late, so a bound of one interval would fail on machine
	// load, not on a fault.
	window := lastFail.Sub(firstFail)
	t.Logf("requests after the kill failed for %v (%d failures); health-check interval %v", window, fails, rs.inter)
	if fails > 0 && window > 3*rs.inter {
		t.Errorf("requests after the kill failed for %v (%d failures), more than 3 health-check intervals (%v each): HAProxy did not take the replica out", window, fails, rs.inter)
	}
	t.Logf("%d requests, %d cards, %d revocations, %d links; %d failed after the kill", len(led.outcomes), len(led.cards), len(led.revoked), len(led.links), fails)

	// Every acknowledged card, revocation and link is in the database.
	st, err := sqlstore.OpenPostgres(ctx, rs.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range led.cards {
		got, err := st.Card(ctx, c.ID)
		if err != nil || got.JWS != c.JWS {
			t.Fatalf("acknowledged card %s: %v", c.ID, err)
		}
		if c.started.After(afterRotation) && c.Kid != newKid {
			t.Errorf("card %s issued after the rotation reached every replica is signed by %s, not %s", c.ID, c.Kid, newKid)
		}
	}
	maxCtr := int64(0)
	for _, a := range led.revoked {
		crl, err := st.CRL(ctx, a.Entries[0].Kid)
		if err != nil || !slices.Contains(crl.RIDs, a.Entries[0].Entry) || crl.Ctr < a.Ctr {
			t.Fatalf("acknowledged revocation %+v not in the CRL (%v)", a, err)
		}
		maxCtr = max(maxCtr, a.Ctr)
	}
	links, err := shlsql.OpenPostgres(ctx, rs.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer links.Close()
	for _, id := range led.links {
		if _, err := links.Get(ctx, id); err != nil {
			t.Fatalf("acknowledged link %s: %v", id, err)
		}
	}

	// crlVersion never went down, and reached the last acknowledged ctr.
	for i := 1; i < len(versions); i++ {
		if versions[i] < versions[i-1] {
			t.Fatalf("crlVersion went down through HAProxy: %d then %d", versions[i-1], versions[i])
		}
	}

	// Every replica (the restarted one too) serves the same JWKS and CRLs.
	jwks := map[string][]byte{}
	for _, r := range rs.reps {
		b, err := getBody(r.url("/.well-known/jwks.json"))
		if err != nil {
			t.Fatal(err)
		}
		jwks[r.name] = b
	}
	kids, vs := jwksKids(jwks["r1"])
	if len(kids) != 2 || kids[1] != newKid || vs[0] < maxCtr {
		t.Fatalf("JWKS after the run: kids %v crlVersion %v, want 2 keys ending with %s and crlVersion >= %d", kids, vs, newKid, maxCtr)
	}
	for _, r := range rs.reps[1:] {
		if !bytes.Equal(jwks[r.name], jwks["r1"]) {
			t.Fatalf("%s and r1 publish different key sets:\n%s\n%s", r.name, jwks[r.name], jwks["r1"])
		}
	}
	for _, kid := range kids {
		var ref []byte
		for _, r := range rs.reps {
			b, err := getBody(r.url("/.well-known/crl/" + kid + ".json"))
			if err != nil {
				t.Fatal(err)
			}
			if ref != nil && !bytes.Equal(b, ref) {
				t.Fatalf("%s serves another CRL for %s", r.name, kid)
			}
			ref = b
		}
	}

	tokenUse(t, rs)
	batchThroughLB(t, rs)

	// The passcode limit held exactly: no attempt was given out twice, never
	// more than the limit, and the links are locked for the right passcode
	// too. Across the kill, an attempt the killed replica had reserved is
	// spent without an answer; on a link guessed with every replica up, the
	// wrong answers are exactly the limit.
	checkLocked(t, rs, links, gl, false)
	calm, calmWait := guessLinks(t, rs, &led, 1)
	calmWait()
	checkLocked(t, rs, links, calm, true)
}

// tokenUse checks that an API token revoked from the command line is
// refused by every replica at its next request (token use is checked in the
// database, not in a replica's memory).
func tokenUse(t *testing.T, rs *replicaSet) {
	t.Helper()
	secret, err := rs.cli(t, "tokens", "create", "--scopes", "cards:issue", "--label", "harness-revoked")
	if err != nil {
		t.Fatalf("tokens create: %v %s", err, secret)
	}
	secret = strings.TrimSpace(secret)
	issueOn := func(r *replica) int {
		c := &lbClient{base: "http://127.0.0.1:" + r.port, token: secret, http: rs.lb.http}
		code, _, err := c.do("POST", "/v1/cards", bytes.ReplaceAll(bundles.LabCovidPCR, []byte("pt-1001"), []byte("pt-token-"+r.name)), "application/fhir+json")
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	for _, r := range rs.reps {
		if code := issueOn(r); code != http.StatusCreated {
			t.Fatalf("%s: new token refused (%d)", r.name, code)
		}
	}
	list, err := rs.cli(t, "tokens", "list")
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, line := range strings.Split(list, "\n") {
		if strings.HasSuffix(line, "\tharness-revoked") {
			id, _, _ = strings.Cut(line, "\t")
		}
	}
	if out, err := rs.cli(t, "tokens", "revoke", id); err != nil {
		t.Fatalf("tokens revoke %q: %v %s", id, err, out)
	}
	for _, r := range rs.reps {
		if code := issueOn(r); code != http.StatusUnauthorized {
			t.Errorf("%s: revoked token gives %d, want 401", r.name, code)
		}
	}
}

const passcodeLimit = 10 // host.DefaultMaxPasscodeFailures

type guessLink struct {
	id, path  string
	mu        sync.Mutex
	remaining []int
	failed    int
	locked    int
}

// guessLinks creates n passcode links and starts 5 guessers per link, 3
// wrong guesses each (15 per link, over the limit), through HAProxy; wait
// returns when all are answered.
func guessLinks(t *testing.T, rs *replicaSet, led *ledger, n int) ([]*guessLink, func()) {
	t.Helper()
	var gl []*guessLink
	for i := 0; i < n; i++ {
		id, path, err := rs.createLink()
		if err != nil {
			t.Fatal(err)
		}
		gl = append(gl, &guessLink{id: id, path: path})
	}
	const guessers, guessesEach = 5, 3
	var gwg sync.WaitGroup
	for g := 0; g < guessers; g++ {
		for _, l := range gl {
			gwg.Add(1)
			go func() {
				defer gwg.Done()
				for k := 0; k < guessesEach; k++ {
					start := time.Now()
					code, rem, err := rs.guess(l.path, fmt.Sprintf("wrong-%d-%d", g, k))
					ok := err == nil && (code == http.StatusUnauthorized || code == http.StatusNotFound)
					led.note(start, ok, "guess")
					l.mu.Lock()
					switch {
					case !ok:
						l.failed++
					case code == http.StatusUnauthorized:
						l.remaining = append(l.remaining, rem)
					default:
						l.locked++
					}
					l.mu.Unlock()
				}
			}()
		}
	}
	return gl, gwg.Wait
}

// checkLocked checks guessed links: distinct attempts, at most the limit
// (exactly, when exact), locked in the database and to the right passcode.
func checkLocked(t *testing.T, rs *replicaSet, links *shlsql.Store, gl []*guessLink, exact bool) {
	t.Helper()
	for _, l := range gl {
		sort.Ints(l.remaining)
		for i := 1; i < len(l.remaining); i++ {
			if l.remaining[i] == l.remaining[i-1] {
				t.Errorf("link %s: attempt %d given out twice: %v", l.id, l.remaining[i], l.remaining)
			}
		}
		if len(l.remaining) > passcodeLimit || (exact && len(l.remaining) != passcodeLimit) {
			t.Errorf("link %s: %d wrong answers (%d failed requests, %d locked), want %s %d", l.id, len(l.remaining), l.failed, l.locked,
				map[bool]string{true: "exactly", false: "at most"}[exact], passcodeLimit)
		}
		if code, _, err := rs.guess(l.path, rightPasscode); err != nil || code != http.StatusNotFound {
			t.Errorf("link %s after the limit: right passcode gives %d %v, want 404 (locked)", l.id, code, err)
		}
		if sl, err := links.Get(context.Background(), l.id); err != nil || sl.FailuresLeft != 0 {
			t.Errorf("link %s: failures left %v %v, want 0", l.id, sl, err)
		}
	}
}

// TestReplicasThroughput measures (it asserts nothing but that cards are
// issued): cards/s and latency through HAProxy with one and with three
// replicas, and how long a rotation takes to reach every replica. It runs
// only with HEALTHCARDS_REPLICA_BENCH=1; BENCHMARKS.md has the numbers.
func TestReplicasThroughput(t *testing.T) {
	if os.Getenv("HEALTHCARDS_REPLICA_BENCH") != "1" {
		t.Skip("a measurement: run with HEALTHCARDS_REPLICA_BENCH=1")
	}
	const clients, warm, cards = 4, 20, 300
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("replicas=%d", n), func(t *testing.T) {
			rs := startReplicaSet(t, n)
			var next atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			var begin time.Time
			var wg sync.WaitGroup
			run := func(total int64, record bool) {
				next.Store(0)
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > total {
								return
							}
							start := time.Now()
							if _, _, err := rs.issue(fmt.Sprintf("pt-b%d-%d-%v", c, i, record)); err != nil {
								t.Error(err)
								return
							}
							if record {
								mu.Lock()
								lat = append(lat, time.Since(start))
								mu.Unlock()
							}
						}
					}()
				}
				wg.Wait()
			}
			run(warm, false)
			begin = time.Now()
			run(cards, true)
			wall := time.Since(begin)
			slices.Sort(lat)
			q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
			t.Logf("BENCH replicas=%d clients=%d cards=%d: %.1f cards/s, p50 %v, p99 %v, max %v",
				n, clients, len(lat), float64(len(lat))/wall.Seconds(), q(0.5).Round(100*time.Microsecond), q(0.99).Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
			if n == 3 {
				var reach []time.Duration
				for i := 0; i < 10; i++ {
					out, err := rs.cli(t, "keys", "rotate")
					if err != nil {
						t.Fatalf("keys rotate: %v %s", err, out)
					}
					reach = append(reach, rs.waitAll(t, strings.TrimSpace(out), true))
				}
				slices.Sort(reach)
				t.Logf("BENCH rotation to all 3 replicas (10 rotations): median %v, max %v", reach[5].Round(time.Millisecond), reach[9].Round(time.Millisecond))
			}
		})
	}
}

// batchThroughLB posts a registry batch through HAProxy (any replica
// stores it in the database; one claims and runs it), SIGKILLs the replica
// that holds its lease once its first results are recorded, and follows
// the batch through HAProxy (each GET may reach another replica) until
// another replica, once the lease has ended, has finished it. Then: every
// replica answers the same status, results.ndjson through HAProxy names
// each patient once with its link, the store holds exactly the cards the
// results name and one link per patient (nothing issued twice, nothing
// lost), and a patient's card file rendered by each replica is the same.
func batchThroughLB(t *testing.T, rs *replicaSet) {
	t.Helper()
	const patients = 800
	in := t.TempDir()
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: patients, Seed: 17}); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	ents, _ := os.ReadDir(in)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(in, e.Name()))
		w, _ := mw.CreateFormFile("file", e.Name())
		w.Write(b)
	}
	mw.Close()
	code, b, err := rs.lb.do("POST", "/v1/batches?outputs=card,link", body.Bytes(), mw.FormDataContentType())
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("POST /v1/batches through HAProxy: %d %s %v", code, b, err)
	}
	var st bulk.BatchStatus
	if err := json.Unmarshal(b, &st); err != nil || st.ID == "" {
		t.Fatalf("batch: %s", b)
	}
	ctx := context.Background()
	db, err := sqlstore.OpenPostgres(ctx, rs.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var victim *replica
	killedAt := -1
	var killed, resumed time.Time // for the log: how long the takeover took
	for end := time.Now().Add(startBound); ; time.Sleep(20 * time.Millisecond) {
		code, b, err = rs.lb.do("GET", "/v1/batches/"+st.ID, nil, "")
		if err != nil || code != http.StatusOK || json.Unmarshal(b, &st) != nil {
			t.Fatalf("GET batch through HAProxy: %d %s %v", code, b, err)
		}
		if victim != nil && resumed.IsZero() && st.Done > killedAt {
			resumed = time.Now()
		}
		if st.Status == bulk.BatchDone || st.Status == bulk.BatchFailed {
			break
		}
		if victim == nil && st.Done > 0 {
			// The lease owner is "host-PID-random": SIGKILL that replica.
			row, err := db.Batch(ctx, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(row.LeaseOwner, "-")
			pid, _ := strconv.Atoi(parts[max(len(parts)-2, 0)])
			for _, r := range rs.reps {
				if r.cmd.Process.Pid == pid {
					victim = r
				}
			}
			if victim == nil {
				t.Fatalf("lease owner %q is none of the replicas", row.LeaseOwner)
			}
			victim.sigkill(t)
			killed = time.Now()
			killedAt = int(row.Done)
			t.Logf("SIGKILLed %s, which held batch %s, at %d of %d results", victim.name, st.ID, killedAt, patients)
		}
		if time.Now().After(end) {
			t.Fatalf("batch still %s (%d/%d)", st.Status, st.Done, st.Total)
		}
	}
	if st.Status != bulk.BatchDone || st.Issued != patients || st.Done != patients {
		t.Fatalf("batch: %s", b)
	}
	if victim == nil || killedAt >= patients || st.Attempts < 2 {
		t.Fatalf("the batch was not taken over (killed at %d of %d, %d attempts): %s", killedAt, patients, st.Attempts, b)
	}
	t.Logf("after the SIGKILL: new results after %v (lease 3 s, poll 2 s, input copied and indexed again), done after %v",
		resumed.Sub(killed).Round(10*time.Millisecond), time.Since(killed).Round(10*time.Millisecond))
	victim.start(t)
	victim.waitHealthy(t)
	ref := b
	for _, r := range rs.reps {
		c := &lbClient{base: "http://127.0.0.1:" + r.port, token: rs.lb.token, http: rs.lb.http}
		if code, got, err := c.do("GET", "/v1/batches/"+st.ID, nil, ""); err != nil || code != http.StatusOK || !bytes.Equal(got, ref) {
			t.Fatalf("%s answers %d %s; HAProxy answered %s", r.name, code, got, ref)
		}
	}
	code, res, err := rs.lb.do("GET", "/v1/batches/"+st.ID+"/results.ndjson", nil, "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("results through HAProxy: %d %v", code, err)
	}
	seen, links := map[string]bool{}, map[string]bool{}
	cards := 0
	var first bulk.Result
	for _, line := range strings.Split(strings.TrimSpace(string(res)), "\n") {
		var r bulk.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if seen[r.Key] || r.Status != bulk.StatusIssued || r.Link == nil || links[r.Link.ID] {
			t.Fatalf("result %s: a patient or link twice, or no link", line)
		}
		seen[r.Key], links[r.Link.ID] = true, true
		cards += len(r.Cards)
		if first.Key == "" {
			first = r
		}
	}
	if len(seen) != patients {
		t.Fatalf("%d results for %d patients", len(seen), patients)
	}
	// The synthetic patients are p0000000…; the harness's own are pt-….
	q, err := sqldb.OpenPostgres(rs.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var storedCards, storedLinks int
	if err := q.QueryRow(`SELECT COUNT(*) FROM cards WHERE patient_id LIKE 'p0%'`).Scan(&storedCards); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRow(`SELECT COUNT(*) FROM shl_links WHERE owner LIKE '%"p":"p0%'`).Scan(&storedLinks); err != nil {
		t.Fatal(err)
	}
	if storedCards != cards || storedLinks != patients {
		t.Fatalf("the store holds %d cards and %d links of the batch; its results name %d cards and %d links", storedCards, storedLinks, cards, patients)
	}
	var card []byte
	for _, r := range rs.reps {
		c := &lbClient{base: "http://127.0.0.1:" + r.port, token: rs.lb.token, http: rs.lb.http}
		code, got, err := c.do("GET", "/v1/batches/"+st.ID+"/files/"+first.File, nil, "")
		if err != nil || code != http.StatusOK || (card != nil && !bytes.Equal(got, card)) {
			t.Fatalf("%s: %s: %d %v", r.name, first.File, code, err)
		}
		card = got
	}
	t.Logf("batch %s: %d patients through HAProxy, taken over after the SIGKILL (%d attempts), %d cards and %d links each once, the same status and files on %d replicas",
		st.ID, patients, st.Attempts, cards, storedLinks, len(rs.reps))
}
