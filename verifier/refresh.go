package verifier

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/healthcards/healthcards/safehttp"
)

// fetched is one live document (key set, DID document, revocation list)
// with what is needed to ask for it again cheaply.
type fetched struct {
	body        []byte // nil when notModified
	notModified bool   // 304: the caller's copy is current
	etag        string
	lastMod     string
	maxAge      time.Duration // the issuer's Cache-Control max-age; -1 when none
}

// validators are the ETag and Last-Modified of a cached document.
type validators struct{ etag, lastMod string }

// getCond fetches url through the guarded client as get does, sending the
// validators of the cached copy, if any. A 304 is counted in Stats and
// returned with notModified set; a 304 to an unconditional request is a
// failure.
func (v *Verifier) getCond(ctx context.Context, url string, limit int64, prev validators) (fetched, error) {
	if v.fetch == nil {
		return fetched{}, fmt.Errorf("offline: not fetching %s", url)
	}
	v.stats.fetches.Add(1)
	resp, err := v.fetch.GetConditional(ctx, url, prev.etag, prev.lastMod)
	if err != nil {
		v.stats.fetchFailures.Add(1)
		return fetched{}, &FetchError{URL: url, Err: err}
	}
	f := fetched{etag: resp.Header.Get("ETag"), lastMod: resp.Header.Get("Last-Modified"), maxAge: maxAge(resp.Header)}
	switch {
	case resp.StatusCode == http.StatusNotModified && (prev.etag != "" || prev.lastMod != ""):
		v.stats.notModified.Add(1)
		f.notModified = true
		if f.etag == "" {
			f.etag = prev.etag
		}
		if f.lastMod == "" {
			f.lastMod = prev.lastMod
		}
		return f, nil
	case resp.StatusCode != http.StatusOK:
		v.stats.fetchFailures.Add(1)
		return fetched{}, &FetchError{URL: url, Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	case int64(len(resp.Body)) > limit:
		v.stats.fetchFailures.Add(1)
		return fetched{}, &FetchError{URL: url, Err: fmt.Errorf("body of %d bytes exceeds %d", len(resp.Body), limit)}
	}
	f.body = resp.Body
	return f, nil
}

// maxAge reads max-age from Cache-Control (no-cache and no-store count as
// 0); -1 when absent or unreadable.
func maxAge(h http.Header) time.Duration {
	d := time.Duration(-1)
	for _, part := range strings.Split(h.Get("Cache-Control"), ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(name) {
		case "no-cache", "no-store":
			return 0
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
			if err == nil && n >= 0 {
				d = time.Duration(min(n, int64(MaxRevocationMaxAge/time.Second))) * time.Second
			}
		}
	}
	return d
}

// refreshAfter is the age past which a cached document is refreshed in
// the background: the issuer's max-age (d/2 without one) kept within
// [min(10 s, d/2), d/2], where d is the smaller of the cache TTL and the
// revocation bound. Refreshing by d/2 leaves the refresh half the bound to
// succeed before the cached copy may no longer answer.
func (v *Verifier) refreshAfter(issuerMaxAge, ttl time.Duration) time.Duration {
	half := min(ttl, v.cfg.revMaxAge) / 2
	d := half
	if issuerMaxAge >= 0 {
		d = issuerMaxAge
	}
	return min(max(d, min(minRefresh, half)), half)
}

// fetchTimeout bounds a background refresh.
func (v *Verifier) fetchTimeout() time.Duration {
	if v.cfg.fetchTimeout > 0 {
		return v.cfg.fetchTimeout
	}
	return safehttp.DefaultTimeout
}

// background runs f as a background refresh: counted in Stats, bounded by
// the fetch timeout, detached from the request that noticed the stale
// entry (whose end must not cancel a refresh others wait for).
func (v *Verifier) background(f func(ctx context.Context)) {
	v.stats.refreshes.Add(1)
	v.bg.Add(1)
	go func() {
		defer v.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), v.fetchTimeout())
		defer cancel()
		f(ctx)
	}()
}

// WaitRefreshes waits for the background refreshes under way. Call it only
// when no verification is running (tests, shutdown after the last
// request): a verification may start a refresh.
func (v *Verifier) WaitRefreshes() { v.bg.Wait() }
