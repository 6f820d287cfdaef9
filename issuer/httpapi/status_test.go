package httpapi

import (
	"net/http"
	"testing"
)

// A code the service answers with (its own, or one given to a status the
// framework answered by itself) always comes back with the same status: an
// error carrying rate_limited or forbidden is never a 400.
func TestStatusCodesRoundTrip(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType,
		http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusBadRequest, http.StatusInternalServerError} {
		code := httpStatusCode(status)
		if got := statusOf(code); got != status {
			t.Errorf("status %d -> code %s -> status %d", status, code, got)
		}
	}
}
