package qr

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"io"
	"strconv"

	"github.com/healthcards/healthcards/shc"
)

// MaxScale is the largest module size, in pixels, PNG accepts. At version 22
// (113 modules with the quiet zone) it gives a 3616×3616 image.
const MaxScale = 32

// MaxPNGSize is the largest side, in pixels, PNGSize accepts.
const MaxPNGSize = 8192

// Image returns the symbol as a 2-colour image with a quiet zone of 4
// modules; each module is scale×scale pixels (1..MaxScale).
func (c *Code) Image(scale int) (*image.Paletted, error) {
	if scale < 1 || scale > MaxScale {
		return nil, errorf(shc.CodeMalformedInput, nil, "scale %d outside 1..%d", scale, MaxScale)
	}
	n := c.size + 2*quietZone
	px := n * scale
	img := image.NewPaletted(image.Rect(0, 0, px, px), color.Palette{color.White, color.Black})
	for y := 0; y < c.size; y++ {
		row := c.modules[y*c.size : (y+1)*c.size]
		y0 := (y + quietZone) * scale
		line := img.Pix[y0*img.Stride : (y0+1)*img.Stride]
		for x, dark := range row {
			if dark == 1 {
				x0 := (x + quietZone) * scale
				for i := x0; i < x0+scale; i++ {
					line[i] = 1
				}
			}
		}
		for yy := y0 + 1; yy < y0+scale; yy++ {
			copy(img.Pix[yy*img.Stride:(yy+1)*img.Stride], line)
		}
	}
	return img, nil
}

// PNG writes the symbol as a 1-bit greyscale PNG: black modules of
// scale×scale pixels (1..MaxScale) on white, with a quiet zone of 4
// modules. Each distinct pixel row is compressed once and its repeats are
// deflate matches (pngwrite.go), so the cost grows with the module count,
// not with the pixel count.
func (c *Code) PNG(w io.Writer, scale int) error {
	if scale < 1 || scale > MaxScale {
		return errorf(shc.CodeMalformedInput, nil, "scale %d outside 1..%d", scale, MaxScale)
	}
	side := (c.size + 2*quietZone) * scale
	return c.writePNG(w, side, scale, 0)
}

// PNGSize writes the symbol as a PNG of size×size pixels, or of the
// smallest size that holds one pixel per module when size is below that:
// modules of the largest whole number of pixels that fits, centred, with
// at least the 4-module quiet zone.
func (c *Code) PNGSize(w io.Writer, size int) error {
	if size < 1 || size > MaxPNGSize {
		return errorf(shc.CodeMalformedInput, nil, "size %d outside 1..%d", size, MaxPNGSize)
	}
	n := c.size + 2*quietZone
	size = max(size, n)
	scale := size / n
	return c.writePNG(w, size, scale, (size-n*scale)/2)
}

// svgTitle is the accessible name of the SVG image.
const svgTitle = "SMART Health Card QR code"

// SVG writes the symbol as a compact SVG: a viewBox in module units (quiet
// zone of 4 included), a white background, and one <path> that strokes
// every horizontal run of dark modules with a 1-module-wide line (the
// layout of the official example SVGs), with shape-rendering="crispEdges",
// a <title> and an aria-label. It scales to any size; set width/height in
// the page that embeds it.
func (c *Code) SVG(w io.Writer) error {
	n := strconv.Itoa(c.size + 2*quietZone)
	bw := bufio.NewWriter(w)
	bw.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n +
		`" shape-rendering="crispEdges" role="img" aria-label="` + svgTitle + `"><title>` + svgTitle +
		`</title><path fill="#fff" d="M0 0h` + n + `v` + n + `H0z"/><path fill="none" stroke="#000" d="`)
	var buf []byte
	for y := 0; y < c.size; y++ {
		row := c.modules[y*c.size : (y+1)*c.size]
		pen := -1 // x of the pen on this row; -1 before the first run
		for x := 0; x < len(row); {
			if row[x] == 0 {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] == 1 {
				run++
			}
			// A run of dark modules is a horizontal line through the middle
			// of the row: "M x y.5 h run" for the first run of a row, then
			// "m dx 0 h run" relative to the end of the previous run.
			if pen < 0 {
				buf = append(buf[:0], 'M')
				buf = strconv.AppendInt(buf, int64(x+quietZone), 10)
				buf = append(buf, ' ')
				buf = strconv.AppendInt(buf, int64(y+quietZone), 10)
				buf = append(buf, ".5h"...)
			} else {
				buf = append(buf[:0], 'm')
				buf = strconv.AppendInt(buf, int64(x-pen), 10)
				buf = append(buf, " 0h"...)
			}
			buf = strconv.AppendInt(buf, int64(run), 10)
			bw.Write(buf)
			x += run
			pen = x
		}
	}
	bw.WriteString(`"/></svg>` + "\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("shc/qr: writing SVG: %w", err)
	}
	return nil
}
