package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
)

func runQR(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("qr", "[--ecl L] [--format txt|png|svg] [--chunk] [--out FILE] JWS-FILE|-", stderr)
	ecl := fs.String("ecl", "L", "error-correction level: L, M, Q or H")
	format := fs.String("format", "txt", "output: txt (shc:/ text), png or svg")
	chunk := fs.Bool("chunk", false, "split a card too large for one QR into legacy chunks (deprecated, QR-7)")
	out := fs.String("out", "", "write to `FILE` (chunks get -1, -2, ... before the extension); default standard output")
	scale := fs.Int("scale", 4, "PNG pixels per module")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("qr needs exactly one JWS file (or - for standard input)")
	}
	level, err := parseLevel(*ecl)
	if err != nil {
		return err
	}
	raw, err := readInput(pos[0], shc.DefaultMaxJWSBytes)
	if err != nil {
		return err
	}
	jws := strings.TrimSpace(string(raw))
	if _, err := shc.Parse(jws); err != nil {
		return err
	}
	var texts []string
	if max := qr.MaxJWSLen(level, len(shc.QRScheme)); len(jws) <= max || !*chunk {
		t, err := shc.EncodeQRText(jws)
		if err != nil {
			return err
		}
		texts = []string{t}
	} else if texts, err = shc.EncodeQRChunks(jws, min(shc.MaxChunkJWS, qr.MaxJWSLen(level, len("shc:/99/99/")))); err != nil {
		return err
	}
	for i, t := range texts {
		var buf bytes.Buffer
		switch *format {
		case "txt":
			buf.WriteString(t)
			if *out == "" {
				buf.WriteString("\n") // a terminal line; files get none (validator error 133)
			}
		case "png", "svg":
			code, err := qr.Encode(t, qr.WithLevel(level))
			if err != nil {
				return err
			}
			if *format == "png" {
				err = code.PNG(&buf, *scale)
			} else {
				err = code.SVG(&buf)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "QR %d/%d: version %d, level %s\n", i+1, len(texts), code.Version(), level)
		default:
			return usagef("--format must be txt, png or svg")
		}
		if *out == "" {
			if *format != "txt" && isTerminal(stdout) {
				return usagef("refusing to write %s to a terminal; use --out FILE", *format)
			}
			if _, err := stdout.Write(buf.Bytes()); err != nil {
				return err
			}
			continue
		}
		name := *out
		if len(texts) > 1 {
			ext := filepath.Ext(name)
			name = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(name, ext), i+1, ext)
		}
		if err := writePrivateFile(name, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runDecode(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("decode", "INPUT...  (QR image PNG/JPEG/SVG, shc:/ text file, .smart-health-card file, or - for standard input)", stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("decode needs at least one input")
	}
	var texts []string
	for _, p := range pos {
		t, err := inputText(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		texts = append(texts, t)
	}
	jws, _, err := shc.ExtractJWS([]byte(strings.Join(texts, "\n")))
	if err != nil {
		return err
	}
	for _, j := range jws {
		fmt.Fprintln(stdout, j)
	}
	return nil
}

// inputText turns one command-line input into text: a QR image is decoded,
// a text file is read, and an argument that is not a file but looks like a
// card (shc:/..., a JWS) is taken literally.
func inputText(arg string) (string, error) {
	if arg != "-" {
		if _, err := os.Stat(arg); err != nil {
			if looksLikeCard(arg) {
				return arg, nil
			}
			return "", err
		}
	}
	data, err := readInput(arg, 32<<20)
	if err != nil {
		return "", err
	}
	switch {
	case isImage(data):
		return qr.DecodeBytes(data)
	case bytes.Contains(data[:min(len(data), 512)], []byte("<svg")):
		return qr.DecodeSVG(data)
	}
	return string(data), nil
}

func looksLikeCard(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(strings.ToLower(s), "shc:/") || (strings.Count(s, ".") == 2 && !strings.ContainsAny(s, " /\\"))
}

func isImage(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF})
}
