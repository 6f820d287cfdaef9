package memstore_test

import (
	"testing"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/issuer/store/storetest"
)

// The in-memory store used by tests and examples keeps the contract the
// SQLite and PostgreSQL stores keep, so tests on it mean the same.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
}
