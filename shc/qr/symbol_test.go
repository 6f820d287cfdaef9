package qr

import (
	"math/rand/v2"
	"testing"

	"github.com/healthcards/healthcards/shc"
)

// Reed–Solomon: data followed by its error-correction codewords is a
// codeword of the generator, so it evaluates to zero at α^0..α^(d-1)
// (ISO/IEC 18004 7.5.2), for every degree QR uses.
func TestRSEncodeRoots(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	for d, g := range rsGen {
		if g == nil {
			continue
		}
		for _, n := range []int{1, 2, 15, 46, 123} {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			ec := make([]byte, d)
			rsEncode(data, ec)
			msg := append(append([]byte{}, data...), ec...)
			for i := 0; i < d; i++ {
				a := gfExp[i]
				var v byte // Horner: msg[0] is the highest power
				for _, c := range msg {
					v = gfMul(v, a) ^ c
				}
				if v != 0 {
					t.Fatalf("degree %d, %d data bytes: not zero at α^%d", d, n, i)
				}
			}
		}
	}
}

// transpose64 against the definition.
func TestTranspose64(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2))
	var a, b [64]uint64
	for i := range a {
		a[i] = rng.Uint64()
	}
	b = a
	transpose64(&b)
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			if a[y]>>uint(x)&1 != b[x]>>uint(y)&1 {
				t.Fatalf("bit (%d,%d) not transposed", x, y)
			}
		}
	}
}

// The bit planes of every version's template (rows, columns, function
// patterns) agree with its byte grids, including versions of three lanes.
func TestTemplatePlanes(t *testing.T) {
	for v := 1; v <= maxAnyVersion; v++ {
		tp := versionTemplate(v)
		n := tp.size
		bit := func(p []uint64, x, y int) byte { return byte(p[(x>>6)*tp.stride+planePad+y] >> uint(x&63) & 1) }
		c := make([]uint64, len(tp.baseR))
		transposePlanes(tp.baseR, c, n, tp.nw, tp.stride)
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				i := y*n + x
				if bit(tp.baseR, x, y) != tp.base[i] || bit(c, y, x) != tp.base[i] ||
					bit(tp.dataR, x, y) != tp.isData[i] || bit(tp.dataC, y, x) != tp.isData[i] {
					t.Fatalf("version %d: module (%d,%d) differs between planes and grid", v, x, y)
				}
			}
		}
		for i, idx := range tp.order {
			if q, want := tp.place[i], uint32(((int(idx)%n)>>6)*tp.stride+planePad+int(idx)/n)<<6|uint32(int(idx)%n&63); q != want {
				t.Fatalf("version %d: place[%d] = %d, want %d", v, i, q, want)
			}
		}
	}
}

// The structural check fails on any one wrong module among those it reads:
// either copy of the format information, either copy of the version
// information, the first data codeword (the byte segment's header) and a
// codeword in the middle of the digits.
func TestStructuralCheckCatchesFlips(t *testing.T) {
	text := readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt")
	c, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	p, _, _ := parseText(text)
	spec := segSpec{bytes: p.prefix, digits: p.digits}
	if err := c.structuralCheck(spec); err != nil {
		t.Fatal(err)
	}
	tp := versionTemplate(c.version)
	n := c.size
	flips := map[string]int{
		"format copy 1":   int(tp.format[0][3]),
		"format copy 2":   int(tp.format[1][12]),
		"version copy 1":  (n-11+1)*n + 0, // bit 1: column 0, row n-10 (transposed copy)
		"version copy 2":  0*n + n - 11 + 1,
		"first codeword":  int(tp.order[2]),
		"middle codeword": int(tp.order[8*200+5]),
	}
	for name, idx := range flips {
		c.modules[idx] ^= 1
		if err := c.structuralCheck(spec); shc.CodeOf(err) != CodeEncodeFailed {
			t.Errorf("%s flipped: %v, want %s", name, err, CodeEncodeFailed)
		}
		c.modules[idx] ^= 1
	}
}
