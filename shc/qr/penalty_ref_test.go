package qr

// finder-like patterns in an 11-module window: 1011101 with four light
// modules after (0x5d0) or before (0x05d).
const (
	finderAfter  = 0x5d0
	finderBefore = 0x05d
)

// penaltyRef scores a masked grid by the four rules of ISO/IEC 18004 7.8.3:
//
//  1. each run of five or more same-colour modules in a row or column:
//     N1 + (length - 5);
//  2. each 2×2 block of one colour: N2;
//  3. each 11-module window in a row or column reading 1011101 0000 or
//     0000 1011101 (dark = 1), the area outside the symbol counting as
//     light (it is the quiet zone): N3;
//  4. N4 for every whole 5% that the dark proportion is away from 50%.
//
// colState is scratch of 2*size ints.
func penaltyRef(g []byte, n int, col []int32) int {
	p := 0
	dark := 0
	run := col[:n]      // vertical run length per column
	win := col[n : 2*n] // vertical 11-bit window per column
	clear(run)
	clear(win)
	for y := 0; y < n; y++ {
		row := g[y*n : y*n+n]
		var prevRow []byte
		if y > 0 {
			prevRow = g[(y-1)*n : y*n]
		}
		h, hw := int32(0), int32(0)
		prev := byte(2)
		for x, b := range row {
			dark += int(b)
			// Rule 1, horizontal.
			if b == prev {
				h++
			} else {
				if h >= 5 {
					p += int(h) - 2
				}
				h, prev = 1, b
			}
			// Rule 3, horizontal.
			hw = (hw<<1 | int32(b)) & 0x7ff
			if hw == finderAfter || hw == finderBefore {
				p += penN3
			}
			// Vertical: rule 1 and rule 3 per column.
			vw := (win[x]<<1 | int32(b)) & 0x7ff
			win[x] = vw
			if vw == finderAfter || vw == finderBefore {
				p += penN3
			}
			if y > 0 {
				if prevRow[x] == b {
					run[x]++
				} else {
					if run[x] >= 5 {
						p += int(run[x]) - 2
					}
					run[x] = 1
				}
				// Rule 2.
				if x > 0 && b == row[x-1] && b == prevRow[x] && b == prevRow[x-1] {
					p += penN2
				}
			} else {
				run[x] = 1
			}
		}
		if h >= 5 {
			p += int(h) - 2
		}
		for k := 0; k < 4; k++ { // the light quiet zone after the row
			if hw = hw << 1 & 0x7ff; hw == finderAfter {
				p += penN3
			}
		}
	}
	for x := 0; x < n; x++ {
		if run[x] >= 5 {
			p += int(run[x]) - 2
		}
		vw := win[x]
		for k := 0; k < 4; k++ {
			if vw = vw << 1 & 0x7ff; vw == finderAfter {
				p += penN3
			}
		}
	}
	total := n * n
	k := abs(dark*20-total*10) / total
	return p + k*penN4
}
