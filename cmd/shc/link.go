package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/shlqr"
	"github.com/healthcards/healthcards/verifier"
)

const linkUsage = `Usage:
  shc link create --issuer URL --token-file F (--patient ID | --bundle FILE [--sign])
                  [--passcode-file F] [--exp DUR] [--label TEXT] [--long-term]
                  [--viewer URL#] [--qr FILE.png] [--ca-cert PEM] [--json]
  shc link show [--passcode-file F] [--json] [--trust FILE|URL]... [--trust-list FILE|URL]...
                [--jwks ISS=FILE]... [--any-issuer] [--allow-private-network] [--ca-cert PEM] LINK

create asks the issuer service to share a patient's results (issued as cards)
or a FHIR bundle (as is, or signed into cards with --sign) as a SMART Health
Link and prints the link. show prints a link's payload (never its key); with
trust flags it also fetches the link, decrypts it and verifies the cards
inside. LINK is the link text or a file holding it ("-" for standard input).
`

func runLink(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, linkUsage)
		if len(args) == 0 {
			return usagef("link needs a subcommand: create or show")
		}
		return nil
	}
	switch args[0] {
	case "create":
		return runLinkCreate(args[1:], stdout, stderr)
	case "show":
		return runLinkShow(args[1:], stdout, stderr)
	}
	return usagef("unknown link subcommand %q (create or show)", args[0])
}

// readSecretFile reads a one-line secret (token, passcode), trimming the
// trailing newline.
func readSecretFile(path, what string) (string, error) {
	b, err := readInput(path, 4096)
	if err != nil {
		return "", fmt.Errorf("%s file: %w", what, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s file %s is empty", what, path)
	}
	return s, nil
}

func certPool(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := readInput(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--ca-cert %s holds no PEM certificate", path)
	}
	return pool, nil
}

// linkCreated is the part of the issuer's POST /v1/links reply the CLI uses.
type linkCreated struct {
	ID      string          `json:"id"`
	ShLink  string          `json:"shlink"`
	QR      string          `json:"qr"`
	Cards   int             `json:"cards"`
	Payload json.RawMessage `json:"payload"`
}

func runLinkCreate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("link create", "--issuer URL --token-file F (--patient ID | --bundle FILE [--sign]) [flags]", stderr)
	issuerURL := fs.String("issuer", "", "the issuer service's https base `URL`")
	tokenFile := fs.String("token-file", "", "`FILE` holding an API token with the cards:issue scope")
	patient := fs.String("patient", "", "share the stored results of patient `ID` (issued as cards)")
	bundleFile := fs.String("bundle", "", "share the FHIR Bundle in `FILE`")
	sign := fs.Bool("sign", false, "with --bundle: issue the bundle into signed cards and share those")
	passFile := fs.String("passcode-file", "", "require the passcode in `FILE` to open the link (P flag)")
	exp := fs.Duration("exp", 0, "the link expires after `DUR` (e.g. 72h)")
	label := fs.String("label", "", "short description shown to the recipient (at most 80 characters)")
	longTerm := fs.Bool("long-term", false, "long-term link whose content may be updated (L flag)")
	viewer := fs.String("viewer", "", "put the viewer `URL` (ending in #) before the link")
	qrFile := fs.String("qr", "", "write the link's QR code (PNG, error correction M) to `FILE.png`")
	caCert := fs.String("ca-cert", "", "trust the issuer's TLS certificate from `PEM` (development servers)")
	asJSON := fs.Bool("json", false, "print the issuer's JSON reply instead of the link")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usagef("unexpected argument %q", rest[0])
	case !strings.HasPrefix(*issuerURL, "https://"):
		return usagef("--issuer must be an https URL")
	case *tokenFile == "":
		return usagef("--token-file is required")
	case (*patient == "") == (*bundleFile == ""):
		return usagef("give exactly one of --patient and --bundle")
	case *sign && *bundleFile == "":
		return usagef("--sign goes with --bundle")
	case *exp < 0:
		return usagef("--exp must be positive")
	case *viewer != "" && !strings.HasSuffix(*viewer, "#"):
		return usagef("--viewer must end in '#'")
	}
	token, err := readSecretFile(*tokenFile, "token")
	if err != nil {
		return err
	}
	req := map[string]any{}
	if *patient != "" {
		req["patientId"] = *patient
	} else {
		b, err := readInput(*bundleFile, 4<<20)
		if err != nil {
			return err
		}
		if !json.Valid(b) {
			return fmt.Errorf("--bundle %s is not JSON", *bundleFile)
		}
		req["bundle"] = json.RawMessage(b)
		if *sign {
			req["sign"] = true
		}
	}
	if *passFile != "" {
		if req["passcode"], err = readSecretFile(*passFile, "passcode"); err != nil {
			return err
		}
	}
	if *exp > 0 {
		req["exp"] = time.Now().Add(*exp).Unix()
	}
	if *label != "" {
		req["label"] = *label
	}
	if *longTerm {
		req["longTerm"] = true
	}
	if *viewer != "" {
		req["viewer"] = *viewer
	}
	pool, err := certPool(*caCert)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(req)
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	hreq, err := http.NewRequest(http.MethodPost, strings.TrimRight(*issuerURL, "/")+"/v1/links", bytes.NewReader(body))
	if err != nil {
		return usagef("--issuer: %v", err)
	}
	hreq.Header.Set("Authorization", "Bearer "+token)
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		return fmt.Errorf("contacting the issuer: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the issuer's reply: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("the issuer answered %d: %s", resp.StatusCode, outcomeText(reply))
	}
	var lc linkCreated
	if err := json.Unmarshal(reply, &lc); err != nil || lc.ShLink == "" {
		return fmt.Errorf("the issuer's reply is not a link")
	}
	if _, err := shl.Parse(lc.ShLink); err != nil {
		return fmt.Errorf("the issuer returned an invalid link: %w", err)
	}
	if *qrFile != "" {
		png, err := shlqr.PNG(lc.ShLink, 0)
		if err != nil {
			return err
		}
		if err := writePrivateFile(*qrFile, png); err != nil {
			return err
		}
	}
	if *asJSON {
		_, err := stdout.Write(append(bytes.TrimSpace(reply), '\n'))
		return err
	}
	fmt.Fprintln(stdout, lc.ShLink)
	return nil
}

