// Package loadtest is a small closed-loop HTTP load generator for the
// verifier service: Concurrency workers POST the same body for Duration and
// the run reports throughput and latency percentiles. It is used by
// BenchmarkVerifyService; it can drive any running service.
package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes one run.
type Config struct {
	URL         string        // e.g. http://127.0.0.1:8080/v1/verify
	ContentType string        // e.g. application/json
	Body        []byte        // request body, sent unchanged every time
	Concurrency int           // parallel workers; 0 means 32
	Duration    time.Duration // 0 means 10 s
	Requests    int           // when > 0, stop after this many requests instead
	// Check, when set, validates each response body; a non-nil error counts
	// as a failed request.
	Check func(status int, body []byte) error
}

// Result summarises a run.
type Result struct {
	Requests  int
	Failures  int
	FirstErr  error
	Elapsed   time.Duration
	PerSecond float64
	P50, P90  time.Duration
	P99, Max  time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests (%d failed) in %s: %.0f/s, p50 %s, p90 %s, p99 %s, max %s",
		r.Requests, r.Failures, r.Elapsed.Round(time.Millisecond), r.PerSecond,
		r.P50.Round(time.Microsecond), r.P90.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
}

// Run sends requests until Duration passes (or Requests are done) or ctx
// ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        cfg.Concurrency * 2,
			MaxIdleConnsPerHost: cfg.Concurrency * 2,
			IdleConnTimeout:     time.Minute,
		},
	}
	defer client.CloseIdleConnections()
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	var (
		mu       sync.Mutex
		lat      []time.Duration
		failures int
		firstErr error
		budget   = make(chan struct{}, max(cfg.Requests, 1))
	)
	if cfg.Requests > 0 {
		for i := 0; i < cfg.Requests; i++ {
			budget <- struct{}{}
		}
		close(budget)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			var fails int
			var ferr error
			for runCtx.Err() == nil {
				if cfg.Requests > 0 {
					if _, ok := <-budget; !ok {
						break
					}
				}
				t0 := time.Now()
				err := once(runCtx, client, cfg)
				d := time.Since(t0)
				if runCtx.Err() != nil && err != nil {
					break // cut off by the deadline: not a failure
				}
				local = append(local, d)
				if err != nil {
					fails++
					if ferr == nil {
						ferr = err
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			failures += fails
			if firstErr == nil {
				firstErr = ferr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := Result{Requests: len(lat), Failures: failures, FirstErr: firstErr, Elapsed: elapsed}
	if len(lat) > 0 {
		r.PerSecond = float64(len(lat)) / elapsed.Seconds()
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		r.P50, r.P90, r.P99, r.Max = pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1]
	}
	return r, nil
}

func once(ctx context.Context, client *http.Client, cfg Config) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(cfg.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", cfg.ContentType)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if cfg.Check != nil {
		return cfg.Check(resp.StatusCode, body)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// RSSBytes returns the resident set size of this process (Linux), or 0.
func RSSBytes() int64 { return procStatus("VmRSS:") }

// procStatus reads a kB field of /proc/self/status, in bytes.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// CPUTime returns the user plus system CPU time this process has used
// (Linux, from getrusage), or 0.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ResetPeakRSS resets the process's peak resident set size (Linux: writes
// 5 to /proc/self/clear_refs), so PeakRSSBytes reports the peak from now.
func ResetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSSBytes returns the peak resident set size of this process (VmHWM,
// Linux) since start or the last ResetPeakRSS, or 0.
func PeakRSSBytes() int64 { return procStatus("VmHWM:") }
