package host

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/shl"
)

// LinkOptions.ID names the link (a caller retrying a creation, such as a
// resumed bulk batch, names the same one): the link is made under that
// id, a second creation with it is refused with ErrStoreConflict and
// leaves the first untouched, and an id that is not 43 base64url
// characters of 256 bits (SHL-4) is refused.
func TestCreateLinkWithID(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	f := []FileContent{{ContentType: shl.ContentTypeFHIR, Data: []byte(`{"resourceType":"Bundle"}`), FHIRVersion: "4.0.1"}}
	id := strings.Repeat("A", 42) + "Q" // 43 characters, 256 bits
	link, err := e.host.CreateLink(ctx, f, LinkOptions{ID: id, Owner: "first"})
	if err != nil || link.ID != id || !strings.HasSuffix(link.Payload.URL, "/"+id) {
		t.Fatalf("link %+v (%v)", link, err)
	}
	if _, err := e.host.CreateLink(ctx, f, LinkOptions{ID: id, Owner: "second"}); !errors.Is(err, ErrStoreConflict) {
		t.Fatalf("second link with one id: %v; want ErrStoreConflict", err)
	}
	if info, err := e.host.Info(ctx, id); err != nil || info.Owner != "first" || *info.Payload != *link.Payload {
		t.Fatalf("the first link changed: %+v (%v)", info, err)
	}
	for _, bad := range []string{"short", strings.Repeat("A", 42) + "B", strings.Repeat("A", 42) + "=", strings.Repeat("A", 44)} {
		_, err := e.host.CreateLink(ctx, f, LinkOptions{ID: bad})
		mustCode(t, err, shl.CodeInvalidArgument)
	}
}
