// Package qr turns SMART Health Card QR text into QR code images and reads
// it back from images. It is kept apart from package shc so that programs
// that only check JWS text do not link image code.
//
// Encoding: shc.EncodeQRText (or shc.EncodeQRChunks for legacy chunks)
// gives the text; Encode builds the symbol; Code.PNG and Code.SVG render it.
//
//	text, _ := shc.EncodeQRText(jws)
//	code, err := qr.Encode(text) // error-correction level L by default
//	if err != nil { ... }        // shc.CodeQRTooLarge above version 22
//	err = code.PNG(w, 4)         // 4 px per module, 4-module quiet zone
//
// Decoding: Decode, DecodeBytes (PNG or JPEG) and DecodeSVG return the raw
// QR text ("shc:/..."); pass it to shc.DecodeQRText.
//
// # Segments (QR-1, QR-3)
//
// Every symbol Encode returns holds exactly two segments: a byte-mode
// segment with "shc:/" (or "shc:/C/N/") and a numeric-mode segment with all
// the digits. The encoder is the package's own (ISO/IEC 18004): it writes
// those two segments directly, picks the smallest version that fits and
// the mask the standard penalty rule scores lowest (rule 3 counts each
// 11-module window 1011101 0000 or 0000 1011101, the quiet zone counting
// as light). Before returning a symbol, Encode reads back from the module
// grid both copies of the format information, both copies of the version
// information and, through the mask, the data codewords' segment headers,
// and fails with CodeEncodeFailed unless they are exactly what it meant to
// write. The tests and fuzz targets decode every symbol with independent
// decoders (gozxing, and zbar where installed).
//
// Encode picks the smallest version that fits, up to MaxVersion (22, about
// 40 mm printed: SIZE-1). The largest JWS that fits is 1195 characters at
// level L, 927 at M, 670 at Q and 519 at H (SIZE-3; MaxJWSLen, which is
// shc.MaxQRJWSLen, computes it from the version 22 capacity). The capacity
// tables live in package shc (shc.QRDataBits) so that the issuer can size
// cards without linking image code.
//
// EncodeBytes encodes other text (SMART Health Links) as one byte segment.
//
// # Security considerations
//
// Images come from untrusted sources (uploads, cameras), so every decoder
// entry point is bounded:
//
//   - DecodeBytes refuses more than MaxImageBytes (20 MiB) of data, and
//     reads the PNG/JPEG header first, refusing more than MaxImagePixels
//     (40 megapixels) or more than MaxDecodeBytes (256 MiB) of estimated
//     decoding memory (DecodeCost: 16-bit and interlaced PNG, progressive
//     JPEG coefficients, CMYK, plus the ladder's working images) before
//     any pixel is decoded. Servers can charge DecodeCost against their
//     own memory budget. Only PNG and JPEG are accepted, whatever other
//     image decoders the program registers.
//   - Decode refuses images over MaxImagePixels and works on a grayscale
//     image at most 1600 pixels on its longer side (a JPEG's luminance
//     plane is read in place, not copied), so a 12-megapixel baseline
//     phone JPEG decodes in under 64 MiB.
//   - An image in which a cheap pre-scan finds no 1:1:3:1:1 finder-pattern
//     candidate is refused before any decode attempt. The retry ladder
//     (binarizers, contrast stretch, sharpening, blur, rescaling, ±6° and
//     ±12° rotation, inversion; each derived image and the base image's
//     block statistics built once and shared) has at most 13 attempts and
//     a work budget of 7 working images' pixels (at least 4 megapixels),
//     so an image without a readable QR code costs a bounded amount of
//     work; there is no unbounded search.
//   - DecodeSVG accepts at most MaxSVGBytes (1 MiB), rasterizes onto a
//     canvas of at most 600 pixels per side, clamps geometry to one
//     viewBox size around the canvas (so coordinates like 1e308 cost no
//     more than the canvas), charges every edge and every colour batch to
//     a fixed rasterization work budget (CodeImageTooLarge when exceeded),
//     caps path vertices, colour changes and nesting depth, and
//     understands only straight-line paths and rectangles; transforms,
//     curves, nested <svg> and external references are refused or
//     ignored, never fetched. encoding/xml does not expand custom
//     entities.
//   - The Context variants (DecodeContext, DecodeBytesContext,
//     DecodeRawBytesContext, DecodeSVGContext) stop with CodeCanceled
//     once the context is done: before decoding, before every ladder
//     attempt and while rasterizing. Decoding of the PNG/JPEG itself is
//     not interruptible, but is bounded by the caps above.
//   - The third-party decoder is not hardened against hostile input; a
//     panic inside it is recovered and counts as a failed attempt.
//
// Decoded text is checked with shc.ParseQRText but not otherwise trusted:
// verification happens in the caller.
//
// Errors are *shc.Error values: use shc.CodeOf or errors.Is with the
// sentinels (shc.ErrQRTooLarge, shc.ErrMalformedQR, ErrNoQRFound, ...).
package qr
