package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/verifier"
)

// SnapshotVerifier is a CardVerifier that can export what it trusts for
// the scanning page's on-device mode (GET /v1/trust-snapshot, issue 11).
// *Trust is one.
type SnapshotVerifier interface {
	TrustSnapshot(ctx context.Context) ([]byte, error)
}

// TrustSnapshot exports the trust of the current verifier (see
// verifier.Verifier.TrustSnapshot).
func (t *Trust) TrustSnapshot(ctx context.Context) ([]byte, error) { return t.v.TrustSnapshot(ctx) }

// snapshotMaxAge is how long one built snapshot is served before it is
// built again: short next to any revocation bound (at least 1 s), so the
// page's refreshes within the bound see fresh lists.
const snapshotMaxAge = 10 * time.Second

type snapshotCache struct {
	mu      sync.Mutex
	body    []byte
	etag    string
	builtAt time.Time
}

// handleTrustSnapshot serves the trust snapshot: trusted issuers, their
// keys and revocation lists, the time of the oldest list, the revocation
// bound and policy. It holds public material only. Conditional requests
// (If-None-Match) get 304.
func (s *Server) handleTrustSnapshot(c *echo.Context) error {
	sv, ok := s.cfg.Verifier.(SnapshotVerifier)
	if !ok {
		return newProblem(http.StatusNotFound, CodeNotFound, "this service publishes no trust snapshot")
	}
	sc := &s.snapshot
	sc.mu.Lock()
	if sc.body == nil || time.Since(sc.builtAt) > snapshotMaxAge {
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.VerifyTimeout)
		b, err := sv.TrustSnapshot(ctx)
		cancel()
		if err != nil {
			sc.mu.Unlock()
			s.log.LogAttrs(c.Request().Context(), levelInfo, "trust snapshot not built", strAttr("error", err.Error()))
			return newProblem(http.StatusServiceUnavailable, CodeNotReady, "the trust snapshot could not be built")
		}
		sum := sha256.Sum256(b)
		sc.body, sc.etag, sc.builtAt = b, `"`+base64.RawURLEncoding.EncodeToString(sum[:16])+`"`, time.Now()
	}
	body, etag := sc.body, sc.etag
	sc.mu.Unlock()
	h := c.Response().Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if c.Request().Header.Get("If-None-Match") == etag {
		c.Response().WriteHeader(http.StatusNotModified)
		return nil
	}
	return c.Blob(http.StatusOK, verifier.TrustSnapshotMediaType, body)
}
