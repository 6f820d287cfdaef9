package issuer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"

	"github.com/healthcards/healthcards/issuer/store"
)

// IdempotentCardID is the id of card i of the issuance with this
// IdempotencyKey: base64url(HMAC-SHA-256(rid secret, "bulk-card-id" ‖ key ‖
// i)[:16]). It is as unguessable as a random id to anyone without the rid
// secret, and the same on every attempt.
func (is *Issuer) IdempotentCardID(key string, i int) string {
	m := hmac.New(sha256.New, []byte(is.cfg.RIDSecret))
	m.Write([]byte("healthcards bulk card id\x00"))
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write([]byte(strconv.Itoa(i)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// IdempotentCards returns the cards stored by an earlier issuance with this
// IdempotencyKey, in issuance order, or none. Cards of one issuance are
// stored all or none, so either every card is returned or none is.
func (is *Issuer) IdempotentCards(ctx context.Context, key string) ([]store.IssuedCard, error) {
	var out []store.IssuedCard
	for i := 0; i <= MaxCardBatch; i++ {
		c, err := is.cfg.Store.Card(ctx, is.IdempotentCardID(key, i))
		if errors.Is(err, store.ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, wrapErr(CodeInternal, "reading stored cards", err)
		}
		out = append(out, c)
	}
	return out, nil
}
