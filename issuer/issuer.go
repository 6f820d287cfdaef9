package issuer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// KeySet is the issuer's signing keys: keys.Ring implements it. Active is
// the key that signs new cards; PublicJWKS is what /.well-known/jwks.json
// serves (every published key, each with crlVersion, KEY-11).
type KeySet interface {
	Active() (keys.Signer, error)
	PublicJWKS(crlVersion func(kid string) int) keys.JWKS
}

// Store is the persistence an Issuer uses: the patient data labs send
// (results, and the source of cards), issued cards, revocation lists and
// the audit log. API tokens are not among them (see issuer/auth).
type Store interface {
	store.PatientStore
	store.CardStore
	store.RevocationStore
	store.AuditStore
}

// Config configures an Issuer. Zero values are safe defaults where noted;
// Iss, Keys, Store and RIDSecret are required.
type Config struct {
	// Iss is the issuer identifier put in every card (PAY-1): an https URL
	// without a trailing slash (KEY-4), or a did:web / did:key DID (a project
	// extension, KEY-12).
	Iss string
	// Keys holds the signing keys.
	Keys KeySet
	// Store persists patient data, cards, revocations and the audit log
	// (a store.Store has all of it).
	Store Store
	// RIDSecret is the rid HMAC secret in string form (REV-3); see
	// NewRIDSecret. Required: every card carries a rid.
	RIDSecret string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// QRLevel is the error-correction level of QR codes; the single-QR
	// size limit follows from it (SIZE-3). Zero is shc.QRLevelL.
	QRLevel shc.QRLevel
	// MaxBundleBytes caps bundles; 0 means DefaultMaxBundleBytes.
	MaxBundleBytes int
	// Logger receives operational messages without PHI; nil discards.
	Logger *slog.Logger
}

// Issuer issues, stores and revokes SMART Health Cards. It is safe for
// concurrent use.
type Issuer struct {
	cfg Config
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	signers map[string]*shc.Signer // by kid

	batch *batcher // group commit of issued cards; nil if the store has no PutCards

	// issueFloor (unix ms) is the earliest nbf of new cards, raised by
	// "issued before now" revocations (REV-5) so that a card issued in the
	// same second as the revocation is not revoked by it.
	issueFloor atomic.Int64

	stats stats
}

