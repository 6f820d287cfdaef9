package qr

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // register the JPEG decoder for DecodeBytes
	_ "image/png"  // register the PNG decoder for DecodeBytes

	"github.com/healthcards/healthcards/shc"
	"github.com/makiuchi-d/gozxing"
	zxdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// Size caps for images handed to the decoder (see "Security considerations"
// in the package documentation).
const (
	// MaxImageBytes caps the encoded image DecodeBytes accepts.
	MaxImageBytes = 20 << 20
	// MaxImagePixels caps width×height of any image, checked from the
	// PNG/JPEG header before the pixels are decoded.
	MaxImagePixels = 40_000_000
	// workLongSide is the longest side, in pixels, the decoder works on;
	// bigger images are downscaled first (a version 22 QR filling a third of
	// that width still has about 5 pixels per module). It bounds the
	// ladder's memory: about 20 working images of 1600×1200 (cost.go).
	workLongSide = 1600
	// maxAttempts bounds the decode ladder, so a hostile image costs at
	// most this many detector runs.
	maxAttempts = 13
	// ladderWorkFactor and ladderWorkFloor set the ladder's work budget:
	// at most max(factor × working pixels, floor) pixels handed to the
	// detector over all attempts.
	ladderWorkFactor = 7
	ladderWorkFloor  = 4 << 20
)

// DecodeBytes decodes a PNG or JPEG image and returns the SMART Health Card
// QR text in it (see Decode). It refuses data over MaxImageBytes, and
// images whose header declares more than MaxImagePixels or whose estimated
// decoding memory (DecodeCost) is over MaxDecodeBytes, before decoding any
// pixels.
func DecodeBytes(data []byte) (string, error) {
	return DecodeBytesContext(context.Background(), data)
}

// DecodeBytesContext is DecodeBytes that gives up, with CodeCanceled, once
// ctx is done: it checks ctx before and after decoding the image and
// before every attempt of the retry ladder.
func DecodeBytesContext(ctx context.Context, data []byte) (string, error) {
	text, err := DecodeRawBytesContext(ctx, data)
	if err != nil {
		return "", err
	}
	return checkText(text)
}

// DecodeRawBytes is DecodeBytes without the SMART Health Card text check:
// it returns whatever text the QR code holds (a shlink:/ SMART Health Link,
// for instance) after the same size caps and the same decode ladder. The
// caller must treat the text as untrusted input.
func DecodeRawBytes(data []byte) (string, error) {
	return DecodeRawBytesContext(context.Background(), data)
}

// DecodeRawBytesContext is DecodeRawBytes with a context (see
// DecodeBytesContext).
func DecodeRawBytesContext(ctx context.Context, data []byte) (string, error) {
	cost, err := DecodeCost(data)
	if err != nil {
		return "", err
	}
	if cost > MaxDecodeBytes {
		return "", errorf(CodeImageTooLarge, nil, "decoding this image would take about %d MB, over the %d MB limit", cost>>20, MaxDecodeBytes>>20)
	}
	if err := ctxErr(ctx); err != nil {
		return "", err
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", errorf(shc.CodeMalformedInput, err, "not a readable %s image", format)
	}
	res, err := scanRaw(ctx, img)
	if err != nil {
		return "", err
	}
	return res.text, nil
}

// ctxErr turns a finished context into a CodeCanceled error that also
// matches context.Canceled or context.DeadlineExceeded with errors.Is.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return errorf(CodeCanceled, err, "decoding stopped: %v", err)
	}
	return nil
}

func checkDims(w, h int) error {
	if w <= 0 || h <= 0 {
		return errorf(shc.CodeMalformedInput, nil, "empty image (%d×%d)", w, h)
	}
	if int64(w)*int64(h) > MaxImagePixels {
		return errorf(CodeImageTooLarge, nil, "image of %d×%d pixels exceeds the %d-pixel limit", w, h, MaxImagePixels)
	}
	return nil
}