// outcomeText pulls the message out of an OperationOutcome, or returns a
// bounded prefix of the body.
func outcomeText(b []byte) string {
	var oo struct {
		Issue []struct {
			Details struct {
				Coding []struct{ Code string } `json:"coding"`
				Text   string                  `json:"text"`
			} `json:"details"`
		} `json:"issue"`
	}
	if json.Unmarshal(b, &oo) == nil && len(oo.Issue) > 0 {
		d := oo.Issue[0].Details
		if len(d.Coding) > 0 {
			return d.Coding[0].Code + ": " + d.Text
		}
		return d.Text
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// linkInfo is "shc link show --json" output without trust flags. The key
// is never printed.
type linkInfo struct {
	URL      string     `json:"url"`
	Flag     string     `json:"flag,omitempty"`
	Label    string     `json:"label,omitempty"`
	Exp      *time.Time `json:"exp,omitempty"`
	Expired  bool       `json:"expired"`
	V        int        `json:"v"`
	Passcode bool       `json:"passcodeRequired"`
	Direct   bool       `json:"direct"`
	LongTerm bool       `json:"longTerm"`
	Viewer   string     `json:"viewer,omitempty"`
}

func runLinkShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("link show", "[--passcode-file F] [--json] [trust flags] LINK", stderr)
	tf := addTrustFlags(fs) // with any of them the link is resolved and its cards verified
	passFile := fs.String("passcode-file", "", "the link's passcode, from `FILE`")
	recipient := fs.String("recipient", "shc command line", "the recipient name sent to the sharer (it shows in their access log)")
	asJSON := fs.Bool("json", false, "print JSON")
	withBundle := fs.Bool("bundle", false, "include verified FHIR bundles and unverified FHIR data in --json output")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("link show needs exactly one LINK")
	}
	text := rest[0]
	if !verifier.IsLink([]byte(text)) {
		b, err := readInput(text, shl.MaxURILen)
		if err != nil {
			return fmt.Errorf("%s is neither a link nor a readable file: %w", text, err)
		}
		text = strings.TrimSpace(string(b))
	}
	p, err := shl.Parse(text)
	if err != nil {
		return err
	}
	info := linkInfo{URL: p.URL, Flag: p.Flag, Label: p.Label, V: max(p.V, 1), Passcode: p.HasFlag('P'), Direct: p.HasFlag('U'), LongTerm: p.HasFlag('L'), Expired: p.Expired(time.Now())}
	if i := strings.Index(strings.ToLower(text), "#shlink:/"); i >= 0 {
		info.Viewer = text[:i+1]
	}
	if p.Exp != 0 {
		t := time.Unix(p.Exp, 0).UTC()
		info.Exp = &t
	}
	if !tf.given() {
		if *asJSON {
			return writeJSON(stdout, info)
		}
		printLinkInfo(stdout, info)
		return nil
	}

	opts, err := tf.options()
	if err != nil {
		return err
	}
	v, err := verifier.New(opts...)
	if err != nil {
		return usageError{err.Error()}
	}
	lo := verifier.LinkOptions{Recipient: *recipient}
	if *passFile != "" {
		if lo.Passcode, err = readSecretFile(*passFile, "passcode"); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lr, err := v.VerifyLink(ctx, text, lo)
	if err != nil {
		if n := verifier.LinkRemainingAttempts(err); verifier.CodeOf(err) == verifier.CodePasscodeWrong && n >= 0 {
			return fmt.Errorf("%w (%d attempts left)", err, n)
		}
		return withFetchHint(err)
	}
	if *asJSON {
		if !*withBundle {
			for _, c := range lr.Cards {
				c.FHIRBundle = nil
			}
			for i := range lr.UnverifiedFHIR {
				lr.UnverifiedFHIR[i].UnverifiedData = json.RawMessage(`null`)
			}
		}
		if err := writeJSON(stdout, struct {
			Link   linkInfo             `json:"link"`
			Result *verifier.LinkResult `json:"result"`
		}{info, lr}); err != nil {
			return err
		}
	} else {
		printLinkInfo(stdout, info)
		for _, r := range lr.Cards {
			printEntry(stdout, verifyEntry{
				Input: fmt.Sprintf("card %d", r.Index), Valid: r.Valid, Verdict: r.Verdict, Iss: r.Issuer, IssuerName: r.IssuerName,
				Kid: r.KeyID, Nbf: r.NotBefore, Exp: r.Expires, Errors: r.Errors, Warnings: r.Warnings, Summary: r.Summary,
			})
		}
		for _, f := range lr.UnverifiedFHIR {
			fmt.Fprintf(stdout, "file %d: UNVERIFIED FHIR data (%d bytes; nobody signed it)\n", f.File, len(f.UnverifiedData))
		}
		for _, f := range lr.Files {
			if f.Note != "" {
				fmt.Fprintf(stdout, "file %d: %s: %s\n", f.Index, f.ContentType, f.Note)
			}
		}
		for _, w := range lr.Warnings {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
	}
	if !lr.Valid() {
		if len(lr.Cards) == 0 {
			fmt.Fprintln(stderr, "shc link show: the link holds no SMART Health Card")
		}
		return errInvalid
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printLinkInfo(w io.Writer, i linkInfo) {
	fmt.Fprintf(w, "url:      %s\n", i.URL)
	flags := i.Flag
	var words []string
	if i.LongTerm {
		words = append(words, "long-term")
	}
	if i.Passcode {
		words = append(words, "passcode required")
	}
	if i.Direct {
		words = append(words, "direct file")
	}
	if flags == "" {
		flags = "none"
	} else {
		flags += " (" + strings.Join(words, ", ") + ")"
	}
	fmt.Fprintf(w, "flags:    %s\n", flags)
	if i.Label != "" {
		fmt.Fprintf(w, "label:    %s\n", i.Label)
	}
	switch {
	case i.Exp == nil:
		fmt.Fprintf(w, "expires:  never\n")
	case i.Expired:
		fmt.Fprintf(w, "expires:  %s (EXPIRED)\n", i.Exp.Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "expires:  %s\n", i.Exp.Format(time.RFC3339))
	}
	if i.Viewer != "" {
		fmt.Fprintf(w, "viewer:   %s\n", i.Viewer)
	}
}
