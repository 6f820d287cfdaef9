package host

import (
	"github.com/healthcards/healthcards/shl"

	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Host defaults and bounds.
const (
	DefaultMaxPasscodeFailures = 10
	DefaultLocationTTL         = 10 * time.Minute
	MaxLocationTTL             = time.Hour // SHL-12
	DefaultEmbeddedMax         = 256 << 10
	idBytes                    = 32 // SHL-4: 256 bits
	idLen                      = 43
	manifestMargin             = 64 << 10 // room left in a manifest for locations and JSON
)

// Config configures a Host. Zero values are safe defaults where a
// default exists; BaseURL and Store are required.
type Config struct {
	// BaseURL is the https URL under which the handler is reachable, without
	// a trailing slash. Manifest URLs are BaseURL + "/" + 43-character id and
	// must stay within 128 characters (SHL-4), so BaseURL has at most 84.
	BaseURL string
	// Store keeps links. Required.
	Store Store
	// MaxPasscodeFailures is the lifetime limit of wrong passcodes per link
	// (SHL-10). Zero means DefaultMaxPasscodeFailures.
	MaxPasscodeFailures int
	// LocationTTL is how long a location URL works (SHL-12). Zero means
	// DefaultLocationTTL; more than an hour is refused.
	LocationTTL time.Duration
	// LocationSecret is the HMAC key of location URLs, at least 32 bytes.
	// Nil means 32 random bytes: fine for one process, but several
	// instances behind a load balancer need a shared secret.
	LocationSecret []byte
	// DefaultEmbeddedMax is the longest JWE embedded when the request has no
	// embeddedLengthMax (SHL-14). Zero means DefaultEmbeddedMax; negative
	// means always use locations.
	DefaultEmbeddedMax int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Host serves SMART Health Links (the sharer side, SHL-4, SHL-9..16) and
// offers Go methods for the issuer's management API. It is an http.Handler;
// see ServeHTTP for the routes. It is safe for concurrent use.
type Host struct {
	base        string
	basePath    string
	store       Store
	maxFailures int
	locTTL      time.Duration
	secret      []byte
	embedMax    int
	now         func() time.Time
	hashSem     chan struct{} // bounds concurrent argon2id runs (memory)
}

var _ http.Handler = (*Host)(nil)

// NewHost checks cfg and returns a Host.
func New(cfg Config) (*Host, error) {
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, newErr(shl.CodeInvalidArgument, "BaseURL must be an absolute https URL without query or fragment")
	}
	if len(base)+1+idLen > shl.MaxURLLen {
		return nil, newErr(shl.CodeInvalidArgument, "BaseURL too long: manifest URLs would exceed %d characters (SHL-4)", shl.MaxURLLen)
	}
	if cfg.Store == nil {
		return nil, newErr(shl.CodeInvalidArgument, "Store is required")
	}
	h := &Host{
		base:        base,
		basePath:    strings.TrimSuffix(u.EscapedPath(), "/"),
		store:       cfg.Store,
		maxFailures: cfg.MaxPasscodeFailures,
		locTTL:      cfg.LocationTTL,
		embedMax:    cfg.DefaultEmbeddedMax,
		now:         cfg.Now,
		hashSem:     make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
	}
	if h.maxFailures < 0 {
		return nil, newErr(shl.CodeInvalidArgument, "MaxPasscodeFailures must not be negative")
	}
	if h.maxFailures == 0 {
		h.maxFailures = DefaultMaxPasscodeFailures
	}
	if h.locTTL == 0 {
		h.locTTL = DefaultLocationTTL
	}
	if h.locTTL < 0 || h.locTTL > MaxLocationTTL {
		return nil, newErr(shl.CodeInvalidArgument, "LocationTTL must be within (0, 1h] (SHL-12)")
	}
	switch {
	case cfg.LocationSecret == nil:
		h.secret = make([]byte, 32)
		if _, err := rand.Read(h.secret); err != nil {
			return nil, wrapErr(shl.CodeInvalidArgument, err, "random location secret")
		}
	case len(cfg.LocationSecret) < 32:
		return nil, newErr(shl.CodeInvalidArgument, "LocationSecret must have at least 32 bytes")
	default:
		h.secret = append([]byte(nil), cfg.LocationSecret...)
	}
	if h.embedMax == 0 {
		h.embedMax = DefaultEmbeddedMax
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// FileContent is one plaintext file to share.
type FileContent struct {
	ContentType string // ContentTypeSHC, ContentTypeFHIR or ContentTypeAPIAccess
	Data        []byte
	FHIRVersion string // optional; SHOULD for FHIR content (SHL-11)
}

// LinkOptions describes a new link. Flags follow from the options, so they
// cannot contradict each other: P from Passcode, L from LongTerm, U from
// Direct (SHL-5).
type LinkOptions struct {
	Passcode string    // non-empty: the link needs this passcode (P); stored as argon2id only
	Expires  time.Time // zero: no expiry; else sets exp and the server refuses afterwards
	LongTerm bool      // L: files may be updated with UpdateFiles
	Direct   bool      // U: exactly one file, fetched with GET, no passcode (SHL-16)
	Label    string    // at most 80 characters (SHL-7)
	Owner    string    // opaque, for the management API
	// ID, when set, is the link's id instead of a random one: 43 base64url
	// characters that must carry 256 unguessable bits (SHL-4), e.g. an
	// HMAC under a secret, so that a caller retrying the creation names
	// the same link (the store refuses the second: ErrStoreConflict).
	ID string
}

// Link is a newly created link.
type Link struct {
	ID      string
	Payload *shl.Payload // Payload.URI(viewerPrefix) gives the shlink
}

// LinkInfo is the owner's view of a link.
type LinkInfo struct {
	ID           string
	Owner        string
	Payload      *shl.Payload
	Created      time.Time
	Revoked      bool
	Expired      bool
	Locked       bool // the passcode failure budget is used up
	FailuresLeft int
	Files        int
}

var allowedContentTypes = map[string]bool{shl.ContentTypeSHC: true, shl.ContentTypeFHIR: true, shl.ContentTypeAPIAccess: true}

// CreateLink encrypts files under a fresh key and stores a new link with a
// 256-bit random manifest id (SHL-1, SHL-4).
func (h *Host) CreateLink(ctx context.Context, files []FileContent, opts LinkOptions) (*Link, error) {
	now := h.now()
	flag := ""
	if opts.LongTerm {
		flag += "L"
	}
	if opts.Passcode != "" {
		flag += "P"
	}
	if opts.Direct {
		if opts.Passcode != "" {
			return nil, newErr(shl.CodeInvalidArgument, "a direct (U) link cannot have a passcode (SHL-5)")
		}
		if len(files) != 1 {
			return nil, newErr(shl.CodeInvalidArgument, "a direct (U) link has exactly one file")
		}
		flag += "U"
	}
	if len(opts.Passcode) > shl.MaxPasscodeLen {
		return nil, newErr(shl.CodeInvalidArgument, "passcode longer than %d bytes", shl.MaxPasscodeLen)
	}
	if !opts.Expires.IsZero() && !opts.Expires.After(now) {
		return nil, newErr(shl.CodeInvalidArgument, "expiry is in the past")
	}
	id := opts.ID
	if id == "" {
		idb := make([]byte, idBytes)
		if _, err := rand.Read(idb); err != nil {
			return nil, wrapErr(shl.CodeInvalidArgument, err, "random id")
		}
		id = base64.RawURLEncoding.EncodeToString(idb)
	} else if !validID(id) {
		return nil, newErr(shl.CodeInvalidArgument, "a link id is 43 base64url characters")
	}
	popts := []shl.PayloadOption{shl.WithFlags(flag), shl.WithLabel(opts.Label)}
	if !opts.Expires.IsZero() {
		popts = append(popts, shl.WithExpiry(opts.Expires))
	}
	p, err := shl.NewPayload(h.base+"/"+id, popts...)
	if err != nil {
		return nil, err
	}
	key, _ := p.KeyBytes()
	stored, err := encryptFiles(key, files, now)
	if err != nil {
		return nil, err
	}
	l := &StoredLink{
		ID: id, Owner: opts.Owner, Key: p.Key, Flag: p.Flag, Label: p.Label,
		FailuresLeft: h.maxFailures, Created: now, Files: stored,
	}
	if p.Exp != 0 {
		l.Exp = time.Unix(p.Exp, 0)
	}
	if opts.Passcode != "" {
		h.hashSem <- struct{}{}
		l.PasscodeHash, err = hashPasscode(opts.Passcode)
		<-h.hashSem
		if err != nil {
			return nil, wrapErr(shl.CodeInvalidArgument, err, "hashing passcode")
		}
	}
	if err := h.store.Create(ctx, l); err != nil {
		return nil, fmt.Errorf("shl: storing link: %w", err)
	}
	return &Link{ID: id, Payload: p}, nil
}

func encryptFiles(key []byte, files []FileContent, now time.Time) ([]StoredFile, error) {
	if len(files) == 0 || len(files) > shl.MaxManifestFiles {
		return nil, newErr(shl.CodeInvalidArgument, "a link has 1..%d files", shl.MaxManifestFiles)
	}
	out := make([]StoredFile, 0, len(files))
	for i, f := range files {
		if !allowedContentTypes[f.ContentType] {
			return nil, newErr(shl.CodeInvalidArgument, "files[%d]: content type %q not allowed (SHL-11)", i, truncate(f.ContentType))
		}
		if len(f.Data) == 0 || len(f.FHIRVersion) > shl.MaxFHIRVersionLen {
			return nil, newErr(shl.CodeInvalidArgument, "files[%d]: empty data or bad fhirVersion", i)
		}
		jwe, err := shl.Encrypt(key, f.ContentType, f.Data, true)
		if err != nil {
			return nil, err
		}
		out = append(out, StoredFile{ContentType: f.ContentType, JWE: jwe, LastUpdated: now.UTC(), FHIRVersion: f.FHIRVersion})
	}
	return out, nil
}

// UpdateFiles replaces the files of a long-term (L) link. They are encrypted
// again with the link's key and fresh IVs (SHL-18).
func (h *Host) UpdateFiles(ctx context.Context, id string, files []FileContent) error {
	l, err := h.get(ctx, id)
	if err != nil {
		return err
	}
	if !strings.Contains(l.Flag, "L") {
		return newErr(shl.CodeInvalidArgument, "only long-term (L) links can be updated")
	}
	if strings.Contains(l.Flag, "U") && len(files) != 1 {
		return newErr(shl.CodeInvalidArgument, "a direct (U) link has exactly one file")
	}
	key, err := shl.DecodeKey(l.Key)
	if err != nil {
		return err
	}
	stored, err := encryptFiles(key, files, h.now())
	if err != nil {
		return err
	}
	return h.update(ctx, id, func(l *StoredLink) error { l.Files = stored; return nil })
}

// Revoke deactivates a link: every later request gets 404 (SHL-10).
func (h *Host) Revoke(ctx context.Context, id string) error {
	return h.update(ctx, id, func(l *StoredLink) error { l.Revoked = true; return nil })
}

// AccessLog returns the link's access log (time, recipient, outcome),
// oldest first. The caller must check that the requester owns the link.
func (h *Host) AccessLog(ctx context.Context, id string) ([]AccessEvent, error) {
	log, err := h.store.AccessLog(ctx, id)
	if errors.Is(err, ErrStoreNotFound) {
		return nil, newErr(shl.CodeLinkNotFound, "no such link")
	}
	return log, err
}

// Info returns the owner's view of a link, including its payload (and so its
// key): the caller must check that the requester owns the link.
func (h *Host) Info(ctx context.Context, id string) (*LinkInfo, error) {
	l, err := h.get(ctx, id)
	if err != nil {
		return nil, err
	}
	key, err := shl.DecodeKey(l.Key)
	if err != nil {
		return nil, err
	}
	popts := []shl.PayloadOption{shl.WithKey(key), shl.WithFlags(l.Flag), shl.WithLabel(l.Label)}
	if !l.Exp.IsZero() {
		popts = append(popts, shl.WithExpiry(l.Exp))
	}
	p, err := shl.NewPayload(h.base+"/"+l.ID, popts...)
	if err != nil {
		return nil, err
	}
	now := h.now()
	return &LinkInfo{
		ID: l.ID, Owner: l.Owner, Payload: p, Created: l.Created, Revoked: l.Revoked,
		Expired: expired(l, now), Locked: l.PasscodeHash != "" && l.FailuresLeft <= 0,
		FailuresLeft: l.FailuresLeft, Files: len(l.Files),
	}, nil
}

func (h *Host) get(ctx context.Context, id string) (*StoredLink, error) {
	if !validID(id) {
		return nil, newErr(shl.CodeLinkNotFound, "no such link")
	}
	l, err := h.store.Get(ctx, id)
	if errors.Is(err, ErrStoreNotFound) {
		return nil, newErr(shl.CodeLinkNotFound, "no such link")
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (h *Host) update(ctx context.Context, id string, fn func(*StoredLink) error) error {
	if !validID(id) {
		return newErr(shl.CodeLinkNotFound, "no such link")
	}
	err := h.store.Update(ctx, id, fn)
	if errors.Is(err, ErrStoreNotFound) {
		return newErr(shl.CodeLinkNotFound, "no such link")
	}
	return err
}

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	return err == nil && len(b) == idBytes
}

func expired(l *StoredLink, now time.Time) bool { return !l.Exp.IsZero() && !now.Before(l.Exp) }

// active: not revoked, not expired, not locked out.
func active(l *StoredLink, now time.Time) bool {
	return !l.Revoked && !expired(l, now) && (l.PasscodeHash == "" || l.FailuresLeft > 0)
}

// ServeHTTP serves, relative to BaseURL's path (the prefix is stripped if
// present, so the handler works both mounted at that path and behind
// http.StripPrefix):
//
//	POST /{id}         manifest request (SHL-9, SHL-10, SHL-11, SHL-14)
//	GET  /{id}?recipient=...   the single file of a U link (SHL-16)
//	GET  /f/{token}    a location URL (SHL-12), valid for LocationTTL
//
// Responses carry Cache-Control: no-store and a permissive CORS header
// (browser viewers fetch manifests cross-origin; no cookies are used).
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	path := r.URL.EscapedPath()
	if h.basePath != "" && strings.HasPrefix(path, h.basePath+"/") {
		path = path[len(h.basePath):]
	}
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if tok, ok := strings.CutPrefix(path, "/f/"); ok {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		h.serveLocation(w, r, tok)
		return
	}
	id := strings.TrimPrefix(path, "/")
	if !validID(id) {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.serveManifest(w, r, id)
	case http.MethodGet:
		h.serveDirect(w, r, id)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func badRequest(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": string(shl.CodeOf(err))})
}

func (h *Host) logAccess(ctx context.Context, id, recipient, outcome string) {
	// Best effort: the answer does not depend on the log write.
	_ = h.store.AppendAccess(ctx, id, AccessEvent{Time: h.now().UTC(), Recipient: recipient, Outcome: outcome})
}

func (h *Host) serveManifest(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "content-type must be application/json"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, shl.MaxRequestBytes+1))
	if err != nil {
		badRequest(w, newErr(shl.CodeMalformedManifest, "reading body"))
		return
	}
	req, err := shl.ParseManifestRequest(body)
	if err != nil {
		badRequest(w, err)
		return
	}
	l, err := h.store.Get(ctx, id)
	if err != nil || !active(l, h.now()) {
		http.NotFound(w, r)
		return
	}
	if strings.Contains(l.Flag, "U") {
		methodNotAllowed(w, "GET") // SHL-16: U links are fetched with GET
		return
	}
	if l.PasscodeHash != "" {
		if req.Passcode == "" {
			h.logAccess(ctx, id, req.Recipient, OutcomePasscodeMissing)
			writeJSON(w, http.StatusUnauthorized, map[string]int{"remainingAttempts": l.FailuresLeft})
			return
		}
		ok, remaining, locked, err := h.checkPasscode(ctx, id, l.PasscodeHash, req.Passcode)
		switch {
		case err != nil:
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		case locked:
			h.logAccess(ctx, id, req.Recipient, OutcomeLocked)
			http.NotFound(w, r)
			return
		case !ok:
			h.logAccess(ctx, id, req.Recipient, OutcomePasscodeWrong)
			writeJSON(w, http.StatusUnauthorized, map[string]int{"remainingAttempts": remaining})
			return
		}
		// Re-read: the files may have changed while hashing.
		if l, err = h.store.Get(ctx, id); err != nil || l.Revoked || expired(l, h.now()) {
			http.NotFound(w, r)
			return
		}
	}
	embedMax := h.embedMax
	if req.EmbeddedLengthMax != nil {
		embedMax = *req.EmbeddedLengthMax
	}
	m := h.buildManifest(l, embedMax)
	h.logAccess(ctx, id, req.Recipient, OutcomeOK)
	writeJSON(w, http.StatusOK, m)
}

var errLocked = errors.New("locked")

// checkPasscode enforces the lifetime failure limit under concurrency
// (SHL-10). It first reserves one attempt atomically (FailuresLeft--,
// refused at zero), then hashes outside the store transaction, and gives the
// attempt back if the passcode was right. So at most FailuresLeft guesses are
// ever evaluated, however many arrive in parallel; a correct passcode racing
// with wrong ones may see the link locked a moment early (fails closed).
func (h *Host) checkPasscode(ctx context.Context, id, hash, passcode string) (ok bool, remaining int, locked bool, err error) {
	err = h.store.Update(ctx, id, func(l *StoredLink) error {
		if l.FailuresLeft <= 0 {
			return errLocked
		}
		l.FailuresLeft--
		remaining = l.FailuresLeft
		return nil
	})
	if errors.Is(err, errLocked) || errors.Is(err, ErrStoreNotFound) {
		return false, 0, true, nil
	}
	if err != nil {
		return false, 0, false, err
	}
	h.hashSem <- struct{}{}
	ok = verifyPasscode(hash, passcode)
	<-h.hashSem
	if !ok {
		return false, remaining, false, nil
	}
	// Refund with a context that outlives a cancelled request: a correct
	// passcode must not cost an attempt.
	err = h.store.Update(context.WithoutCancel(ctx), id, func(l *StoredLink) error {
		l.FailuresLeft++
		return nil
	})
	return err == nil, 0, false, err
}

func (h *Host) buildManifest(l *StoredLink, embedMax int) *shl.Manifest {
	now := h.now()
	exp := now.Add(h.locTTL).Unix()
	budget := shl.MaxManifestBytes - manifestMargin
	m := &shl.Manifest{Files: make([]shl.File, 0, len(l.Files))}
	for i, f := range l.Files {
		mf := shl.File{ContentType: f.ContentType, FHIRVersion: f.FHIRVersion}
		if !f.LastUpdated.IsZero() {
			mf.LastUpdated = f.LastUpdated.UTC().Format(time.RFC3339)
		}
		if embedMax >= 0 && len(f.JWE) <= embedMax && len(f.JWE) <= budget {
			mf.Embedded = f.JWE
			budget -= len(f.JWE)
		} else {
			mf.Location = h.base + "/f/" + h.locationToken(l.ID, i, exp)
		}
		m.Files = append(m.Files, mf)
	}
	return m
}

func (h *Host) locationMAC(msg string) string {
	mac := hmac.New(sha256.New, h.secret)
	mac.Write([]byte("shl-location-v1\x00" + msg))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// locationToken = id "." index "." expiry "." HMAC(secret, those).
func (h *Host) locationToken(id string, idx int, exp int64) string {
	msg := id + "." + strconv.Itoa(idx) + "." + strconv.FormatInt(exp, 10)
	return msg + "." + h.locationMAC(msg)
}

func (h *Host) serveLocation(w http.ResponseWriter, r *http.Request, tok string) {
	parts := strings.Split(tok, ".")
	if len(tok) > 200 || len(parts) != 4 || !validID(parts[0]) {
		http.NotFound(w, r)
		return
	}
	msg := parts[0] + "." + parts[1] + "." + parts[2]
	if !hmac.Equal([]byte(h.locationMAC(msg)), []byte(parts[3])) {
		http.NotFound(w, r)
		return
	}
	idx, err1 := strconv.Atoi(parts[1])
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	now := h.now()
	if err1 != nil || err2 != nil || now.Unix() >= exp {
		http.NotFound(w, r) // SHL-12: short-lived
		return
	}
	l, err := h.store.Get(r.Context(), parts[0])
	if err != nil || !active(l, now) || idx < 0 || idx >= len(l.Files) {
		http.NotFound(w, r)
		return
	}
	writeJOSE(w, l.Files[idx].JWE)
}

func writeJOSE(w http.ResponseWriter, jwe string) {
	w.Header().Set("Content-Type", shl.MediaTypeJOSE)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, jwe)
}

// serveDirect answers GET {url}?recipient= for U links (SHL-16).
func (h *Host) serveDirect(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	recipient := r.URL.Query().Get("recipient")
	if err := shl.CheckRecipient(recipient); err != nil {
		badRequest(w, err)
		return
	}
	l, err := h.store.Get(ctx, id)
	if err != nil || !active(l, h.now()) {
		http.NotFound(w, r)
		return
	}
	if !strings.Contains(l.Flag, "U") || len(l.Files) != 1 {
		methodNotAllowed(w, "POST") // manifests are fetched with POST (SHL-9)
		return
	}
	h.logAccess(ctx, id, recipient, OutcomeOK)
	writeJOSE(w, l.Files[0].JWE)
}
