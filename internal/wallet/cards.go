package wallet

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier"
)

// maxCardsPerInput bounds what one import or add keeps.
const maxCardsPerInput = 100

// Keep verifies every JWS with v and, only when all verify (VerdictVerified:
// authentic, from a trusted issuer, in time, not revoked), keeps them all.
// One card that does not verify refuses the whole input with
// card_not_verified: nothing of it is kept. It returns the kept cards (a
// card already in the wallet is returned, not duplicated).
func (w *Wallet) Keep(ctx context.Context, v *verifier.Verifier, jws []string, source string) ([]Card, error) {
	if len(jws) == 0 {
		return nil, nil
	}
	if len(jws) > maxCardsPerInput {
		return nil, newErr(CodeTooLarge, fmt.Sprintf("%d cards in one input; at most %d", len(jws), maxCardsPerInput), nil)
	}
	cards := make([]Card, 0, len(jws))
	for i, j := range jws {
		r := v.VerifyJWS(ctx, j)
		if !r.Valid {
			return nil, notVerified(i, len(jws), r)
		}
		c := Card{ID: CardID(j), JWS: j, Issuer: r.Issuer, Types: resourceTypes(r.FHIRBundle), Source: source, Added: w.now().UTC()}
		if r.NotBefore != nil {
			c.IssuedAt = r.NotBefore.Time().UTC()
		}
		cards = append(cards, c)
	}
	out := cards[:0]
	for _, c := range cards {
		if old, err := w.readCard(c.ID); err == nil {
			out = append(out, old)
			continue
		}
		if err := w.put([]Card{c}); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func notVerified(i, n int, r *verifier.Result) error {
	what := string(r.Verdict)
	if len(r.Errors) > 0 {
		what += ": " + string(r.Errors[0].Code) + ": " + r.Errors[0].Message
	}
	return &Error{Code: CodeCardNotVerified, Pkg: pkg, Msg: fmt.Sprintf("card %d of %d did not verify (%s); nothing was kept", i+1, n, what), Err: r.Err()}
}

// CredentialType maps a wallet --type word to a $health-cards-issue
// credentialType (OP-4, OP-6): immunization → Immunization, laboratory →
// Observation, covid19 and health-card → the smarthealth.cards URIs; a FHIR
// resource type name is used as it is.
func CredentialType(word string) (string, error) {
	switch strings.ToLower(word) {
	case "immunization", "immunisation", "vaccination":
		return "Immunization", nil
	case "laboratory", "lab", "observation":
		return "Observation", nil
	case "covid19", "covid-19":
		return "https://smarthealth.cards#covid19", nil
	case "health-card", "all":
		return "https://smarthealth.cards#health-card", nil
	}
	if resourceTypeRE.MatchString(word) {
		return word, nil
	}
	return "", fmt.Errorf("--type %q: want immunization, laboratory, covid19, health-card or a FHIR resource type", word)
}

var (
	resourceTypeRE = regexp.MustCompile(`^[A-Z][A-Za-z]{0,63}$`)
	// fhirDateTimeRE: a FHIR dateTime at year, month, day or second
	// precision with a zone (OP-4 _since).
	fhirDateTimeRE = regexp.MustCompile(`^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$`)
)

// ImportOptions configure Import.
type ImportOptions struct {
	// CredentialTypes are sent as credentialType (several mean AND, OP-5);
	// empty means https://smarthealth.cards#health-card (every card).
	CredentialTypes []string
	// Since is sent as _since (a FHIR dateTime), when not empty.
	Since string
	// Verifier checks each returned card before it is kept. Required.
	Verifier *verifier.Verifier
}

// Import asks the connected server for the patient's cards
// (POST FHIR-BASE/Patient/{patient}/$health-cards-issue, OP-3/OP-4),
// refreshing the access token first (freshGrant), and keeps them only when
// every one verifies (Keep). The server's refusal is issue_refused with
// its status and OperationOutcome code.
func (c *Client) Import(ctx context.Context, w *Wallet, opts ImportOptions) ([]Card, error) {
	if opts.Verifier == nil {
		return nil, fmt.Errorf("wallet: Import needs a Verifier")
	}
	if opts.Since != "" && !fhirDateTimeRE.MatchString(opts.Since) {
		return nil, fmt.Errorf("wallet: --since %q is not a FHIR date or dateTime (2026, 2026-03, 2026-03-01, 2026-03-01T00:00:00Z)", opts.Since)
	}
	conn, err := w.Connection()
	if err != nil {
		return nil, err
	}
	g, err := c.freshGrant(ctx, w, conn)
	if err != nil {
		return nil, err
	}
	types := opts.CredentialTypes
	if len(types) == 0 {
		types = []string{"https://smarthealth.cards#health-card"}
	}
	type param struct {
		Name          string `json:"name"`
		ValueURI      string `json:"valueUri,omitempty"`
		ValueDateTime string `json:"valueDateTime,omitempty"`
	}
	var ps []param
	for _, t := range types {
		ps = append(ps, param{Name: "credentialType", ValueURI: t})
	}
	if opts.Since != "" {
		ps = append(ps, param{Name: "_since", ValueDateTime: opts.Since})
	}
	body, _ := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": ps})
	u := conn.FHIRBase + "/Patient/" + g.Patient + "/$health-cards-issue"
	h := http.Header{"Authorization": {"Bearer " + g.AccessToken}, "Accept": {"application/fhir+json"}}
	resp, err := c.Fetch.Do(ctx, http.MethodPost, u, "application/fhir+json", body, h)
	if err != nil {
		return nil, newErr(CodeFetchFailed, "calling $health-cards-issue", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, newErr(CodeAuthorizationExpired, "the server refused the access token ("+outcome(resp.Body)+"): consent withdrawn or revoked? connect again", nil)
	case resp.StatusCode != http.StatusOK:
		return nil, newErr(CodeIssueRefused, fmt.Sprintf("$health-cards-issue answered %d: %s", resp.StatusCode, outcome(resp.Body)), nil)
	}
	jws, err := credentials(resp.Body)
	if err != nil {
		return nil, err
	}
	return w.Keep(ctx, opts.Verifier, jws, "import")
}

// credentials reads the verifiableCredential values of a Parameters
// response (OP-10); an answer with no parameter is "no cards", not an
// error.
func credentials(b []byte) ([]string, error) {
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name        string  `json:"name"`
			ValueString *string `json:"valueString"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.ResourceType != "Parameters" {
		return nil, newErr(CodeIssueRefused, "$health-cards-issue did not answer a FHIR Parameters resource (OP-10)", nil)
	}
	var out []string
	for _, x := range p.Parameter {
		if x.Name != "verifiableCredential" {
			continue
		}
		if x.ValueString == nil {
			return nil, newErr(CodeIssueRefused, "a verifiableCredential parameter has no valueString (OP-10)", nil)
		}
		if _, err := shc.Parse(*x.ValueString); err != nil {
			return nil, &Error{Code: CodeCardNotVerified, Pkg: pkg, Msg: "a returned credential is not a card; nothing was kept", Err: err}
		}
		out = append(out, *x.ValueString)
		if len(out) > maxCardsPerInput {
			return nil, newErr(CodeTooLarge, fmt.Sprintf("more than %d cards in one answer", maxCardsPerInput), nil)
		}
	}
	return out, nil
}

// outcome names an OperationOutcome's code and text, bounded and printable.
func outcome(b []byte) string {
	var oo struct {
		Issue []struct {
			Code    string `json:"code"`
			Details struct {
				Coding []struct{ Code string } `json:"coding"`
				Text   string                  `json:"text"`
			} `json:"details"`
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	if json.Unmarshal(b, &oo) != nil || len(oo.Issue) == 0 {
		return "no OperationOutcome"
	}
	is := oo.Issue[0]
	code := is.Code
	if len(is.Details.Coding) > 0 {
		code = is.Details.Coding[0].Code
	}
	text := is.Details.Text
	if text == "" {
		text = is.Diagnostics
	}
	text = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	if len(text) > 300 {
		text = text[:300] + "..."
	}
	return safeCode(code) + ": " + text
}

// VerifierFor builds the verifier an import uses: the connection's trusted
// issuers (keys fetched live from iss/.well-known/jwks.json, revocation
// required), its private origins and TLS roots, plus extra options (the
// CLI's trust flags).
func VerifierFor(conn *Connection, extra ...verifier.Option) (*verifier.Verifier, error) {
	opts := []verifier.Option{verifier.WithTrustedIssuers(conn.TrustedIssuers...)}
	if len(conn.PrivateOrigins) > 0 {
		opts = append(opts, verifier.WithPrivateOrigins(conn.PrivateOrigins...))
	}
	if conn.CACertPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(conn.CACertPEM)) {
			return nil, fmt.Errorf("wallet: the stored CA certificate is not PEM")
		}
		opts = append(opts, verifier.WithRootCAs(pool))
	}
	return verifier.New(append(opts, extra...)...)
}

// resourceTypes lists the resource types of a verified bundle's entries
// (Patient left out), sorted and unique: what the card holds (OP-5).
func resourceTypes(bundle []byte) []string {
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(bundle, &b) != nil {
		return nil
	}
	var out []string
	for _, e := range b.Entry {
		if t := e.Resource.ResourceType; t != "" && t != "Patient" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}
