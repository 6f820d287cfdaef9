package promtext

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLabeledCounterBoundedAndEscaped(t *testing.T) {
	var l LabeledCounter
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l.Add("v"+strconv.Itoa(i), 1)
			}
		}()
	}
	wg.Wait()
	keys, vals := l.Snapshot()
	if len(keys) != MaxLabelValues+1 { // MaxLabelValues values, then "other"
		t.Fatalf("%d label values, want %d", len(keys), MaxLabelValues+1)
	}
	var total uint64
	for _, v := range vals {
		total += v
	}
	if total != 800 || l.Get("other") == 0 {
		t.Fatalf("total %d, other %d", total, l.Get("other"))
	}
	var q LabeledCounter
	q.Add("a\"b\\c\nd", 2)
	var buf bytes.Buffer
	b := bufio.NewWriter(&buf)
	WriteLabeled(b, "x_total", "X.", "code", &q, []string{"zero"})
	b.Flush()
	want := "# HELP x_total X.\n# TYPE x_total counter\nx_total{code=\"a\\\"b\\\\c\\nd\"} 2\nx_total{code=\"zero\"} 0\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestHistogramCumulative(t *testing.T) {
	h := NewHistogram(0.001, 0.01, 0.1)
	for _, d := range []time.Duration{0, 500 * time.Microsecond, time.Millisecond, 5 * time.Millisecond, time.Second} {
		h.Observe(d)
	}
	var buf bytes.Buffer
	b := bufio.NewWriter(&buf)
	WriteHistogram(b, "d_seconds", "D.", h)
	WriteValue(b, "g", "G.", "gauge", 1.5)
	b.Flush()
	for _, line := range []string{`d_seconds_bucket{le="0.001"} 3`, `d_seconds_bucket{le="0.01"} 4`, `d_seconds_bucket{le="0.1"} 4`,
		`d_seconds_bucket{le="+Inf"} 5`, "d_seconds_count 5", "d_seconds_sum 1.0065", "# TYPE g gauge\ng 1.5"} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("missing %q in\n%s", line, buf.String())
		}
	}
}
