package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/healthcards/healthcards/shl"
)

// LinkOptions configure ShareLink.
type LinkOptions struct {
	Passcode string
	// Expires is when the link stops working; zero leaves it to the host.
	Expires time.Time
	Label   string
}

// ShareLink asks the connected issuer's SMART Health Link host
// (ISS/v1/links, the same API as "shc link create") for a link to the
// patient's cards, authorized by the wallet's grant: the issuer shares the
// cards of this patient its policies and the person's consent allow, as it
// issues them now (which includes the card, when it is still valid). card
// must come from the connected issuer, on the origin of the FHIR base: the
// bearer token is sent nowhere else (a card from another --trusted-issuer
// is refused with issue_refused before anything is sent).
func (c *Client) ShareLink(ctx context.Context, w *Wallet, card Card, opts LinkOptions) (string, error) {
	conn, err := w.Connection()
	if err != nil {
		return "", err
	}
	if !slices.Contains(conn.TrustedIssuers, card.Issuer) {
		return "", newErr(CodeIssueRefused, "the card is not from the connected issuer; share it as a QR code or a file instead", nil)
	}
	// The access token goes only to the origin the person authorized: a
	// card from another trusted issuer (connect --trusted-issuer) is on
	// another origin, which must never see this grant's bearer token.
	if Origin(card.Issuer) == "" || Origin(card.Issuer) != Origin(conn.FHIRBase) {
		return "", newErr(CodeIssueRefused, "the card's issuer is not on the origin of the FHIR server the wallet is connected to ("+Origin(conn.FHIRBase)+"); the wallet's access token goes nowhere else: share it as a QR code or a file instead", nil)
	}
	g, err := c.freshGrant(ctx, w, conn)
	if err != nil {
		return "", err
	}
	req := map[string]any{"patientId": g.Patient}
	if opts.Passcode != "" {
		req["passcode"] = opts.Passcode
	}
	if !opts.Expires.IsZero() {
		req["exp"] = opts.Expires.Unix()
	}
	if opts.Label != "" {
		req["label"] = opts.Label
	}
	body, _ := json.Marshal(req)
	h := http.Header{"Authorization": {"Bearer " + g.AccessToken}, "Accept": {"application/json"}}
	resp, err := c.Fetch.Do(ctx, http.MethodPost, card.Issuer+"/v1/links", "application/json", body, h)
	if err != nil {
		return "", newErr(CodeFetchFailed, "asking the issuer for a link", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", newErr(CodeIssueRefused, fmt.Sprintf("the issuer's link host answered %d: %s", resp.StatusCode, outcome(resp.Body)), nil)
	}
	var out struct {
		ShLink string `json:"shlink"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return "", newErr(CodeIssueRefused, "the issuer's answer is not a link", nil)
	}
	if _, err := shl.Parse(out.ShLink); err != nil {
		return "", newErr(CodeIssueRefused, "the issuer returned an invalid link", err)
	}
	return out.ShLink, nil
}

// Revoke asks the server to revoke the stored refresh token (RFC 7009, at
// the SMART configuration's revocation_endpoint), which ends the grant. It
// reports false when the server names no revocation endpoint or the wallet
// holds no refresh token; the wallet's own copy is deleted by Disconnect.
func (c *Client) Revoke(ctx context.Context, w *Wallet) (bool, error) {
	conn, err := w.Connection()
	if err != nil {
		return false, err
	}
	if conn.RevocationEndpoint == "" {
		return false, nil
	}
	g, err := w.Grant()
	if err != nil {
		return false, err
	}
	tok, hint := g.RefreshToken, "refresh_token"
	if tok == "" {
		tok, hint = g.AccessToken, "access_token"
	}
	form := url.Values{"token": {tok}, "token_type_hint": {hint}, "client_id": {conn.ClientID}}
	resp, err := c.Fetch.Post(ctx, conn.RevocationEndpoint, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return false, newErr(CodeFetchFailed, "revoking the authorization", err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, newErr(CodeAuthorizationFailed, fmt.Sprintf("the revocation endpoint answered %d", resp.StatusCode), nil)
	}
	return true, nil
}

// Replace stores a new connection and grant (SaveConnection) after asking
// the previous connection's server, if any, to revoke the refresh token
// the wallet is about to forget (RFC 7009, as Disconnect's caller does), so
// a reconnect leaves no live grant behind. Revocation is best effort: when
// it fails (server unreachable, old grant unreadable) the new connection is
// stored all the same and the failure is returned as revokeErr for the
// caller to warn about; err is only a failure to store.
func Replace(ctx context.Context, w *Wallet, conn *Connection, g *Grant) (revokeErr, err error) {
	if old, cerr := w.Connection(); cerr == nil {
		c, nerr := NewClient(old)
		if nerr == nil {
			_, revokeErr = c.Revoke(ctx, w)
		} else {
			revokeErr = nerr
		}
	} else if !errors.Is(cerr, ErrNotConnected) {
		revokeErr = cerr
	}
	return revokeErr, w.SaveConnection(conn, g)
}
