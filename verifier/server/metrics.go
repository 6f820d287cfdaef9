package server

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthcards/healthcards/verifier"
)

// latencyBuckets are the upper bounds (seconds) of the verification latency
// histogram.
var latencyBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// maxLabelValues bounds each labelled counter, so a library that invents
// codes cannot grow the metrics without limit; extra values count as "other".
const maxLabelValues = 64

// Metrics holds the service's counters. All methods are safe for concurrent
// use and lock-free on the hot path (a read lock only when a label value is
// new). The zero value is not usable: call NewMetrics.
type Metrics struct {
	verdicts  labeled // cards by verdict
	codes     labeled // non-verified cards by reason code
	problems  labeled // request-level problems by code
	responses labeled // HTTP responses by status code
	fetchFail labeled // failed fetches by source (directory, issuer, revocation)
	fetchOK   labeled // successful trust-source loads by source
	links     labeled // SMART Health Link resolutions by outcome

	hist     histogram
	inFlight atomic.Int64
	started  time.Time

	// gauges read at scrape time
	mu      sync.Mutex
	gauges  []gauge
	counter []gauge // counters provided by callbacks (e.g. library stats)
}

type gauge struct {
	name, help string
	read       func() float64
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{started: time.Now()}
}

type labeled struct {
	mu sync.RWMutex
	m  map[string]*atomic.Uint64
}

func (l *labeled) add(label string, n uint64) {
	l.mu.RLock()
	c, ok := l.m[label]
	l.mu.RUnlock()
	if !ok {
		l.mu.Lock()
		if l.m == nil {
			l.m = map[string]*atomic.Uint64{}
		}
		if c, ok = l.m[label]; !ok {
			if len(l.m) >= maxLabelValues {
				label = "other"
				c, ok = l.m[label]
			}
			if !ok {
				c = new(atomic.Uint64)
				l.m[label] = c
			}
		}
		l.mu.Unlock()
	}
	c.Add(n)
}

func (l *labeled) get(label string) uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if c, ok := l.m[label]; ok {
		return c.Load()
	}
	return 0
}

func (l *labeled) snapshot() ([]string, []uint64) {
	l.mu.RLock()
	keys := make([]string, 0, len(l.m))
	for k := range l.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]uint64, len(keys))
	for i, k := range keys {
		vals[i] = l.m[k].Load()
	}
	l.mu.RUnlock()
	return keys, vals
}

type histogram struct {
	counts [len(latencyBuckets) + 1]atomic.Uint64 // last is +Inf
	sumNs  atomic.Uint64
	count  atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets[:], s) // first bound >= s
	h.counts[i].Add(1)
	if d > 0 {
		h.sumNs.Add(uint64(d))
	}
	h.count.Add(1)
}

// ObserveVerification records one card's verdict and, when it did not
// verify, its reason code.
func (m *Metrics) ObserveVerification(verdict, code string) {
	m.verdicts.add(verdict, 1)
	if code != "" {
		m.codes.add(code, 1)
	}
}

// ObserveLink records one SMART Health Link resolution: "ok" or the code
// it failed with (passcode_required, passcode_wrong, link_not_found, ...).
func (m *Metrics) ObserveLink(outcome string) { m.links.add(outcome, 1) }

// ObserveLatency records the duration of one verification request.
func (m *Metrics) ObserveLatency(d time.Duration) { m.hist.observe(d) }

// ObserveProblem records a request rejected with a problem document.
func (m *Metrics) ObserveProblem(code string) { m.problems.add(code, 1) }

// ObserveResponse records an HTTP response status.
func (m *Metrics) ObserveResponse(status int) { m.responses.add(strconv.Itoa(status), 1) }

// ObserveFetch records a fetch of the given source kind ("directory",
// "issuer", "revocation") and whether it failed.
func (m *Metrics) ObserveFetch(source string, failed bool) {
	if failed {
		m.fetchFail.add(source, 1)
	} else {
		m.fetchOK.add(source, 1)
	}
}

// AddGauge registers a gauge read at scrape time. name must be a valid
// Prometheus metric name; read must be fast and safe for concurrent use.
func (m *Metrics) AddGauge(name, help string, read func() float64) {
	m.mu.Lock()
	m.gauges = append(m.gauges, gauge{name, help, read})
	m.mu.Unlock()
}

// AddCounterFunc registers a counter whose value is read at scrape time
// (for example cache hit counts, once the verifier library exposes them).
func (m *Metrics) AddCounterFunc(name, help string, read func() float64) {
	m.mu.Lock()
	m.counter = append(m.counter, gauge{name, help, read})
	m.mu.Unlock()
}

