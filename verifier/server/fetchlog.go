package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/healthcards/healthcards/verifier"
)

// maxFetchDetails bounds the fetch-failure lines one request writes.
const maxFetchDetails = 3

// logFetchFailures writes the causes of failed fetches to the log. The
// answer says only what could not be fetched, in plain words (issue 10):
// the URL and the transport error, which may name internal addresses, DNS
// resolvers or DNS answers, are for operators.
func (s *Server) logFetchFailures(ctx context.Context, results []*verifier.Result) {
	n := 0
	for _, r := range results {
		var fe *verifier.FetchError
		if r == nil || !errors.As(r.Err(), &fe) {
			continue
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "fetch failed", strAttr("url", fe.URL), strAttr("error", fe.Detail()))
		if n++; n == maxFetchDetails {
			return
		}
	}
}
