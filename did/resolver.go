package did

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/safehttp"
)

// Resolver resolves did:web and did:key DIDs to DID documents. It is a
// project extension (KEY-12): SMART Health Cards discover keys only at
// iss + "/.well-known/jwks.json", and that path stays primary for https
// issuers.
type Resolver struct {
	// Fetch is the guarded client for did:web documents. Nil means did:web
	// resolution fails with ErrFetch (did:key needs no network).
	Fetch *safehttp.Client
}

// Resolve returns the DID document of did.
//
//   - did:key: the document is synthesized from the key (NewDocument with
//     its one P-256 key); nothing is fetched.
//   - did:web: the document at WebURL(did) is fetched through r.Fetch and
//     parsed (bounded by MaxDocumentBytes); its id must equal did
//     (ErrMismatch). 404 and 410 are ErrNotFound; other failures ErrFetch,
//     or ErrTooLarge for an oversized body.
//
// Other methods are ErrUnsupportedMethod.
func (r *Resolver) Resolve(ctx context.Context, did string) (*Document, error) {
	switch {
	case strings.HasPrefix(did, keyPrefix):
		pub, err := ParseKey(did)
		if err != nil {
			return nil, err
		}
		d := NewDocument(did, []keys.JWK{keys.PublicJWK(pub, nil)})
		return &d, nil
	case strings.HasPrefix(did, webPrefix):
		return r.resolveWeb(ctx, did)
	case strings.HasPrefix(did, "did:"):
		method, _, _ := strings.Cut(strings.TrimPrefix(did, "did:"), ":")
		if len(method) > 32 {
			method = method[:32] + "..."
		}
		return nil, newErr(CodeUnsupportedMethod, fmt.Sprintf("DID method %q is not supported (only key and web)", method), nil)
	default:
		return nil, newErr(CodeMalformedDID, "not a DID", nil)
	}
}

func (r *Resolver) resolveWeb(ctx context.Context, did string) (*Document, error) {
	url, err := WebURL(did)
	if err != nil {
		return nil, err
	}
	if r.Fetch == nil {
		return nil, newErr(CodeFetch, "resolver has no fetch client for did:web", nil)
	}
	resp, err := r.Fetch.Get(ctx, url)
	if err != nil {
		if errors.Is(err, safehttp.ErrTooLarge) {
			return nil, newErr(CodeTooLarge, "fetching "+url, err)
		}
		return nil, newErr(CodeFetch, "fetching "+url, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, newErr(CodeNotFound, fmt.Sprintf("%s: HTTP %d", url, resp.StatusCode), nil)
	default:
		return nil, newErr(CodeFetch, fmt.Sprintf("%s: HTTP %d", url, resp.StatusCode), nil)
	}
	return ParseDocumentFor(did, resp.Body)
}
