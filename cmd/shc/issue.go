package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
)

func runIssue(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("issue", "--key FILE --iss URL --out-dir DIR [flags] BUNDLE.json...", stderr)
	keyFile := fs.String("key", "", "private key `FILE` (JWK or JWKS with d)")
	kid := fs.String("kid", "", "which key of a JWKS file signs (default: its only signing key)")
	passFile := fs.String("passphrase-file", "", "passphrase for an encrypted key file")
	iss := fs.String("iss", "", "issuer `URL`: https, no trailing slash (KEY-4)")
	exp := fs.Duration("exp", 0, "expire cards after `DURATION` (e.g. 8760h); default: no exp (PAY-3)")
	rid := fs.String("rid", "", "patient `ID` to derive the revocation id from (REV-3; needs --rid-secret)")
	ridSecret := fs.String("rid-secret", "", "`FILE` holding the rid secret: {\"secret\":\"...\"} or the bare string")
	ecl := fs.String("ecl", "L", "QR error-correction level: L, M, Q or H")
	chunk := fs.Bool("chunk", false, "split cards too large for one QR into legacy chunks (deprecated, QR-7)")
	noMinify := fs.Bool("no-minify", false, "keep the bundle as is (for file delivery; such cards are not meant for QR)")
	allowUnresolved := fs.Bool("allow-unresolved", false, "sign even when the bundle has no Patient or references that name no entry (MIN-7)")
	outDir := fs.String("out-dir", "", "write NAME.jws, NAME.smart-health-card, NAME.qr.txt, NAME.qr.png and NAME.qr.svg to `DIR`")
	at := fs.String("at", "", "issue time (RFC 3339 or Unix seconds); default now")
	bundles, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *keyFile == "" || *iss == "" || *outDir == "":
		return usagef("issue needs --key, --iss and --out-dir")
	case len(bundles) == 0:
		return usagef("issue needs at least one BUNDLE.json")
	case (*rid == "") != (*ridSecret == ""):
		return usagef("--rid and --rid-secret go together")
	}
	if err := checkIss(*iss); err != nil {
		return usageError{err.Error()}
	}
	level, err := parseLevel(*ecl)
	if err != nil {
		return err
	}
	now := time.Now()
	if *at != "" {
		if now, err = parseTime(*at); err != nil {
			return usageError{err.Error()}
		}
	}
	signer, err := loadSigner(*keyFile, *passFile, *kid)
	if err != nil {
		return err
	}
	s, err := shc.NewSigner(signer)
	if err != nil {
		return err
	}
	var ridValue string
	if *rid != "" {
		secret, err := readRIDSecret(*ridSecret)
		if err != nil {
			return err
		}
		ridValue = issuer.RID(secret, s.KeyID(), *rid)
	}
	if err := os.MkdirAll(*outDir, 0o700); err != nil {
		return err
	}
	for _, path := range bundles {
		raw, err := readInput(path, 16<<20)
		if err != nil {
			return err
		}
		bundle := raw
		if !*noMinify {
			if bundle, err = shc.Minify(raw); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			problems, err := shc.BundleProblems(bundle)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for _, p := range problems {
				fmt.Fprintf(stderr, "shc issue: %s: %s\n", path, p)
			}
			if len(problems) > 0 && !*allowUnresolved {
				return fmt.Errorf("%s: the bundle is not a self-contained card (see above); fix it or pass --allow-unresolved", path)
			}
		} else if !json.Valid(raw) {
			return fmt.Errorf("%s: not valid JSON", path)
		}
		p := shc.NewPayload(*iss, now, bundle)
		p.VC.RID = ridValue
		if *exp > 0 {
			e := shc.NewNumericDate(now.Add(*exp))
			p.Expires = &e
		}
		jws, err := s.Sign(p)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		files, err := writeCard(*outDir, name, jws, level, *chunk)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(stdout, "%s: card of %d characters signed by %s → %s\n", path, len(jws), s.KeyID(), strings.Join(files, ", "))
	}
	return nil
}

