package bulk

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/store"
)

// Linker creates the SMART Health Link of one patient's cards. The
// issuer service's links (httpapi.Links.CardLink) implement it with the
// code path of POST /v1/links.
type Linker interface {
	// CardLink shares the cards (compact JWS) in one .smart-health-card
	// file behind a link with id req.ID. When a link with that id exists
	// (an earlier attempt, or another replica, made it) it is returned
	// unchanged and no second link is made.
	CardLink(ctx context.Context, req LinkRequest) (LinkResult, error)
}

// LinkRequest is one patient's link.
type LinkRequest struct {
	// ID is the link's manifest id (43 base64url characters, 256 bits,
	// SHL-4), derived from the batch and patient with the issuer's secret.
	ID        string
	Actor     string // the batch's submitter: the link's creator
	PatientID string
	Passcode  string // "" for none
	Label     string
	Expires   time.Time // zero: no expiry
	JWS       []string
}

// LinkResult is a patient's link in its result line.
type LinkResult struct {
	ID       string `json:"id"`
	URI      string `json:"shlink"`             // shlink:/…
	Exp      int64  `json:"exp,omitempty"`      // Unix seconds
	Passcode string `json:"passcode,omitempty"` // when the run asked for passcodes
	QR       string `json:"qr"`                 // qr/ID-link.png
}

// link creates (or finds, on a resumed attempt) the patient's link. Its id
// and passcode derive from the idempotency key with the issuer's secret,
// so every attempt and every replica names the same link: a patient never
// gets two.
func (r *run) link(ctx context.Context, res *Result, key, pid string, cards []store.IssuedCard) error {
	is := r.cfg.Issuer
	id, err := derived(is.IdempotentCardID("shl-id\x00"+key, 0), is.IdempotentCardID("shl-id\x00"+key, 1))
	if err != nil {
		return err
	}
	req := LinkRequest{ID: base64.RawURLEncoding.EncodeToString(id), Actor: r.cfg.Actor, PatientID: pid, JWS: make([]string, len(cards))}
	for i, c := range cards {
		req.JWS[i] = c.JWS
	}
	if r.cfg.Outputs.LinkExp > 0 {
		req.Expires = time.Unix(r.cfg.Outputs.LinkExp, 0)
	}
	if r.cfg.Outputs.LinkPasscode {
		if req.Passcode, err = linkPasscode(is, key); err != nil {
			return err
		}
	}
	l, err := r.cfg.Linker.CardLink(ctx, req)
	if err != nil {
		return err
	}
	l.Passcode = req.Passcode
	l.QR = filepath.Join("qr", pid+"-link.png")
	res.Link = &l
	return r.out.writeLink(res, cards)
}

// linkPasscode is the passcode of the link of the issuance with this
// idempotency key (batch and patient): 8 digits from an HMAC under the rid
// secret, so that it need not be stored (the Manager records result lines
// without it and derives it again for downloads; the link host keeps only
// its argon2id hash).
func linkPasscode(is *issuer.Issuer, key string) (string, error) {
	b, err := derived(is.IdempotentCardID("shl-passcode\x00"+key, 0))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%08d", binary.BigEndian.Uint64(b)%100_000_000), nil
}

func derived(parts ...string) ([]byte, error) {
	var out []byte
	for _, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}
