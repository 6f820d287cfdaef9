package shc

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"
)

// inflateReference is Inflate as first written (bytes.Buffer.ReadFrom over
// an io.LimitReader); the pooled-buffer version must match it exactly.
func inflateReference(b []byte, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxPayloadBytes
	}
	r := flate.NewReader(bytes.NewReader(b))
	out := bytes.NewBuffer(make([]byte, 0, min(len(b)*6+512, limit+1)))
	n, err := out.ReadFrom(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errorf(CodeBadPayloadEncoding, "truncated DEFLATE stream (HDR-7: raw DEFLATE, no zlib header)")
		}
		return nil, wrap(CodeBadPayloadEncoding, "payload is not raw DEFLATE (HDR-7)", err)
	}
	if n > int64(limit) {
		return nil, errorf(CodePayloadTooLarge, "payload inflates beyond the %d-byte limit", limit)
	}
	return out.Bytes(), nil
}

func checkInflate(t *testing.T, b []byte, limit int) {
	t.Helper()
	got, gerr := Inflate(b, limit)
	want, werr := inflateReference(b, limit)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("Inflate(%x, %d) error %v, reference %v", b, limit, gerr, werr)
	}
	if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
		t.Fatalf("Inflate(%x, %d) = %d bytes, reference %d", b, limit, len(got), len(want))
	}
}

func TestInflateMatchesReference(t *testing.T) {
	big := Deflate(bytes.Repeat([]byte("0123456789abcdef"), 40000)) // 640 KB: grows past the pooled size
	for _, c := range []struct {
		b     []byte
		limit int
	}{
		{Deflate(goodClaims), 0}, {Deflate(goodClaims), len(goodClaims)}, {Deflate(goodClaims), len(goodClaims) - 1},
		{big, 0}, {big, 100000}, {big[:len(big)/2], 0}, {[]byte{0x78, 0x9c, 0x03, 0x00}, 0}, {nil, 0}, {[]byte{0xff}, 10},
	} {
		checkInflate(t, c.b, c.limit)
	}
}

// FuzzInflateDifferential: same output, same error as the reference.
func FuzzInflateDifferential(f *testing.F) {
	f.Add(Deflate(goodClaims), 0)
	f.Add(Deflate(bytes.Repeat([]byte("a"), 5000)), 4096)
	f.Add([]byte{0x78, 0x9c, 0x03, 0x00}, 10)
	f.Fuzz(func(t *testing.T, b []byte, limit int) {
		if limit > 1<<20 || limit < -1 {
			limit %= 1 << 20
		}
		checkInflate(t, b, limit)
	})
}
