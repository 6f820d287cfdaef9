package verifier

import (
	"context"
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/healthcards/healthcards/shc"
)

// Bounds on untrusted input handled by this package.
const (
	maxDirectoryBytes     = 8 << 20 // a trust directory or trust list
	maxSignatureFileBytes = 4 << 10 // a detached directory signature
	maxDirectoryIssuers   = 10000
	maxKeysPerIssuer      = 100
	maxCRLRids            = 100000
	maxIssuerLen          = 2048
	maxJWKSFetchBytes     = 256 << 10 // a fetched JWKS or DID document
	// MaxCRLBytes is the one cap on a revocation list, for fetching and
	// parsing alike: a list of maxCRLRids timestamped rids fits in it. A
	// fetch client given with WithFetchClient must allow bodies this large
	// (New warns when it does not).
	MaxCRLBytes      = 4 << 20
	maxCRLFetchBytes = MaxCRLBytes
	// maxQRChunks is the most chunks one card may have (QR-5).
	maxQRChunks = 99
)

// Per-request work budgets (issue 10). A request is one call of Verify,
// VerifyJWS or VerifyLink.
const (
	// DefaultMaxCardsPerInput bounds the cards one input may hold, in
	// every form (shc:/ texts, card file, FHIR Parameters, link files).
	DefaultMaxCardsPerInput = 100
	// DefaultMaxIssuersFetchedPerInput bounds the distinct issuers whose
	// key sets, DID documents or revocation lists one input may cause to
	// be fetched. Cached key sets and lists cost nothing.
	DefaultMaxIssuersFetchedPerInput = 5
	// DefaultMaxInflatedBytesPerInput bounds the inflated payload bytes of
	// all the cards of one input together (each card alone is capped at
	// shc.DefaultMaxPayloadBytes): 100 cards of a few KB that each inflate
	// to 4 MiB cost 1.25 CPU-seconds before this bound, ~0.1 s after.
	DefaultMaxInflatedBytesPerInput = 16 << 20
)

// Budget codes.
const (
	// CodeTooManyCards: the input holds more cards (or shc:/ texts) than
	// the per-input limit (WithMaxCardsPerInput).
	CodeTooManyCards Code = "too_many_cards"
	// CodeFetchLimited: fetching the issuer's key set was refused because
	// the request (WithMaxIssuersFetchedPerInput) or its caller
	// (ContextWithFetchLimit) has used up its fetch budget. Nothing was
	// fetched; the card is not verified.
	CodeFetchLimited Code = "fetch_limited"
	// CodeDeadline: the request's context ended before every card was
	// verified.
	CodeDeadline Code = "deadline_exceeded"
)

// Sentinels for the budget codes.
var (
	ErrTooManyCards = &Error{Code: CodeTooManyCards}
	ErrFetchLimited = &Error{Code: CodeFetchLimited}
	ErrDeadline     = &Error{Code: CodeDeadline}
)

// budgetConfig holds the per-request budgets set by options.
type budgetConfig struct {
	maxCards, maxIssuers int
	maxInflated          int
}

func (b budgetConfig) inflated() int {
	if b.maxInflated == 0 {
		return DefaultMaxInflatedBytesPerInput
	}
	return b.maxInflated
}

// WithMaxInflatedBytesPerInput sets the most inflated payload bytes the
// cards of one input may have together (default
// DefaultMaxInflatedBytesPerInput). Cards past it fail with
// payload_too_large without being inflated further.
func WithMaxInflatedBytesPerInput(n int) Option {
	return func(c *config) error {
		if n < 64<<10 || n > 1<<30 {
			return fmt.Errorf("WithMaxInflatedBytesPerInput: %d out of range [64 KiB, 1 GiB]", n)
		}
		c.budget.maxInflated = n
		return nil
	}
}

func (b budgetConfig) cards() int {
	if b.maxCards == 0 {
		return DefaultMaxCardsPerInput
	}
	return b.maxCards
}

func (b budgetConfig) issuers() int {
	if b.maxIssuers == 0 {
		return DefaultMaxIssuersFetchedPerInput
	}
	return b.maxIssuers
}

// WithMaxCardsPerInput sets the most cards one input may hold
// (default DefaultMaxCardsPerInput), whatever its form: more is refused
// as a whole with too_many_cards before any card is examined.
func WithMaxCardsPerInput(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 10000 {
			return fmt.Errorf("WithMaxCardsPerInput: %d out of range [1, 10000]", n)
		}
		c.budget.maxCards = n
		return nil
	}
}

// WithMaxIssuersFetchedPerInput sets the most distinct issuers whose key
// sets, DID documents or revocation lists one input may cause to be
// fetched (default DefaultMaxIssuersFetchedPerInput). Cards past the
// budget fail with fetch_limited (key sets) or a revocation list counted
// as unavailable; cached keys and lists are used as usual.
//
// # Security considerations
//
// Without this bound one input naming many issuers makes the verifier a
// fetch amplifier (issue 10: 1,000 cards naming 1,000 issuers made 444
// fetches). Issuers absent from the trust sources are never fetched unless
// WithoutIssuerTrustUnsafe is given, and then only within this budget.
func WithMaxIssuersFetchedPerInput(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1000 {
			return fmt.Errorf("WithMaxIssuersFetchedPerInput: %d out of range [1, 1000]", n)
		}
		c.budget.maxIssuers = n
		return nil
	}
}