// New checks cfg and returns an Issuer.
func New(cfg Config) (*Issuer, error) {
	if err := CheckIss(cfg.Iss); err != nil {
		return nil, err
	}
	if cfg.Keys == nil {
		return nil, errors.New("issuer: Config.Keys is required")
	}
	if cfg.Store == nil {
		return nil, errors.New("issuer: Config.Store is required")
	}
	if len(cfg.RIDSecret) < 32 {
		return nil, errors.New("issuer: Config.RIDSecret is required (at least 32 characters; see NewRIDSecret)")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	is := &Issuer{cfg: cfg, now: now, log: log, signers: map[string]*shc.Signer{}}
	if bs, ok := cfg.Store.(CardBatchStore); ok {
		is.batch = &batcher{st: bs}
	}
	return is, nil
}

// CheckIss accepts an https URL without trailing slash, query or fragment
// (KEY-4), or a did:web / did:key identifier.
func CheckIss(iss string) error {
	switch {
	case strings.HasPrefix(iss, "did:web:"), strings.HasPrefix(iss, "did:key:z"):
		if strings.ContainsAny(iss, " ?#/") {
			return fmt.Errorf("issuer: iss %q: a DID without path, query or fragment is required", iss)
		}
		return nil
	case !strings.HasPrefix(iss, "https://") || len(iss) <= len("https://"):
		return fmt.Errorf("issuer: iss %q must be an https URL (KEY-4) or a did:web/did:key DID", iss)
	case strings.HasSuffix(iss, "/"):
		return fmt.Errorf("issuer: iss %q must not end with / (KEY-4)", iss)
	case strings.ContainsAny(iss, "?# "):
		return fmt.Errorf("issuer: iss %q must not have a query or fragment", iss)
	}
	return nil
}

// Iss returns the issuer identifier.
func (is *Issuer) Iss() string { return is.cfg.Iss }

// Store returns the store.
func (is *Issuer) Store() Store { return is.cfg.Store }

// Now returns the issuer clock's time.
func (is *Issuer) Now() time.Time { return is.now() }

// MaxBundleBytes returns the bundle size limit IssueBundle applies
// (Config.MaxBundleBytes, or DefaultMaxBundleBytes).
func (is *Issuer) MaxBundleBytes() int {
	if is.cfg.MaxBundleBytes > 0 {
		return is.cfg.MaxBundleBytes
	}
	return DefaultMaxBundleBytes
}

// QRLevel returns the configured error-correction level.
func (is *Issuer) QRLevel() shc.QRLevel { return is.cfg.QRLevel }

// MaxSingleQRJWS is the longest JWS that fits one version-22 QR at the
// configured level (SIZE-3: 1195 at L, 927 M, 670 Q, 519 H).
func (is *Issuer) MaxSingleQRJWS() int { return shc.MaxQRJWSLen(is.cfg.QRLevel, len(shc.QRScheme)) }

func (is *Issuer) signer() (*shc.Signer, error) {
	k, err := is.cfg.Keys.Active()
	if err != nil {
		return nil, wrapErr(CodeNoSigningKey, "no active signing key; run `shc-issuer keys rotate`", err)
	}
	kid := k.KeyID()
	is.mu.Lock()
	defer is.mu.Unlock()
	if s, ok := is.signers[kid]; ok {
		return s, nil
	}
	s, err := shc.NewSigner(k)
	if err != nil {
		return nil, wrapErr(CodeInternal, "signing key unusable", err)
	}
	if s.KeyID() != kid {
		return nil, errf(CodeInternal, "signer kid does not match the key ring")
	}
	is.signers[kid] = s
	return s, nil
}

// PublishedKids returns the kids of every key in the published JWKS.
func (is *Issuer) PublishedKids() []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range is.cfg.Keys.PublicJWKS(nil).Keys {
		if !seen[k.Kid] {
			seen[k.Kid] = true
			out = append(out, k.Kid)
		}
	}
	return out
}

// Delivery says how a card will reach the holder, which decides the size
// rule applied to it.
type Delivery int

const (
	// DeliverQR (default): the card must fit one version-22 QR at the
	// configured level, else ErrCardTooLargeForQR.
	DeliverQR Delivery = iota
	// DeliverQRChunks allows deprecated legacy chunked QRs (SIZE-2, QR-7)
	// for cards that do not fit one QR.
	DeliverQRChunks
	// DeliverFile is for .smart-health-card files (or FHIR / links), where
	// size does not matter; no QR text is produced.
	DeliverFile
)

// IssueOptions adjust one issuance.
type IssueOptions struct {
	// Actor is recorded in the audit log: a token id, "patient:<id>", "cli".
	Actor string
	// Delivery picks the size rule; zero is DeliverQR.
	Delivery Delivery
	// IdentityClaims narrows the Patient elements on the card (OP-9), e.g.
	// "Patient.name". Empty means DefaultIdentityClaims. Elements outside
	// AllowedIdentityClaims are never included.
	IdentityClaims []string
	// IdempotencyKey, when set, gives the cards of this issuance ids derived
	// from it (see IdempotentCardID) instead of random ones, so that a
	// repeated issuance (a bulk run resumed after a crash) is refused by the
	// store with store.ErrConflict and finds the stored cards with
	// IdempotentCards instead of issuing twice.
	IdempotencyKey string
}

// Card is one issued card.
type Card struct {
	ID       string    // random id used in download links
	JWS      string    // compact JWS (HDR-1)
	Kid      string    // signing key
	RID      string    // revocation id (REV-3)
	Types    []string  // FHIR resource types on the card, sorted
	IssuedAt time.Time // nbf
	// QR holds the shc:/ texts: one for a single QR, several for legacy
	// chunks, none for DeliverFile.
	QR []string
	// Resources maps each bundled entry to its source resource (OP-11).
	Resources []CardResource
}

// CardResource links a card entry to the source resource.
type CardResource struct {
	Bundled string // "resource:N"
	Type    string
	ID      string
}

