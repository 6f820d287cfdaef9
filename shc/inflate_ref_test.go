package shc

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"strings"
	"testing"
)

// inflateReference is Inflate as first written (compress/flate,
// bytes.Buffer.ReadFrom over an io.LimitReader); the pooled klauspost
// version must give the same bytes and the same error code.
func inflateReference(b []byte, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxPayloadBytes
	}
	in := bytes.NewReader(b)
	r := flate.NewReader(in)
	out := bytes.NewBuffer(make([]byte, 0, min(len(b)*6+512, limit+1)))
	n, err := out.ReadFrom(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errorf(CodeBadPayloadEncoding, "truncated DEFLATE stream (HDR-7: raw DEFLATE, no zlib header)")
		}
		return nil, errorf(CodeBadPayloadEncoding, "payload is not raw DEFLATE (HDR-7): corrupt data")
	}
	if n > int64(limit) {
		return nil, errorf(CodePayloadTooLarge, "payload inflates beyond the %d-byte limit", limit)
	}
	if in.Len() > 0 {
		return nil, errorf(CodeBadPayloadEncoding, "%d bytes after the end of the DEFLATE stream (HDR-7)", in.Len())
	}
	return out.Bytes(), nil
}

func checkInflate(t *testing.T, b []byte, limit int) {
	t.Helper()
	got, gerr := Inflate(b, limit)
	want, werr := inflateReference(b, limit)
	// The stable code is the contract; whether a broken stream reads as
	// "truncated" or "corrupt" is the DEFLATE library's call, and so is
	// which of two faults comes first in a stream that is both too large
	// and broken (compress/flate hands out what it decoded before the
	// break, klauspost does not): that case is accepted only when the
	// stream is refused as broken by both without any limit.
	bothFaults := func() bool {
		_, g := Inflate(b, maxFileBytes*8)
		_, w := inflateReference(b, maxFileBytes*8)
		return CodeOf(g) == CodeBadPayloadEncoding && CodeOf(w) == CodeBadPayloadEncoding
	}
	if (gerr == nil) != (werr == nil) || CodeOf(gerr) != CodeOf(werr) && !((CodeOf(werr) == CodePayloadTooLarge || CodeOf(gerr) == CodePayloadTooLarge) && bothFaults()) {
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

// HDR-7: bytes after the final DEFLATE block are refused (a signature
// would cover data that no reader shows); streams from both compressors
// end exactly.
func TestInflateTrailingBytes(t *testing.T) {
	claims := []byte(labBundle)
	for name, z := range map[string][]byte{"klauspost": Deflate(claims), "stdlib": stdlibDeflate6(t, claims)} {
		if out, err := Inflate(z, 0); err != nil || !bytes.Equal(out, claims) {
			t.Fatalf("%s: %v", name, err)
		}
		for _, tail := range []string{"\x00", "x", string(z)} {
			_, err := Inflate(append(bytes.Clone(z), tail...), 0)
			if CodeOf(err) != CodeBadPayloadEncoding || !strings.Contains(err.Error(), "after the end of the DEFLATE stream") {
				t.Errorf("%s + %d trailing bytes: %v", name, len(tail), err)
			}
		}
	}
}
