package shc

import (
	"bytes"
	"errors"
	"io"
	"sync"

	kflate "github.com/klauspost/compress/flate"
)

// Raw DEFLATE (RFC 1951) as HDR-7 requires: never zlib or gzip framing.
// Readers and writers are pooled because their set-up dominates the cost of
// compressing a one-kilobyte payload.

var flateWriters = sync.Pool{New: func() any {
	w, _ := kflate.NewWriter(nil, deflateLevel)
	return w
}}

// deflateLevel is github.com/klauspost/compress/flate's level 7. On every
// official example payload it gives output no larger than compress/flate
// at level 6 (the spec generator's size; TestDeflateNoLargerThanStdlib)
// at well under half the CPU time; its fast levels (1-6) are cheaper still
// but a few bytes larger, and card size is QR size, so they are not used.
// Inflate uses the same package's reader: it decodes straight from the
// *bytes.Reader (no ReadByte call per byte), about 40 % fewer instructions
// than compress/flate on a card's payload; FuzzInflateDifferential keeps it
// equal to compress/flate in output and error code. The library's error
// text is not passed on (it differs between the two for the same corrupt
// stream and says nothing a caller can act on).
const deflateLevel = 7

// inflater is a pooled DEFLATE reader with its input reader.
type inflater struct {
	in bytes.Reader
	fr io.ReadCloser
}

var inflaters = sync.Pool{New: func() any {
	f := new(inflater)
	f.fr = kflate.NewReader(&f.in)
	return f
}}

// Inflation scratch buffers; one that grew past maxPooledInflate (a large
// card or a refused bomb) is dropped rather than kept.
var inflateBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledInflate = 256 << 10

// Deflate compresses b with raw DEFLATE (deflateLevel).
func Deflate(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/2 + 64)
	w := flateWriters.Get().(*kflate.Writer)
	w.Reset(&buf)
	_, _ = w.Write(b) // writes to a bytes.Buffer cannot fail
	_ = w.Close()
	flateWriters.Put(w)
	return buf.Bytes()
}

// Inflate decompresses raw DEFLATE data, reading at most limit+1 bytes of
// output: a decompression bomb is refused with CodePayloadTooLarge after
// producing no more than the limit, whatever its claimed size. Bytes after
// the end of the stream are refused with CodeBadPayloadEncoding.
func Inflate(b []byte, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxPayloadBytes
	}
	f := inflaters.Get().(*inflater)
	defer inflaters.Put(f)
	f.in.Reset(b)
	if err := f.fr.(kflate.Resetter).Reset(&f.in, nil); err != nil {
		return nil, wrap(CodeBadPayloadEncoding, "cannot start inflating", err)
	}
	// Inflate into a pooled scratch buffer (never more than limit+1
	// bytes), then return an exact-size copy.
	sp := inflateBufs.Get().(*[]byte)
	defer func() {
		if cap(*sp) <= maxPooledInflate {
			inflateBufs.Put(sp)
		}
	}()
	out := (*sp)[:0]
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)] // grow
			*sp = out
		}
		room := min(cap(out), limit+1)
		n, err := f.fr.Read(out[len(out):room])
		out = out[:len(out)+n]
		if len(out) > limit {
			break // refused below, whatever follows in the stream
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errorf(CodeBadPayloadEncoding, "truncated DEFLATE stream (HDR-7: raw DEFLATE, no zlib header)")
			}
			return nil, errorf(CodeBadPayloadEncoding, "payload is not raw DEFLATE (HDR-7): corrupt data")
		}
	}
	if len(out) > limit {
		return nil, errorf(CodePayloadTooLarge, "payload inflates beyond the %d-byte limit", limit)
	}
	// The DEFLATE reader consumes input only as far as the symbols it
	// decodes, so anything left is data after the final block: bytes a
	// signature covers but no reader shows.
	if n := f.in.Len(); n > 0 {
		return nil, errorf(CodeBadPayloadEncoding, "%d bytes after the end of the DEFLATE stream (HDR-7)", n)
	}
	out = bytes.Clone(out)
	return out, nil
}
