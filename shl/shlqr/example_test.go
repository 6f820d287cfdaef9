package shlqr_test

import (
	"bytes"
	"fmt"

	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/shlqr"
)

func ExamplePNG() {
	p, _ := shl.NewPayload("https://shl.example.org/m/abc", shl.WithKey(bytes.Repeat([]byte{7}, 32)))
	img, err := shlqr.PNG(p.URI(""), 256)
	fmt.Println(err, bytes.HasPrefix(img, []byte("\x89PNG")))
	// Output: <nil> true
}
