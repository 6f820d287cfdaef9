package verifier_test

import (
	"context"
	"fmt"

	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

// A verifier reads text unless an image decoder is wired in; package shc/qr
// provides one. A program that never wires it in links no image code.
func ExampleWithImageDecoder() {
	ctx := context.Background()
	notAPhoto := []byte("\x89PNG\r\n\x1a\nnot really a PNG")

	textOnly, err := verifier.New(verifier.WithTrustedIssuers("https://lab.example.org"))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = textOnly.Verify(ctx, notAPhoto)
	fmt.Println(verifier.CodeOf(err))

	withImages, err := verifier.New(verifier.WithTrustedIssuers("https://lab.example.org"), verifier.WithImageDecoder(qr.DecodeImage))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = withImages.Verify(ctx, notAPhoto)
	fmt.Println(verifier.CodeOf(err)) // read, and refused by the decoder
	// Output:
	// image_unsupported
	// malformed_input
}