// Decode finds a QR code in img and returns its text, which must be SMART
// Health Card QR text ("shc:/..." or a chunk "shc:/C/N/..."); pass it to
// shc.DecodeQRText. It works on clean renders and on photos: it tries a
// bounded ladder (at most 13 attempts) of binarizers, contrast stretch,
// sharpening, blur, rescaling, small rotations and inversion, and stops at
// the first success.
//
// Errors (all *shc.Error): CodeImageTooLarge over MaxImagePixels,
// CodeNoQRFound when no QR code can be read, shc.CodeMalformedQR when a QR
// code is read but does not hold SMART Health Card QR text.
func Decode(img image.Image) (string, error) {
	return DecodeContext(context.Background(), img)
}

// DecodeContext is Decode that gives up, with CodeCanceled, once ctx is
// done; it checks ctx before every attempt of the retry ladder.
func DecodeContext(ctx context.Context, img image.Image) (string, error) {
	s, err := scan(ctx, img)
	if err != nil {
		return "", err
	}
	return s.text, nil
}

// scanResult is what the decoder read from one symbol.
type scanResult struct {
	text     string
	version  int
	level    Level
	segments []segment
	attempt  int // 1-based rung of the ladder that succeeded
}

func scan(ctx context.Context, img image.Image) (*scanResult, error) {
	res, err := scanRaw(ctx, img)
	if err != nil {
		return nil, err
	}
	if _, err := checkText(res.text); err != nil {
		return nil, err
	}
	return res, nil
}

// checkText accepts what the format core accepts (QR-4); the caller decodes
// the text with shc.DecodeQRText.
func checkText(text string) (string, error) {
	if _, err := shc.ParseQRText(text); err != nil {
		return "", errorf(shc.CodeMalformedQR, err, "QR code does not hold SMART Health Card QR text")
	}
	return text, nil
}

// scanRaw bounds and prepares img and runs the decode ladder, whatever text
// the symbol holds.
func scanRaw(ctx context.Context, img image.Image) (*scanResult, error) {
	if img == nil {
		return nil, errorf(shc.CodeMalformedInput, nil, "nil image")
	}
	b := img.Bounds()
	if err := checkDims(b.Dx(), b.Dy()); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	return ladder(ctx, workingImage(img))
}

// ladder runs the decode attempts in order until one reads a symbol (at
// most maxAttempts detector runs, within a work budget).
func ladder(ctx context.Context, base *image.Gray) (*scanResult, error) {
	// A flat image (a blank page, a canvas painted over) holds no QR code:
	// refuse it without running the ladder.
	lo, hi := uint8(255), uint8(0)
	for _, v := range base.Pix {
		lo, hi = min(lo, v), max(hi, v)
	}
	if int(hi)-int(lo) < 16 {
		return nil, errorf(CodeNoQRFound, nil, "no readable QR code found in the image (it is flat: grey levels %d..%d)", lo, hi)
	}
	li := &ladderImages{base: base}
	// No 1:1:3:1:1 finder-pattern candidate anywhere: no rung can read a
	// symbol (finder.go), so refuse before running any of them. The block
	// statistics it thresholds with are the hybrid binarizer's for the
	// base image, kept for that rung.
	if !hasFinderCandidate(base, li.baseStats()) {
		return nil, errorf(CodeNoQRFound, nil, "no readable QR code found in the image (no finder pattern)")
	}
	rungs := li.rungs()
	// The ladder's work, in pixels handed to the detector, is capped by a
	// budget derived from the image size: a large photo that the first
	// rungs do not read stops before the rotated attempts (none of which
	// read a shot of the photo set), a small image gets every rung.
	budget := max(ladderWorkFactor*len(base.Pix), ladderWorkFloor)
	var last error
	work, tried := 0, 0
	for i, r := range rungs {
		if i >= maxAttempts {
			break
		}
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		if i > 0 && work+r.px > budget {
			break
		}
		work += r.px
		tried++
		res, err := li.attempt(r)
		if err == nil {
			res.attempt = i + 1
			return res, nil
		}
		last = err
	}
	return nil, errorf(CodeNoQRFound, nil, "no readable QR code found in the image (%d attempts, last: %v)", tried, last)
}