// addLibraryStats exports the verifier library's counters (see
// verifier.Stats) as counters read at scrape time.
func (m *Metrics) addLibraryStats(sv StatsVerifier) {
	for _, c := range []struct {
		name, help string
		get        func(verifier.Stats) uint64
	}{
		{"shc_verifier_keyset_cache_hits_total", "Issuer key-set lookups answered by a fresh cached key set.", func(s verifier.Stats) uint64 { return s.KeySetCacheHits }},
		{"shc_verifier_keyset_cache_misses_total", "Issuer key-set lookups not answered by the cache (absent, stale or unknown kid).", func(s verifier.Stats) uint64 { return s.KeySetCacheMisses }},
		{"shc_verifier_crl_cache_hits_total", "Revocation-list lookups answered by a cached list.", func(s verifier.Stats) uint64 { return s.CRLCacheHits }},
		{"shc_verifier_crl_cache_misses_total", "Revocation-list lookups that had to fetch the list (or could not, offline).", func(s verifier.Stats) uint64 { return s.CRLCacheMisses }},
		{"shc_verifier_library_fetches_total", "HTTP fetches made by the verifier library (key sets, DID documents, revocation lists, trust sources by URL).", func(s verifier.Stats) uint64 { return s.Fetches }},
		{"shc_verifier_library_not_modified_total", "Conditional fetches of key sets, DID documents and revocation lists answered 304 Not Modified by the issuer.", func(s verifier.Stats) uint64 { return s.NotModified }},
		{"shc_verifier_library_refreshes_total", "Background refreshes of cached key sets, DID documents and revocation lists (bounded by --revocation-max-age).", func(s verifier.Stats) uint64 { return s.Refreshes }},
		{"shc_verifier_library_fetch_failures_total", "Failed HTTP fetches made by the verifier library (network, timeout, refused address, status, size cap).", func(s verifier.Stats) uint64 { return s.FetchFailures }},
		{"shc_verifier_library_fetches_refused_total", "Fetches not made because a request's fetch budget was used up (issuers per input, fetches per client per minute).", func(s verifier.Stats) uint64 { return s.FetchesRefused }},
	} {
		get := c.get
		m.AddCounterFunc(c.name, c.help, func() float64 { return float64(get(sv.Stats())) })
	}
}

// WriteTo writes the metrics in the Prometheus text exposition format
// (version 0.0.4).
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	b := bufio.NewWriter(cw)
	writeLabeled(b, "shc_verifier_verifications_total", "Cards verified, by verdict.", "verdict", &m.verdicts, []string{"verified", "unable_to_check", "issuer_not_trusted", "invalid"})
	writeLabeled(b, "shc_verifier_verification_failures_total", "Cards that did not verify, by reason code.", "code", &m.codes, nil)
	writeLabeled(b, "shc_verifier_problems_total", "Requests rejected with a problem document, by code.", "code", &m.problems, nil)
	writeLabeled(b, "shc_verifier_http_responses_total", "HTTP responses, by status code.", "status", &m.responses, nil)
	writeLabeled(b, "shc_verifier_fetch_failures_total", "Failed fetches, by source (directory: trust sources loaded by the service; issuer, revocation: key sets and revocation lists, as reported in card results).", "source", &m.fetchFail, []string{"directory", "issuer", "revocation"})
	writeLabeled(b, "shc_verifier_link_resolutions_total", "SMART Health Link resolutions, by outcome (ok or the failure code).", "outcome", &m.links,
		[]string{"ok", "passcode_required", "passcode_wrong", "link_not_found", "link_expired"})
	writeLabeled(b, "shc_verifier_trust_source_loads_total", "Successful trust source loads, by source.", "source", &m.fetchOK, []string{"directory"})

	name := "shc_verifier_verify_duration_seconds"
	fmt.Fprintf(b, "# HELP %s Time to answer one POST /v1/verify request.\n# TYPE %s histogram\n", name, name)
	var cum uint64
	for i, le := range latencyBuckets {
		cum += m.hist.counts[i].Load()
		fmt.Fprintf(b, "%s_bucket{le=\"%s\"} %d\n", name, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	cum += m.hist.counts[len(latencyBuckets)].Load()
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n", name, cum)
	fmt.Fprintf(b, "%s_sum %s\n", name, strconv.FormatFloat(float64(m.hist.sumNs.Load())/1e9, 'g', -1, 64))
	fmt.Fprintf(b, "%s_count %d\n", name, m.hist.count.Load())

	writeGauge(b, "shc_verifier_in_flight_requests", "Verification requests being processed.", "gauge", float64(m.inFlight.Load()))
	writeGauge(b, "shc_verifier_uptime_seconds", "Seconds since the service started.", "gauge", time.Since(m.started).Seconds())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	writeGauge(b, "go_goroutines", "Number of goroutines.", "gauge", float64(runtime.NumGoroutine()))
	writeGauge(b, "go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", "gauge", float64(ms.HeapAlloc))
	writeGauge(b, "go_memstats_sys_bytes", "Bytes obtained from the OS.", "gauge", float64(ms.Sys))

	m.mu.Lock()
	gs := append([]gauge(nil), m.gauges...)
	cs := append([]gauge(nil), m.counter...)
	m.mu.Unlock()
	for _, g := range gs {
		writeGauge(b, g.name, g.help, "gauge", g.read())
	}
	for _, g := range cs {
		writeGauge(b, g.name, g.help, "counter", g.read())
	}
	err := b.Flush()
	return cw.n, err
}

func writeLabeled(b *bufio.Writer, name, help, label string, l *labeled, always []string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	keys, vals := l.snapshot()
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		seen[k] = true
		fmt.Fprintf(b, "%s{%s=\"%s\"} %d\n", name, label, escapeLabel(k), vals[i])
	}
	for _, k := range always { // report zero for the expected values, so rate() works from the start
		if !seen[k] {
			fmt.Fprintf(b, "%s{%s=\"%s\"} 0\n", name, label, escapeLabel(k))
		}
	}
}

func writeGauge(b *bufio.Writer, name, help, typ string, v float64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, typ, name, strconv.FormatFloat(v, 'g', -1, 64))
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