// IssueBundle validates a lab's FHIR R4 bundle, splits it into granular
// cards (PAY-10), signs them and records them in the store with an audit
// event each. Either every card is issued or none (size errors are found
// before anything is stored).
func (is *Issuer) IssueBundle(ctx context.Context, bundle []byte, opts IssueOptions) ([]Card, error) {
	pb, err := parseBundle(bundle, is.cfg.MaxBundleBytes)
	if err != nil {
		return nil, err
	}
	groups := splitGranular(pb.Resources)
	attachSupporting(groups, pb.Supporting)
	return is.issueGroups(ctx, pb.Patient, groups, opts)
}

func (is *Issuer) issueGroups(ctx context.Context, p patientRecord, groups []*group, opts IssueOptions) ([]Card, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	s, err := is.signer()
	if err != nil {
		return nil, err
	}
	patientJSON, err := narrowPatient(p.JSON, opts.IdentityClaims)
	if err != nil {
		return nil, err
	}
	now := is.issueTime()
	rid := RID(is.cfg.RIDSecret, s.KeyID(), p.ID)
	maxQR := is.MaxSingleQRJWS()
	cards := make([]Card, 0, len(groups))
	for gi, g := range groups {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		full, links := cardBundle(p, patientJSON, g)
		minified, err := shc.Minify(full)
		if err != nil {
			return nil, wrapErr(CodeInvalidBundle, "cannot minify the card bundle", err)
		}
		pl := shc.NewPayload(is.cfg.Iss, now, minified)
		pl.VC.RID = rid
		jws, err := s.Sign(pl)
		if err != nil {
			return nil, wrapErr(CodeInternal, "signing failed", err)
		}
		c := Card{JWS: jws, Kid: s.KeyID(), RID: rid, Types: g.types(), IssuedAt: pl.NotBefore.Time(), Resources: links}
		switch opts.Delivery {
		case DeliverFile:
		case DeliverQRChunks:
			chunk := min(shc.MaxChunkJWS, shc.MaxQRJWSLen(is.cfg.QRLevel, len("shc:/99/99/")))
			c.QR, err = shc.EncodeQRChunks(jws, chunk)
			if err != nil {
				return nil, wrapErr(CodeCardTooLargeForQR, "", err)
			}
		default:
			if len(jws) > maxQR {
				return nil, errf(CodeCardTooLargeForQR,
					"card %d of %d (%s) is a JWS of %d characters; one version-22 QR at level %s holds at most %d (SIZE-3). Ask for file delivery, or legacy chunks (deprecated)",
					gi+1, len(groups), g.Kind, len(jws), is.cfg.QRLevel, maxQR)
			}
			t, err := shc.EncodeQRText(jws)
			if err != nil {
				return nil, wrapErr(CodeInternal, "QR text", err)
			}
			c.QR = []string{t}
		}
		cards = append(cards, c)
	}
	recs := make([]store.IssuedCard, len(cards))
	evs := make([]store.Event, len(cards))
	for i := range cards {
		c := &cards[i]
		if opts.IdempotencyKey != "" {
			c.ID = is.IdempotentCardID(opts.IdempotencyKey, i)
		} else {
			c.ID = newID()
		}
		evs[i] = store.Event{Time: now, Actor: opts.Actor, Action: "issue", Kid: c.Kid, RID: c.RID, CardTypes: c.Types}
		recs[i] = store.IssuedCard{ID: c.ID, PatientID: p.ID, Kid: c.Kid, RID: c.RID, Types: c.Types, IssuedAt: now, JWS: c.JWS}
	}
	if is.batch != nil && len(cards) <= MaxCardBatch {
		if err := is.batch.put(recs, evs); err != nil {
			return nil, wrapErr(CodeInternal, "storing the cards", err)
		}
	} else {
		for i := range recs {
			if err := is.cfg.Store.PutCard(ctx, recs[i], evs[i]); err != nil {
				return nil, wrapErr(CodeInternal, "storing the card", err)
			}
		}
	}
	is.stats.cards.Add(uint64(len(cards)))
	is.log.LogAttrs(ctx, slog.LevelInfo, "cards issued", slog.Int("cards", len(cards)), slog.String("kid", cards[0].Kid), slog.String("actor", opts.Actor))
	return cards, nil
}

