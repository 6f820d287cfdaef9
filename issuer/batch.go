package issuer

import (
	"context"
	"sync"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
)

// CardBatchStore is a store that can record several issued cards, each
// with its audit event, in one durable transaction. The issuer uses it,
// when the store offers it, for group commit: cards issued concurrently
// while a commit is in flight are written together by the next one, so
// one fsync covers many cards. Revocations are never batched: each stays
// its own durable transaction (store.RevocationStore.Revoke).
//
// PutCards must be all-or-nothing: on any error (ErrConflict if a card id
// exists, ErrInvalid for an argument store.CardStore.PutCard would refuse)
// nothing is written. len(cards) == len(evs); at most MaxCardBatch cards.
type CardBatchStore interface {
	PutCards(ctx context.Context, cards []store.IssuedCard, evs []store.Event) error
}

// MaxCardBatch caps the cards of one group commit.
const MaxCardBatch = 256

// cardBatchTimeout bounds one group commit; it is detached from any one
// request's context because it serves several.
const cardBatchTimeout = 15 * time.Second

// putReq is one issuance's cards waiting for a group commit.
type putReq struct {
	cards []store.IssuedCard
	evs   []store.Event
	done  chan error
}

// batcher runs group commits: the first waiting issuance starts a commit
// goroutine, which drains everything queued (up to MaxCardBatch cards per
// transaction) until the queue is empty.
type batcher struct {
	st CardBatchStore

	mu      sync.Mutex
	pending []*putReq
	running bool
}

// put queues one issuance's cards and waits until they are durable. The
// cards of one issuance always share a transaction.
func (b *batcher) put(cards []store.IssuedCard, evs []store.Event) error {
	r := &putReq{cards: cards, evs: evs, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, r)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	return <-r.done
}

func (b *batcher) loop() {
	for {
		b.mu.Lock()
		n, size := 0, 0
		for n < len(b.pending) && (n == 0 || size+len(b.pending[n].cards) <= MaxCardBatch) {
			size += len(b.pending[n].cards)
			n++
		}
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		if len(batch) == 0 {
			b.running = false
			b.pending = nil
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.commit(batch)
	}
}

func (b *batcher) commit(batch []*putReq) {
	ctx, cancel := context.WithTimeout(context.Background(), cardBatchTimeout)
	defer cancel()
	if len(batch) == 1 {
		batch[0].done <- b.st.PutCards(ctx, batch[0].cards, batch[0].evs)
		return
	}
	var cards []store.IssuedCard
	var evs []store.Event
	for _, r := range batch {
		cards = append(cards, r.cards...)
		evs = append(evs, r.evs...)
	}
	if err := b.st.PutCards(ctx, cards, evs); err == nil {
		for _, r := range batch {
			r.done <- nil
		}
		return
	}
	// One issuance's failure must not fail the others: retry each alone.
	for _, r := range batch {
		r.done <- b.st.PutCards(ctx, r.cards, r.evs)
	}
}
