// Package promtext writes metrics in the Prometheus text exposition format
// (version 0.0.4), shared by the verifier and issuer services so the format
// is written once: labelled counters with a bounded number of label
// values, a fixed-bucket histogram, and single-value gauges or counters.
//
// All types are safe for concurrent use and lock-free on the hot path (a
// read lock only when a label value is new).
//
// # Security considerations
//
// Label values come from code (error codes, verdicts, statuses), never from
// requests; LabeledCounter still caps them at MaxLabelValues (extra values
// count as "other") and escapes them, so a caller that passes an unexpected
// value cannot grow memory without limit or break the output.
package promtext

import (
	"bufio"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// MaxLabelValues bounds each LabeledCounter; extra values count as "other".
const MaxLabelValues = 64

// LabeledCounter is a counter with one label. The zero value is ready.
type LabeledCounter struct {
	mu sync.RWMutex
	m  map[string]*atomic.Uint64
}

// Add adds n to the counter of label.
func (l *LabeledCounter) Add(label string, n uint64) {
	l.mu.RLock()
	c, ok := l.m[label]
	l.mu.RUnlock()
	if !ok {
		l.mu.Lock()
		if l.m == nil {
			l.m = map[string]*atomic.Uint64{}
		}
		if c, ok = l.m[label]; !ok {
			if len(l.m) >= MaxLabelValues {
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

// Get returns the counter of label (0 if never added).
func (l *LabeledCounter) Get(label string) uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if c, ok := l.m[label]; ok {
		return c.Load()
	}
	return 0
}

// Snapshot returns the label values, sorted, and their counts.
func (l *LabeledCounter) Snapshot() ([]string, []uint64) {
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

// Histogram counts durations into fixed buckets. Build it with
// NewHistogram.
type Histogram struct {
	bounds []float64 // seconds, ascending
	counts []atomic.Uint64
	sumNs  atomic.Uint64
	count  atomic.Uint64
}

// NewHistogram returns a histogram with the given ascending upper bounds in
// seconds (+Inf is added).
func NewHistogram(bounds ...float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	i := sort.SearchFloat64s(h.bounds, d.Seconds()) // first bound >= d
	h.counts[i].Add(1)
	if d > 0 {
		h.sumNs.Add(uint64(d))
	}
	h.count.Add(1)
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// WriteLabeled writes a labelled counter; always lists label values
// reported as 0 when never seen, so that rate() works from the start.
func WriteLabeled(b *bufio.Writer, name, help, label string, l *LabeledCounter, always []string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	keys, vals := l.Snapshot()
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		seen[k] = true
		fmt.Fprintf(b, "%s{%s=\"%s\"} %d\n", name, label, EscapeLabel(k), vals[i])
	}
	for _, k := range always {
		if !seen[k] {
			fmt.Fprintf(b, "%s{%s=\"%s\"} 0\n", name, label, EscapeLabel(k))
		}
	}
}

// WriteHistogram writes h with cumulative buckets, _sum and _count.
func WriteHistogram(b *bufio.Writer, name, help string, h *Histogram) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum uint64
	for i, le := range h.bounds {
		cum += h.counts[i].Load()
		fmt.Fprintf(b, "%s_bucket{le=\"%s\"} %d\n", name, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	cum += h.counts[len(h.bounds)].Load()
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n", name, cum)
	fmt.Fprintf(b, "%s_sum %s\n", name, strconv.FormatFloat(float64(h.sumNs.Load())/1e9, 'g', -1, 64))
	fmt.Fprintf(b, "%s_count %d\n", name, h.count.Load())
}

// WriteValue writes one metric without labels; typ is "gauge" or
// "counter".
func WriteValue(b *bufio.Writer, name, help, typ string, v float64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, typ, name, strconv.FormatFloat(v, 'g', -1, 64))
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// EscapeLabel escapes a label value (backslash, double quote, newline).
func EscapeLabel(s string) string { return labelEscaper.Replace(s) }