type fetchLimitKey struct{}

// ContextWithFetchLimit returns a context under which every network fetch
// a verification would make for a card (key sets, DID documents,
// revocation lists; not trust sources or link files) first calls allow;
// when allow returns false, the fetch is not made and counts as refused
// (fetch_limited, or an unavailable revocation list). A service uses it to
// bound fetches per client (for example a token bucket per client
// address). allow must be safe for concurrent use.
func ContextWithFetchLimit(ctx context.Context, allow func() bool) context.Context {
	if allow == nil {
		return ctx
	}
	return context.WithValue(ctx, fetchLimitKey{}, allow)
}

type budgetKey struct{}

// requestBudget is the fetch budget of one request, shared by its cards.
type requestBudget struct {
	max   int
	allow func() bool // nil: no caller limit

	mu      sync.Mutex
	issuers map[string]struct{}
	refused int
	cards   int
	// inflated counts the payload bytes inflated so far.
	inflated int
}

// payloadLimit returns the payload cap for the next card of the request:
// the per-card default or what is left of the request's inflated-bytes
// budget, whichever is smaller; 0 means the budget is spent.
func (v *Verifier) payloadLimit(ctx context.Context) int {
	b, _ := ctx.Value(budgetKey{}).(*requestBudget)
	if b == nil {
		return shc.DefaultMaxPayloadBytes
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(0, min(shc.DefaultMaxPayloadBytes, v.cfg.budget.inflated()-b.inflated))
}

// spendPayload counts n inflated bytes against the request's budget.
func (v *Verifier) spendPayload(ctx context.Context, n int) {
	if b, _ := ctx.Value(budgetKey{}).(*requestBudget); b != nil {
		b.mu.Lock()
		b.inflated += n
		b.mu.Unlock()
	}
}

// takeCard counts one card against the request's card limit: link files
// are verified card by card, so their total is bounded here.
func (v *Verifier) takeCard(ctx context.Context) *Error {
	b, _ := ctx.Value(budgetKey{}).(*requestBudget)
	if b == nil {
		return nil
	}
	max := v.cfg.budget.cards()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cards++
	if b.cards > max {
		return newErr(CodeTooManyCards, StepDecode, "card %d of this input is over the limit of %d cards per input", b.cards, max)
	}
	return nil
}

// withBudget attaches a request budget to ctx unless one is there.
func (v *Verifier) withBudget(ctx context.Context) context.Context {
	if _, ok := ctx.Value(budgetKey{}).(*requestBudget); ok {
		return ctx
	}
	allow, _ := ctx.Value(fetchLimitKey{}).(func() bool)
	return context.WithValue(ctx, budgetKey{}, &requestBudget{max: v.cfg.budget.issuers(), allow: allow})
}

// fetchAllowed reports whether this request may fetch for iss: within the
// distinct-issuer budget and the caller's limit. A refusal is an *Error
// with CodeFetchLimited.
func (v *Verifier) fetchAllowed(ctx context.Context, iss string) *Error {
	b, _ := ctx.Value(budgetKey{}).(*requestBudget)
	if b == nil { // a request not started by Verify/VerifyJWS/VerifyLink
		b = &requestBudget{max: v.cfg.budget.issuers()}
		b.allow, _ = ctx.Value(fetchLimitKey{}).(func() bool)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, seen := b.issuers[iss]; !seen && len(b.issuers) >= b.max {
		b.refused++
		v.stats.fetchesRefused.Add(1)
		return newErr(CodeFetchLimited, StepKey, "not fetching for issuer %.200s: this input already caused fetches for %d issuers (the per-input limit)", iss, b.max)
	}
	if b.allow != nil && !b.allow() {
		b.refused++
		v.stats.fetchesRefused.Add(1)
		return newErr(CodeFetchLimited, StepKey, "not fetching for issuer %.200s: the caller's fetch rate limit is used up", iss)
	}
	if b.issuers == nil {
		b.issuers = make(map[string]struct{}, 4)
	}
	b.issuers[iss] = struct{}{}
	return nil
}

// ctxMutex is a mutex whose lock gives up when a context ends: a request
// waiting for another's fetch stops at its own deadline. The zero value is
// unlocked.
type ctxMutex struct {
	once sync.Once
	ch   chan struct{}
}

func (m *ctxMutex) init() { m.once.Do(func() { m.ch = make(chan struct{}, 1) }) }

func (m *ctxMutex) lock(ctx context.Context) error {
	m.init()
	select {
	case m.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *ctxMutex) unlock() { <-m.ch }

// countFields counts the fields strings.Fields would return (separated
// by Unicode white space), without allocating.
func countFields(b []byte) int {
	n, in := 0, false
	for i := 0; i < len(b); {
		r, size := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b[i:])
		}
		i += size
		sp := unicode.IsSpace(r)
		if !sp && !in {
			n++
		}
		in = !sp
	}
	return n
}

// SignatureSuffix names a directory's detached signature: for a directory
// file or URL X, the signature is read from X + SignatureSuffix.
const SignatureSuffix = ".sig"
