package qr

import (
	"bytes"
	"encoding/binary"
	"image"

	"github.com/healthcards/healthcards/shc"
)

// MaxDecodeBytes caps the memory, estimated by DecodeCost before any pixel
// is decoded, that DecodeBytes and DecodeRawBytes may use for one image.
// A 12-megapixel phone JPEG needs about 80 MB, a progressive one about
// 150 MB; the caps on bytes and pixels alone let a 0.5 MB progressive JPEG
// or a 0.3 MB 16-bit PNG claim 0.6–1.3 GB.
const MaxDecodeBytes = 256 << 20

// DecodeCost estimates, from the image header alone, the peak memory in
// bytes that decoding data with DecodeBytes or DecodeRawBytes needs: the
// decoded image in the form the standard decoders produce (4 or 8 bytes
// per pixel for colour PNG, twice that for interlaced PNG; the YCbCr
// planes of a JPEG plus, for a progressive JPEG, its 256-byte coefficient
// block per 8×8 block of every component) and the decoder's own working
// images. Servers can charge it against a memory budget before decoding.
// It fails like DecodeBytes on data that is not a PNG or JPEG or that is
// over MaxImageBytes or MaxImagePixels; it does not apply MaxDecodeBytes.
func DecodeCost(data []byte) (int64, error) {
	if len(data) > MaxImageBytes {
		return 0, errorf(CodeImageTooLarge, nil, "image of %d bytes exceeds the %d-byte limit", len(data), MaxImageBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, errorf(shc.CodeMalformedInput, err, "not a readable PNG or JPEG image")
	}
	if format != "png" && format != "jpeg" {
		return 0, errorf(shc.CodeMalformedInput, nil, "unsupported image format %q (want PNG or JPEG)", format)
	}
	if err := checkDims(cfg.Width, cfg.Height); err != nil {
		return 0, err
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	var img int64
	inPlace := false // the decoded image's luminance is used without a copy
	switch format {
	case "png":
		img = pngImageBytes(data, w, h)
	default:
		img, inPlace = jpegImageBytes(data, w, h)
	}
	return img + workingBytes(w, h, inPlace), nil
}

// workingBytes is what the decode ladder holds besides the decoded image:
// the full-size grayscale copy (none when the decoded image's luminance
// plane is used in place, see workingImage), the working image (at most
// workLongSide on its longer side) and up to about twenty derived images
// and binarizer buffers of that size.
func workingBytes(w, h int64, inPlace bool) int64 {
	work := w * h
	if long := max(w, h); long > workLongSide {
		f := float64(workLongSide) / float64(long)
		work = int64(float64(w)*f+1) * int64(float64(h)*f+1)
	}
	gray := w * h
	if inPlace {
		gray = 0
	}
	return gray + 20*work + 1<<20
}

// pngImageBytes is the decoded size of a PNG: bytes per pixel of the image
// type image/png returns for the IHDR's colour type and bit depth, doubled
// for Adam7 interlacing (each pass is decoded into its own image, then
// merged), plus two rows of raw data.
func pngImageBytes(data []byte, w, h int64) int64 {
	bpp := int64(8) // unknown: assume the largest
	interlaced := true
	if len(data) >= 29 && string(data[12:16]) == "IHDR" {
		depth, ctype := data[24], data[25]
		interlaced = data[28] != 0
		wide := depth == 16
		switch ctype {
		case 0: // grey
			bpp = map[bool]int64{false: 1, true: 2}[wide]
		case 3: // paletted
			bpp = 1
		default: // RGB, grey+alpha, RGBA: RGBA/NRGBA or the 64-bit forms
			bpp = map[bool]int64{false: 4, true: 8}[wide]
		}
	}
	img := w * h * bpp
	if interlaced {
		img *= 2
	}
	return img + 2*(w*8+1)
}

// jpegImageBytes is the decoded size of a JPEG from its SOF segment: each
// component's plane padded to whole MCUs, plus 256 bytes per 8×8 block of
// coefficients when the JPEG is progressive (image/jpeg keeps every
// coefficient until the last scan), plus the CMYK or RGBA image of
// four-component and Adobe RGB JPEGs. Without a readable SOF it assumes a progressive
// 4:4:4 image. inPlace reports a grey or YCbCr result, whose luminance
// plane the decoder uses without a copy.
func jpegImageBytes(data []byte, w, h int64) (bytes int64, inPlace bool) {
	worst := w*h*3 + w*h*3*4 + w*h*4 // 4:4:4 planes + progressive coefficients + RGBA
	adobeRGB := false
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return worst, false
		}
		m := data[i+1]
		if m == 0xff { // fill byte
			i++
			continue
		}
		if m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01 {
			i += 2
			continue
		}
		l := int(binary.BigEndian.Uint16(data[i+2:]))
		if l < 2 || i+2+l > len(data) {
			return worst, false
		}
		seg := data[i+4 : i+2+l]
		if m == 0xee && len(seg) >= 12 && string(seg[:5]) == "Adobe" && seg[11] == 0 {
			adobeRGB = true // RGB, not YCbCr: image/jpeg converts to RGBA
		}
		if m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			n := 0
			if len(seg) >= 6 {
				n = int(seg[5])
			}
			if n == 3 && len(seg) >= 15 && seg[6] == 'R' && seg[9] == 'G' && seg[12] == 'B' {
				adobeRGB = true // component ids R, G, B: image/jpeg returns RGBA too
			}
			return sofBytes(seg, m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce, adobeRGB, w, h, worst), (n == 1 || n == 3) && !adobeRGB
		}
		if m == 0xda || m == 0xd9 {
			return worst, false
		}
		i += 2 + l
	}
	return worst, false
}

func sofBytes(seg []byte, progressive, adobeRGB bool, w, h, worst int64) int64 {
	if len(seg) < 6 {
		return worst
	}
	n := int(seg[5])
	if n < 1 || n > 4 || len(seg) < 6+3*n {
		return worst
	}
	hmax, vmax := int64(1), int64(1)
	for c := 0; c < n; c++ {
		s := seg[6+3*c+1]
		hmax, vmax = max(hmax, int64(s>>4)), max(vmax, int64(s&15))
	}
	mxx, myy := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax)
	var total int64
	for c := 0; c < n; c++ {
		s := seg[6+3*c+1]
		hi, vi := max(int64(s>>4), 1), max(int64(s&15), 1)
		blocks := mxx * myy * hi * vi
		total += blocks * 64 // the plane
		if progressive {
			total += blocks * 256 // [64]int32 per block
		}
	}
	if n == 4 || adobeRGB {
		total += w * h * 4 // CMYK or RGBA result of 4-component and RGB images
	}
	return total
}
