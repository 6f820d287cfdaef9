package qr

import (
	"fmt"
	"strings"
	"testing"
)

// penaltyBits is chooseMask's score for mask m (scoreRows + scoreCols on
// the bit planes of the masked grid), for comparison.
func penaltyBits(t *template, l Level, base []byte, m int) int {
	n := t.size
	g := make([]byte, n*n)
	applyMask(t, m, l, base, g)
	r, c := make([]uint64, t.nw*t.stride), make([]uint64, t.nw*t.stride)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if g[y*n+x] == 1 {
				r[(x>>6)*t.stride+planePad+y] |= 1 << uint(x&63)
				c[(y>>6)*t.stride+planePad+x] |= 1 << uint(y&63)
			}
		}
	}
	return scoreRows(r, n, t.nw, t.stride) + scoreCols(c, n, t.nw, t.stride)
}

// applyMask writes base with mask m applied to data modules and the format
// information for (l, m) into out (byte grids). The tests use it to undo
// and redo masks module by module.
func applyMask(t *template, m int, l Level, base, out []byte) {
	n := t.size
	for y := 0; y < n; y++ {
		row := maskTable[m][y%12*12 : y%12*12+12]
		o := y * n
		b, d, dst := base[o:o+n], t.isData[o:o+n], out[o:o+n]
		k := 0
		for x := range dst {
			dst[x] = b[x] ^ d[x]&row[k]
			if k++; k == 12 {
				k = 0
			}
		}
	}
	fb := formatBits(l, m)
	for i := 0; i < 15; i++ {
		bit := byte(fb >> i & 1)
		out[t.format[0][i]] = bit
		out[t.format[1][i]] = bit
	}
}

// The mask Encode picks is the one the ISO/IEC 18004 penalty rule picks:
// every mask is scored module by module (penaltyRef) over the byte grid,
// and the word-wide scorer must agree on each score and on the winner.
// EncodeBytes symbols of versions 25-40 (over 128 modules: three lanes)
// are checked the same way.
func TestMaskChoiceMatchesReference(t *testing.T) {
	texts := []string{readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt")}
	for _, n := range []int{4, 30, 100, 300, 700, 1195} {
		texts = append(texts, qrTextFor(t, fakeJWS(n)))
	}
	var cases []func() (*Code, error)
	for _, text := range texts {
		for _, lv := range qrLevels {
			if len(text) > 2*MaxJWSLen(lv, 5)+5 {
				continue
			}
			cases = append(cases, func() (*Code, error) { return Encode(text, WithLevel(lv)) })
		}
	}
	for _, n := range []int{900, 1300, 2000, 2900} {
		cases = append(cases, func() (*Code, error) { return EncodeBytes(strings.Repeat("shlink:/", 400)[:n], L) })
	}
	versions := map[int]bool{}
	for i, mk := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			c, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			versions[c.version] = true
			lv := c.level
			tp := versionTemplate(c.version)
			n := c.size
			// Undo the chosen mask to get the unmasked grid back.
			base := make([]byte, n*n)
			applyMask(tp, c.mask, lv, c.modules, base)
			best, bestPen := -1, 0
			g := make([]byte, n*n)
			for m := 0; m < 8; m++ {
				applyMask(tp, m, lv, base, g)
				ref := penaltyRef(g, n, make([]int32, 2*n))
				if got := penaltyBits(tp, lv, base, m); got != ref {
					t.Errorf("mask %d: word-wide penalty %d, reference %d", m, got, ref)
				}
				if best < 0 || ref < bestPen {
					best, bestPen = m, ref
				}
			}
			if c.mask != best {
				t.Fatalf("chose mask %d, reference picks %d", c.mask, best)
			}
		})
	}
	if !versions[40] || !versions[18] {
		t.Fatalf("versions covered: %v, want 18 and 40 among them", versions)
	}
}
