package qr

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"

	"github.com/healthcards/healthcards/shc"
)

// MaxScale is the largest module size, in pixels, PNG accepts. At version 22
// (113 modules with the quiet zone) it gives a 3616×3616 image.
const MaxScale = 32

// Image returns the symbol as a 2-colour image with a quiet zone of 4
// modules; each module is scale×scale pixels (1..MaxScale).
func (c *Code) Image(scale int) (*image.Paletted, error) {
	if scale < 1 || scale > MaxScale {
		return nil, errorf(shc.CodeMalformedInput, nil, "scale %d outside 1..%d", scale, MaxScale)
	}
	n := len(c.modules) + 2*quietZone
	px := n * scale
	img := image.NewPaletted(image.Rect(0, 0, px, px), color.Palette{color.White, color.Black})
	for y, row := range c.modules {
		for x, dark := range row {
			if !dark {
				continue
			}
			x0, y0 := (x+quietZone)*scale, (y+quietZone)*scale
			for yy := y0; yy < y0+scale; yy++ {
				off := img.PixOffset(x0, yy)
				for i := 0; i < scale; i++ {
					img.Pix[off+i] = 1
				}
			}
		}
	}
	return img, nil
}

// PNG writes the symbol as a PNG: black modules of scale×scale pixels
// (1..MaxScale) on white, with a quiet zone of 4 modules.
func (c *Code) PNG(w io.Writer, scale int) error {
	img, err := c.Image(scale)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("shc/qr: writing PNG: %w", err)
	}
	return nil
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
	n := strconv.Itoa(len(c.modules) + 2*quietZone)
	bw := bufio.NewWriter(w)
	bw.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n +
		`" shape-rendering="crispEdges" role="img" aria-label="` + svgTitle + `"><title>` + svgTitle +
		`</title><path fill="#fff" d="M0 0h` + n + `v` + n + `H0z"/><path fill="none" stroke="#000" d="`)
	var buf []byte
	for y, row := range c.modules {
		pen := -1 // x of the pen on this row; -1 before the first run
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
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