// newID returns 128 random bits, base64url: an unguessable card id.
func newID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("issuer: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// cardBundle builds the (not yet minified) collection Bundle of one card:
// the Patient first, then the group's resources in order, then the
// supporting resources they reference, keeping each
// entry's fullUrl so that shc.Minify can rewrite references (MIN-6/7).
func cardBundle(p patientRecord, patientJSON json.RawMessage, g *group) ([]byte, []CardResource) {
	var buf bytes.Buffer
	buf.Grow(len(patientJSON) + 64 + 512*len(g.Resources))
	buf.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[`)
	writeEntry := func(fullURL string, raw json.RawMessage) {
		buf.WriteString(`{"fullUrl":`)
		u, _ := json.Marshal(fullURL)
		buf.Write(u)
		buf.WriteString(`,"resource":`)
		buf.Write(raw)
		buf.WriteByte('}')
	}
	fu := p.FullURL
	if fu == "" {
		fu = TypePatient + "/" + p.ID
	}
	writeEntry(fu, patientJSON)
	links := make([]CardResource, 0, len(g.Resources)+len(g.Support))
	for i, r := range append(g.Resources[:len(g.Resources):len(g.Resources)], g.Support...) {
		buf.WriteByte(',')
		fu := r.FullURL
		if fu == "" && r.ID != "" {
			fu = r.Type + "/" + r.ID
		}
		if fu == "" {
			fu = fmt.Sprintf("urn:healthcards:entry:%d", i+1)
		}
		writeEntry(fu, r.JSON)
		links = append(links, CardResource{Bundled: fmt.Sprintf("resource:%d", i+1), Type: r.Type, ID: r.ID})
	}
	buf.WriteString(`]}`)
	return buf.Bytes(), links
}

// Identity claims (OP-9).
var (
	// AllowedIdentityClaims are the Patient elements a card may carry.
	AllowedIdentityClaims = []string{"Patient.name", "Patient.birthDate"}
	// DefaultIdentityClaims are carried when the request names none.
	DefaultIdentityClaims = AllowedIdentityClaims
)

// narrowPatient keeps resourceType, id and the requested identity elements
// (intersected with AllowedIdentityClaims) of a Patient, in that order.
func narrowPatient(raw json.RawMessage, claims []string) (json.RawMessage, error) {
	if len(claims) == 0 {
		claims = DefaultIdentityClaims
	}
	want := map[string]bool{}
	for _, c := range claims {
		for _, a := range AllowedIdentityClaims {
			if c == a {
				want[strings.TrimPrefix(c, "Patient.")] = true
			}
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errf(CodeInvalidBundle, "Patient is not a JSON object")
	}
	var buf bytes.Buffer
	buf.WriteString(`{"resourceType":"Patient"`)
	for _, k := range []string{"id", "name", "birthDate"} {
		v, ok := m[k]
		if !ok || (k != "id" && !want[k]) {
			continue
		}
		buf.WriteString(`,"` + k + `":`)
		buf.Write(v)
	}
	// The identity assurance level the lab recorded stays: a meta holding
	// only security is the one meta a card may carry (MIN-2), and
	// verifiers show it (https://smarthealth.cards/ial).
	if sec := ialSecurity(m["meta"]); sec != nil {
		buf.WriteString(`,"meta":{"security":`)
		buf.Write(sec)
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// ialSecurity returns the https://smarthealth.cards/ial codings of a
// resource's meta.security as JSON, or nil if there are none.
func ialSecurity(meta json.RawMessage) json.RawMessage {
	if len(meta) == 0 {
		return nil
	}
	var m struct {
		Security []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"security"`
	}
	if json.Unmarshal(meta, &m) != nil {
		return nil
	}
	type coding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	var keep []coding
	for _, c := range m.Security {
		if c.System == IALSystem && c.Code != "" && len(c.Code) <= 16 {
			keep = append(keep, coding{c.System, c.Code})
		}
	}
	if len(keep) == 0 {
		return nil
	}
	b, _ := json.Marshal(keep)
	return b
}

// IALSystem is the identity assurance level code system; its codings in a
// Patient's meta.security are kept on the card.
const IALSystem = "https://smarthealth.cards/ial"
