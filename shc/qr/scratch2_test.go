package qr

import (
	"bytes"
	"image"
	"testing"
)

func mustImg(t *testing.T, b []byte) image.Image {
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
