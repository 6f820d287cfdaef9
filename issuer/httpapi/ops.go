package httpapi

import (
	"bufio"
	"bytes"
	_ "embed"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/internal/promtext"
	"github.com/healthcards/healthcards/issuer"
)

// OpenAPI is the OpenAPI 3 document of the whole issuer API (lab API,
// SMART Health Links, FHIR operation, publishing and operations), served
// at /openapi.json. A test walks the router and checks that the document
// and the registered routes are the same set.
//
//go:embed openapi.json
var OpenAPI []byte

// latencyBuckets are the upper bounds (seconds) of the request latency
// histogram.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Metrics counts what the issuer service does, for GET /metrics
// (Prometheus text format, written by internal/promtext like the
// verifier's). Give the same Metrics to Config and LinksConfig. Safe for
// concurrent use; NewMetrics builds one.
type Metrics struct {
	errors       promtext.LabeledCounter // error replies by stable code
	responses    promtext.LabeledCounter // responses by HTTP status
	hist         *promtext.Histogram
	linksCreated atomic.Uint64
	linksRevoked atomic.Uint64
	started      time.Time
	issuer       *issuer.Issuer // set by New
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{hist: promtext.NewHistogram(latencyBuckets...), started: time.Now()}
}

func (m *Metrics) observe(status int, d time.Duration) {
	m.responses.Add(strconv.Itoa(status), 1)
	m.hist.Observe(d)
}

// ErrorCount returns how many replies carried the error code.
func (m *Metrics) ErrorCount(code issuer.Code) uint64 { return m.errors.Get(string(code)) }

// WriteTo writes the metrics in the Prometheus text format. The issuer's
// counters (cards issued, revocations) are read at scrape time.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	b := bufio.NewWriter(&buf)
	var st issuer.Stats
	if m.issuer != nil {
		st = m.issuer.Stats()
	}
	promtext.WriteValue(b, "shc_issuer_cards_issued_total", "Cards signed and stored (every route: lab API, FHIR operation, links, desk).", "counter", float64(st.CardsIssued))
	promtext.WriteValue(b, "shc_issuer_revocations_total", "Revocations stored (REV-4); each adds one CRL entry per key.", "counter", float64(st.Revocations))
	promtext.WriteValue(b, "shc_issuer_crl_entries_total", "CRL entries added by revocations.", "counter", float64(st.CRLEntries))
	promtext.WriteValue(b, "shc_issuer_links_created_total", "SMART Health Links created.", "counter", float64(m.linksCreated.Load()))
	promtext.WriteValue(b, "shc_issuer_links_revoked_total", "SMART Health Links revoked.", "counter", float64(m.linksRevoked.Load()))
	promtext.WriteLabeled(b, "shc_issuer_errors_total", "Error replies (OperationOutcome), by stable code.", "code", &m.errors, nil)
	promtext.WriteLabeled(b, "shc_issuer_http_responses_total", "HTTP responses, by status code.", "status", &m.responses, nil)
	promtext.WriteHistogram(b, "shc_issuer_request_duration_seconds", "Time to answer one request (every route).", m.hist)
	promtext.WriteValue(b, "shc_issuer_uptime_seconds", "Seconds since the service started.", "gauge", time.Since(m.started).Seconds())
	promtext.WriteValue(b, "go_goroutines", "Number of goroutines.", "gauge", float64(runtime.NumGoroutine()))
	if err := b.Flush(); err != nil {
		return 0, err
	}
	n, err := w.Write(buf.Bytes())
	return int64(n), err
}

// readyz answers 200 when the store answers and a signing key is active,
// else 503 in plain words (the cause goes to the log, never the reply).
func (s *server) readyz(c *echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if err := s.is.Ready(c.Request().Context()); err != nil {
		s.log.Warn("not ready", "code", string(issuer.CodeOf(err)), "err", err.Error())
		msg := "the store does not answer"
		if issuer.CodeOf(err) == issuer.CodeNoSigningKey {
			msg = "no active signing key"
		}
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": msg})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func (s *server) metricsPage(c *echo.Context) error {
	var buf bytes.Buffer
	if _, err := s.metrics.WriteTo(&buf); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, promtext.ContentType, buf.Bytes())
}

func (s *server) openAPI(c *echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/json", OpenAPI)
}
