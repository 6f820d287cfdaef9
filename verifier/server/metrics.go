package server

import (
	"bufio"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthcards/healthcards/internal/promtext"
	"github.com/healthcards/healthcards/verifier"
)

// latencyBuckets are the upper bounds (seconds) of the verification latency
// histogram.
var latencyBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// maxLabelValues bounds each labelled counter, so a library that invents
// codes cannot grow the metrics without limit; extra values count as "other".
const maxLabelValues = promtext.MaxLabelValues

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

	hist     *promtext.Histogram
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
	return &Metrics{started: time.Now(), hist: promtext.NewHistogram(latencyBuckets[:]...)}
}

// labeled is a counter with one label, capped at maxLabelValues values
// (internal/promtext, shared with the issuer service).
type labeled = promtext.LabeledCounter

// ObserveVerification records one card's verdict and, when it did not
// verify, its reason code.
func (m *Metrics) ObserveVerification(verdict, code string) {
	m.verdicts.Add(verdict, 1)
	if code != "" {
		m.codes.Add(code, 1)
	}
}

// ObserveLink records one SMART Health Link resolution: "ok" or the code
// it failed with (passcode_required, passcode_wrong, link_not_found, ...).
func (m *Metrics) ObserveLink(outcome string) { m.links.Add(outcome, 1) }

// ObserveLatency records the duration of one verification request.
func (m *Metrics) ObserveLatency(d time.Duration) { m.hist.Observe(d) }

// ObserveProblem records a request rejected with a problem document.
func (m *Metrics) ObserveProblem(code string) { m.problems.Add(code, 1) }

// ObserveResponse records an HTTP response status.
func (m *Metrics) ObserveResponse(status int) { m.responses.Add(strconv.Itoa(status), 1) }

// ObserveFetch records a fetch of the given source kind ("directory",
// "issuer", "revocation") and whether it failed.
func (m *Metrics) ObserveFetch(source string, failed bool) {
	if failed {
		m.fetchFail.Add(source, 1)
	} else {
		m.fetchOK.Add(source, 1)
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

	writeHistogram(b, "shc_verifier_verify_duration_seconds", "Time to answer one POST /v1/verify request.", m.hist)

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

var (
	writeLabeled   = promtext.WriteLabeled
	writeGauge     = promtext.WriteValue
	writeHistogram = promtext.WriteHistogram
)

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
