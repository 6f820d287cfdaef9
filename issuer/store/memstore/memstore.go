// Package memstore is an in-memory store.Store (every one of the split
// store interfaces) for tests, examples and benchmarks. It keeps the same
// contract as the SQL store on SQLite and PostgreSQL
// (it passes storetest: argument checks, microsecond UTC times, conflicts,
// context cancellation) but it is not durable: never serve real cards with it.
package memstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/internal/check"
)

// Store is a mutex-guarded in-memory store.Store.
type Store struct {
	mu        sync.Mutex
	now       func() time.Time
	patients  map[string]json.RawMessage
	resources map[string]map[string]store.Resource // patient -> type/id -> resource
	cards     map[string]store.IssuedCard
	crl       map[string][]string
	ctr       int64
	tokens    []store.Token
	events    []store.Event
}

var _ store.Store = (*Store)(nil)

// New returns an empty store whose CRL counter starts at 1 (REV-4).
func New() *Store {
	return &Store{
		now:       time.Now,
		patients:  map[string]json.RawMessage{},
		resources: map[string]map[string]store.Resource{},
		cards:     map[string]store.IssuedCard{},
		crl:       map[string][]string{},
		ctr:       1,
	}
}

func (s *Store) PutResources(ctx context.Context, patientID string, patient json.RawMessage, res []store.Resource) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := check.PutResources(patientID, patient, res)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if patient != nil {
		s.patients[patientID] = append(json.RawMessage(nil), patient...)
	}
	m := s.resources[patientID]
	if m == nil {
		m = map[string]store.Resource{}
		s.resources[patientID] = m
	}
	for _, r := range res {
		r.PatientID = patientID
		r.Updated = check.Micro(s.now())
		r.JSON = append(json.RawMessage(nil), r.JSON...)
		m[r.Type+"/"+r.ID] = r
	}
	return nil
}

func (s *Store) Patient(ctx context.Context, patientID string) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.patients[patientID]
	if !ok {
		return nil, fmt.Errorf("patient %w", store.ErrNotFound)
	}
	return p, nil
}

func (s *Store) Resources(ctx context.Context, patientID string, types []string, since time.Time) ([]store.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := check.Types(types); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Resource
	for _, r := range s.resources[patientID] {
		if len(types) > 0 && !slices.Contains(types, r.Type) {
			continue
		}
		if !since.IsZero() && (r.Date.IsZero() || r.Date.Before(check.Micro(since))) {
			continue // with since, resources of unknown date are left out
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Date.Equal(b.Date) {
			return a.Date.Before(b.Date)
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.ID < b.ID
	})
	return out, nil
}

func (s *Store) PutCard(ctx context.Context, c store.IssuedCard, ev store.Event) error {
	return s.PutCards(ctx, []store.IssuedCard{c}, []store.Event{ev})
}

func (s *Store) Card(ctx context.Context, id string) (store.IssuedCard, error) {
	if err := ctx.Err(); err != nil {
		return store.IssuedCard{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cards[id]
	if !ok {
		return store.IssuedCard{}, fmt.Errorf("card %w", store.ErrNotFound)
	}
	return c, nil
}

func (s *Store) Revoke(ctx context.Context, entries []store.RevocationEntry, ev store.Event) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ev, err := check.Revoke(entries, ev, s.now())
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		if !slices.Contains(s.crl[e.Kid], e.Entry) {
			s.crl[e.Kid] = append(s.crl[e.Kid], e.Entry)
		}
	}
	s.ctr++
	s.appendEvent(ev)
	return s.ctr, nil
}

func (s *Store) CRL(ctx context.Context, kid string) (store.CRL, error) {
	if err := ctx.Err(); err != nil {
		return store.CRL{}, err
	}
	if err := check.Kid(kid); err != nil {
		return store.CRL{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return store.CRL{Kid: kid, Ctr: s.ctr, RIDs: append([]string{}, s.crl[kid]...)}, nil
}

func (s *Store) CRLVersion(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctr, nil
}

func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := check.Token(t, s.now())
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.tokens {
		if x.ID == t.ID || bytes.Equal(x.Hash, t.Hash) {
			return store.ErrConflict
		}
	}
	t.Hash = bytes.Clone(t.Hash)
	s.tokens = append(s.tokens, t)
	return nil
}

func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	if err := ctx.Err(); err != nil {
		return store.Token{}, err
	}
	if err := check.Hash(hash); err != nil {
		return store.Token{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.tokens {
		if bytes.Equal(x.Hash, hash) {
			return x, nil
		}
	}
	return store.Token{}, store.ErrNotFound
}

func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.Token(nil), s.tokens...), nil
}

func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.tokens {
		if s.tokens[i].ID == id {
			if s.tokens[i].RevokedAt == nil { // the first revocation time stays
				at = check.OrNow(at, s.now())
				s.tokens[i].RevokedAt = &at
			}
			return nil
		}
	}
	return store.ErrNotFound
}

func (s *Store) Audit(ctx context.Context, ev store.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ev, err := check.Event(ev, s.now())
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendEvent(ev)
	return nil
}

func (s *Store) appendEvent(ev store.Event) {
	ev.ID = int64(len(s.events) + 1)
	s.events = append(s.events, ev)
}

func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit, err := check.AuditLimit(limit)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Event
	for i := len(s.events) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.events[i])
	}
	return out, nil
}

func (s *Store) Close() error { return nil }

// PutCards records several cards with their events atomically (the batch
// method issuer.CardBatchStore asks for): ErrConflict, and nothing
// written, if any card id exists or repeats.
func (s *Store) PutCards(ctx context.Context, cards []store.IssuedCard, evs []store.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(cards) != len(evs) {
		return fmt.Errorf("%d cards, %d events: %w", len(cards), len(evs), store.ErrInvalid)
	}
	cards, evs = slices.Clone(cards), slices.Clone(evs)
	for i := range cards {
		var err error
		if cards[i], err = check.Card(cards[i], s.now()); err != nil {
			return err
		}
		if evs[i], err = check.Event(evs[i], s.now()); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range cards {
		if _, ok := s.cards[c.ID]; ok || seen[c.ID] {
			return store.ErrConflict
		}
		seen[c.ID] = true
	}
	for i, c := range cards {
		s.cards[c.ID] = c
		s.appendEvent(evs[i])
	}
	return nil
}

// FindPatients implements store.PatientSearch by scanning every patient.
func (s *Store) FindPatients(ctx context.Context, q store.PatientQuery) ([]store.PatientMatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q, err := check.PatientQuery(q)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.PatientMatch
	for id, p := range s.patients {
		if p == nil {
			continue
		}
		for _, k := range check.NameKeys(p) {
			if k.Matches(q) {
				out = append(out, store.PatientMatch{ID: id, Patient: append(json.RawMessage(nil), p...)})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// PatientCards implements store.PatientSearch.
func (s *Store) PatientCards(ctx context.Context, patientID string, limit int) ([]store.IssuedCard, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit, err := check.CardsLimit(limit)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.IssuedCard
	for _, c := range s.cards {
		if c.PatientID == patientID {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].IssuedAt.Equal(out[j].IssuedAt) {
			return out[i].IssuedAt.Before(out[j].IssuedAt)
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