// ladderImages builds the ladder's derived images on first use and shares
// them between rungs: the stretched image, its blur, the blur of that (also
// the soft image of the unsharp mask), the sharpened image and the small
// copies; and the base image's block statistics (finder pre-scan and the
// hybrid binarizer of the base rung).
type ladderImages struct {
	base                         *image.Gray
	stats                        *blockStats
	st, bl, bl2, sh, half, small *image.Gray
	smallBlur                    *image.Gray
}

func (li *ladderImages) baseStats() *blockStats {
	if li.stats == nil {
		li.stats = newBlockStats(li.base)
	}
	return li.stats
}

func (li *ladderImages) stretched() *image.Gray {
	if li.st == nil {
		li.st = stretch(li.base)
	}
	return li.st
}

func (li *ladderImages) blurred() *image.Gray {
	if li.bl == nil {
		li.bl = blur(li.stretched())
	}
	return li.bl
}

func (li *ladderImages) blurred2() *image.Gray {
	if li.bl2 == nil {
		li.bl2 = blur(li.blurred())
	}
	return li.bl2
}

// sharpened is the unsharp mask of the stretched image: its soft image is
// blurred2, so the mask costs one pass over the pixels.
func (li *ladderImages) sharpened() *image.Gray {
	if li.sh == nil {
		li.sh = unsharp(li.stretched(), li.blurred2())
	}
	return li.sh
}

// halfBlurred averages the blurred image down to half size: modules of 5-7
// px under moiré or blur become 2-3 px of cleaner grey.
func (li *ladderImages) halfBlurred() *image.Gray {
	if li.half == nil {
		li.half = li.blurred()
		if l := max(li.half.Rect.Dx(), li.half.Rect.Dy()); l >= 400 {
			li.half = resize(li.half, l/2)
		}
	}
	return li.half
}

// smallBlurred is the blurred image at most 1024 px on its longer side.
func (li *ladderImages) smallBlurred() *image.Gray {
	if li.smallBlur == nil {
		li.smallBlur = li.blurred()
		if max(li.smallBlur.Rect.Dx(), li.smallBlur.Rect.Dy()) > 1024 {
			li.smallBlur = resize(li.smallBlur, 1024)
		}
	}
	return li.smallBlur
}

// smallSharp is the sharpened image at most 1024 px on its longer side,
// for the costlier rotated attempts.
func (li *ladderImages) smallSharp() *image.Gray {
	if li.small == nil {
		li.small = li.sharpened()
		if max(li.small.Rect.Dx(), li.small.Rect.Dy()) > 1024 {
			li.small = resize(li.small, 1024)
		}
	}
	return li.small
}

// rung is one attempt of the ladder: an image, a binarizer, and the pixels
// it hands the detector (estimated before the image is built).
type rung struct {
	name   string
	img    func() *image.Gray
	global bool        // GlobalHistogramBinarizer instead of HybridBinarizer
	stats  *blockStats // the image's block statistics when already known
	px     int
}

