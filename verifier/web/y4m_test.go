package web_test

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"io"
)

// writeY4M writes frames copies of img as a YUV4MPEG2 stream (4:2:0, the
// "C420jpeg" layout Chromium's fake capture device reads), centred on a white
// w×h canvas. w and h must be even.
func writeY4M(out io.Writer, img image.Image, w, h, frames int) error {
	if w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("y4m: odd size %d×%d", w, h)
	}
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", w, h)
	b := img.Bounds()
	ox, oy := (w-b.Dx())/2, (h-b.Dy())/2
	y := make([]byte, w*h)
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			v := uint8(0xff)
			ix, iy := px-ox+b.Min.X, py-oy+b.Min.Y
			if (image.Point{ix, iy}).In(b) {
				v = color.GrayModel.Convert(img.At(ix, iy)).(color.Gray).Y
			}
			y[py*w+px] = v
		}
	}
	chroma := make([]byte, w/2*h/2)
	for i := range chroma {
		chroma[i] = 128 // no colour
	}
	for f := 0; f < frames; f++ {
		bw.WriteString("FRAME\n")
		bw.Write(y)
		bw.Write(chroma) // U
		bw.Write(chroma) // V
	}
	return bw.Flush()
}
