package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
)

// PublishMaxAge is the Cache-Control max-age of the published key set, DID
// document and revocation lists: short enough that a verifier honouring it
// sees a revocation well within its revocation bound (the verifier's
// default is 5 minutes), long enough that a door refreshing every minute
// costs a 304 of a few hundred bytes.
const PublishMaxAge = 60 * time.Second

// versions remembers, per published path, the current content hash and
// when it first appeared, so Last-Modified moves only when the content
// does. It holds one entry per published document (the key set, the DID
// document and one revocation list per key): bounded by the issuer's keys.
type versions struct {
	mu sync.Mutex
	m  map[string]version
}

type version struct {
	etag     string
	modified time.Time // whole seconds; strictly increasing per path
}

const maxVersionPaths = 4096

// current returns the version of path whose content hashes to etag.
func (vs *versions) current(path, etag string, now time.Time) version {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.m == nil || len(vs.m) >= maxVersionPaths {
		vs.m = map[string]version{}
	}
	v, ok := vs.m[path]
	if ok && v.etag == etag {
		return v
	}
	mod := now.UTC().Truncate(time.Second)
	if ok && !mod.After(v.modified) {
		// Last-Modified has whole seconds: a second change within the same
		// second must still look newer to If-Modified-Since.
		mod = v.modified.Add(time.Second)
	}
	v = version{etag: etag, modified: mod}
	vs.m[path] = v
	return v
}

// serveCacheable writes v as JSON with a strong ETag (a hash of the body),
// Last-Modified and Cache-Control: public, max-age=PublishMaxAge, and
// answers 304 Not Modified to a matching If-None-Match or, without one, to
// an If-Modified-Since not before Last-Modified (RFC 9110 §13.1).
func (s *server) serveCacheable(c *echo.Context, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	ver := s.versions.current(c.Request().URL.Path, etag, time.Now())
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", ver.modified.Format(http.TimeFormat))
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(PublishMaxAge/time.Second)))
	if notModified(c.Request(), etag, ver.modified) {
		c.Response().WriteHeader(http.StatusNotModified)
		return nil
	}
	return c.JSONBlob(http.StatusOK, body)
}

// notModified applies the conditional request headers: If-None-Match wins
// when present (strong comparison; "*" matches); If-Modified-Since is read
// only without it.
func notModified(r *http.Request, etag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || t == etag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !modified.After(t)
	}
	return false
}