// rungs lists the ladder in order. The order comes from the photo set
// (TestPhotoSetRungs logs, per rung, the shots it reads alone): the global
// binarizer reads 9 of the 24 shots, the blurred-twice image 9 (6 of them
// not read by the first rung), the 1024 px and half-size images one each
// that nothing earlier reads; so these four first, which read all 17
// shots the ladder reads. The hybrid binarizer on the base image and the
// blurred and sharpened images read no shot that those four do not, but
// stay for uneven light, noise and the low-contrast, blurred photo-like
// test image (sharpened); rotations and inversion come last.
func (li *ladderImages) rungs() []rung {
	base := li.base
	long := max(base.Rect.Dx(), base.Rect.Dy())
	px := len(base.Pix)
	scaledPx := func(l int) int { return px * l / long * l / long }
	baseImg := func() *image.Gray { return base }
	rs := []rung{
		{"global", baseImg, true, nil, px},             // clean renders, even light
		{"blurred twice", li.blurred2, false, nil, px}, // focus blur, JPEG blocking, a screen's moiré
	}
	if long > 1024 { // modules may be large: a smaller image evens them out
		rs = append(rs, rung{"blurred 1024 px", li.smallBlurred, false, nil, scaledPx(1024)})
	}
	rs = append(rs,
		rung{"blurred half size", li.halfBlurred, false, nil, scaledPx(long / 2)},
		rung{"hybrid", baseImg, false, li.baseStats(), px},    // uneven light
		rung{"blurred", li.blurred, false, nil, px},           // sensor noise, halftone
		rung{"sharpened", li.sharpened, false, nil, px},       // focus blur, JPEG smoothing
		rung{"sharpened global", li.sharpened, true, nil, px}, // low contrast and blur together
	)
	if long < 600 { // modules may be 1-2 px: give the binarizer room
		rs = append(rs, rung{"sharpened doubled", func() *image.Gray { return resize(li.sharpened(), 2*long) }, false, nil, 4 * px})
	}
	// Small tilts; the detector handles 90° steps itself.
	// A rotated canvas is at most (w+h)²/2 for the 1024 px image.
	rw, rh := base.Rect.Dx(), base.Rect.Dy()
	if long > 1024 {
		rw, rh = rw*1024/long, rh*1024/long
	}
	for _, deg := range []float64{6, -6, 12, -12} {
		rs = append(rs, rung{fmt.Sprintf("rotated %g°", deg), func() *image.Gray { return rotate(li.smallSharp(), deg) }, false, nil, (rw + rh) * (rw + rh) / 2})
	}
	return append(rs, rung{"inverted", func() *image.Gray { return invert(li.stretched()) }, false, nil, px}) // light on dark
}

var tryHarder = map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}

// attempt binarizes r's image and runs one detection + decode. gozxing is
// not hardened against hostile input, so a panic inside it counts as a
// failed attempt.
func (li *ladderImages) attempt(r rung) (res *scanResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	g := r.img()
	var black *gozxing.BitMatrix
	if r.global {
		black, err = globalMatrix(g)
	} else {
		black, err = hybridMatrix(g, r.stats)
	}
	if err != nil {
		return nil, err
	}
	det, err := detector.NewDetector(black).Detect(tryHarder)
	if err == nil {
		segs, version, level, text, rerr := readBitMatrix(det.GetBits())
		if rerr == nil {
			return &scanResult{text: text, version: version, level: level, segments: segs}, nil
		}
		err = rerr
	}
	// A clean render the detector misread: read its grid directly (pure.go).
	if bits, perr := pureBits(black); perr == nil {
		if segs, version, level, text, rerr := readBitMatrix(bits); rerr == nil {
			return &scanResult{text: text, version: version, level: level, segments: segs}, nil
		}
	}
	return nil, err
}

// scanGray runs the ladder on a working image and checks the text.
func scanGray(ctx context.Context, g *image.Gray) (*scanResult, error) {
	res, err := ladder(ctx, g)
	if err != nil {
		return nil, err
	}
	if _, err := checkText(res.text); err != nil {
		return nil, err
	}
	return res, nil
}

// readBitMatrix decodes a sampled symbol (gozxing BitMatrix, one bit per
// module) and lists its segments.
func readBitMatrix(bm *gozxing.BitMatrix) (segs []segment, version int, level Level, text string, err error) {
	res, err := zxdecoder.NewDecoder().Decode(bm, nil)
	if err != nil {
		return nil, 0, 0, "", err
	}
	version = (bm.GetWidth() - 17) / 4
	switch res.GetECLevel() {
	case "L":
		level = L
	case "M":
		level = M
	case "Q":
		level = Q
	case "H":
		level = H
	default:
		return nil, 0, 0, "", fmt.Errorf("unknown EC level %q", res.GetECLevel())
	}
	// A segment list that does not parse is reported as none: tests then
	// fail, while Decode only needs the text.
	segs, perr := parseSegments(res.GetRawBytes(), version)
	if perr != nil {
		segs = nil
	}
	return segs, version, level, res.GetText(), nil
}
