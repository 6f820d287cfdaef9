package desk

import (
	"time"

	"github.com/healthcards/healthcards/issuer/store"
)

func auditEvent(t time.Time, actor, action, detail string) store.Event {
	return store.Event{Time: t, Actor: actor, Action: action, Detail: detail}
}