// writeCard writes the JWS, the card file and the QR outputs, and returns
// the file names written.
func writeCard(dir, name, jws string, level qr.Level, chunk bool) ([]string, error) {
	texts := []string{}
	maxSingle := qr.MaxJWSLen(level, len(shc.QRScheme))
	if len(jws) <= maxSingle {
		t, err := shc.EncodeQRText(jws)
		if err != nil {
			return nil, err
		}
		texts = append(texts, t)
	} else if chunk {
		var err error
		if texts, err = shc.EncodeQRChunks(jws, min(shc.MaxChunkJWS, qr.MaxJWSLen(level, len("shc:/99/99/")))); err != nil {
			return nil, err
		}
	} else {
		return nil, fmt.Errorf("card has %d JWS characters, more than the %d that fit one version-22 QR at level %s (SIZE-3); "+
			"use --chunk for legacy chunks, a lower --ecl, or share it as a SMART Health Link (shc link create)", len(jws), maxSingle, level)
	}
	file, err := shc.MarshalFile(jws)
	if err != nil {
		return nil, err
	}
	written := []string{}
	put := func(fname string, data []byte) error {
		written = append(written, fname)
		return writePrivateFile(filepath.Join(dir, fname), data)
	}
	// Card text files carry no trailing newline: the spec's example files
	// have none, and the reference validator flags one (error 133).
	if err := put(name+".jws", []byte(jws)); err != nil {
		return nil, err
	}
	if err := put(name+shc.FileExtension, file); err != nil {
		return nil, err
	}
	if err := put(name+".qr.txt", []byte(strings.Join(texts, "\n"))); err != nil {
		return nil, err
	}
	if len(texts) > 1 { // one file per chunk too, as the spec's examples are laid out
		for i, t := range texts {
			if err := put(fmt.Sprintf("%s.qr-%d.txt", name, i+1), []byte(t)); err != nil {
				return nil, err
			}
		}
	}
	for i, t := range texts {
		code, err := qr.Encode(t, qr.WithLevel(level))
		if err != nil {
			return nil, err
		}
		suffix := ""
		if len(texts) > 1 {
			suffix = fmt.Sprintf("-%d", i+1)
		}
		var png, svg strings.Builder
		if err := code.PNG(&png, 4); err != nil {
			return nil, err
		}
		if err := code.SVG(&svg); err != nil {
			return nil, err
		}
		if err := put(name+".qr"+suffix+".png", []byte(png.String())); err != nil {
			return nil, err
		}
		if err := put(name+".qr"+suffix+".svg", []byte(svg.String())); err != nil {
			return nil, err
		}
	}
	return written, nil
}

func parseLevel(s string) (qr.Level, error) {
	switch strings.ToUpper(s) {
	case "L":
		return qr.L, nil
	case "M":
		return qr.M, nil
	case "Q":
		return qr.Q, nil
	case "H":
		return qr.H, nil
	}
	return 0, usagef("--ecl must be L, M, Q or H, not %q", s)
}

// checkIss enforces KEY-4 for issuers on the command line: https, a host, no
// trailing slash (DIDs are accepted as a project extension).
func checkIss(iss string) error {
	if strings.HasPrefix(iss, "did:web:") || strings.HasPrefix(iss, "did:key:") {
		return nil
	}
	if !strings.HasPrefix(iss, "https://") || len(iss) <= len("https://") {
		return fmt.Errorf("--iss %q must be an https URL (KEY-4)", iss)
	}
	if strings.HasSuffix(iss, "/") {
		return fmt.Errorf("--iss %q must not end in / (KEY-4)", iss)
	}
	return nil
}

// readRIDSecret reads the rid secret: the spec generator's
// {"secret":"..."} JSON, or the bare string.
func readRIDSecret(path string) (string, error) {
	b, err := readInput(path, 4096)
	if err != nil {
		return "", fmt.Errorf("rid secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "{") {
		var v struct {
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return "", fmt.Errorf("rid secret %s: %w", path, err)
		}
		s = v.Secret
	}
	if len(s) < 16 {
		return "", fmt.Errorf("rid secret in %s is missing or shorter than 16 characters", path)
	}
	return s, nil
}

// parseTime accepts RFC 3339 or (fractional) Unix seconds.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		return shc.NumericDate(f).Time(), nil
	}
	return time.Time{}, fmt.Errorf("time %q is neither RFC 3339 nor Unix seconds", s)
}

// writePrivateFile writes a file that holds patient data (a card, its QR
// text or image) readable by its owner only (0600), also when it replaces
// an existing, more open file.
func writePrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
