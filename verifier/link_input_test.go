package verifier

import (
	"context"
	"testing"

	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/shlqr"
)

// A P link's QR image gives passcode_required from Verify; LinkFromInput
// gets the link back from the image for VerifyLink.
func TestLinkFromInput(t *testing.T) {
	p, err := shl.NewPayload("https://x.example.org/m", shl.WithFlags("P"))
	if err != nil {
		t.Fatal(err)
	}
	uri := p.URI("https://viewer.example.org#")
	png, err := shlqr.PNG(uri, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{[]byte(uri), png} {
		if got, ok := LinkFromInput(context.Background(), in, qr.DecodeImage); !ok || got != uri {
			t.Fatalf("LinkFromInput = %q, %v", got, ok)
		}
	}
	if _, ok := LinkFromInput(context.Background(), []byte("shc:/1234"), qr.DecodeImage); ok {
		t.Fatal("shc:/ text taken for a link")
	}
	// Without a decoder an image is not read (a text-only embedder).
	if _, ok := LinkFromInput(context.Background(), png, nil); ok {
		t.Fatal("image read without a decoder")
	}
}
