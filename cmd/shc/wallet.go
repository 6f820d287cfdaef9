package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/healthcards/healthcards/internal/wallet"
	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/shlqr"
	"github.com/healthcards/healthcards/verifier"
)

const walletUsage = `Usage:
  shc wallet connect FHIR-BASE --client-id ID [--scope "..."] [--no-browser]
                     [--allow-private-network] [--ca-cert PEM] [--trusted-issuer ISS]...
  shc wallet import [--type immunization|laboratory|covid19|health-card|TYPE]... [--since DATE] [trust flags]
  shc wallet add FILE|PHOTO|shlink:/... [--passcode-file F] [trust flags]
  shc wallet list [--json]
  shc wallet show ID [--json] [--verify [trust flags]]
  shc wallet qr ID [--format png|svg|txt] [--out FILE]
  shc wallet share ID [--out FILE.png|FILE.svg|FILE.smart-health-card] [--link [--passcode-file F] [--exp DUR]]
  shc wallet remove ID
  shc wallet disconnect [--no-revoke]

A reference wallet. connect authorizes this wallet at a FHIR server (SMART
App Launch, standalone patient launch: PKCE S256 and a loopback redirect on
127.0.0.1); import fetches the patient's cards with $health-cards-issue and
keeps them only when every one verifies; add keeps cards from a file, a
photo of a QR code or a SMART Health Link, verified the same way.

Every subcommand takes --wallet DIR (SHC_WALLET_DIR; default
$XDG_CONFIG_HOME/healthcards/wallet), a private folder (0700, files 0600,
refused when looser). The authorization (refresh token) is encrypted with
the wallet passphrase: SHC_WALLET_PASSPHRASE, --passphrase-file F, or a
prompt on the terminal. IDs are the first hex digits shown by list (4 are
enough when unique).
`

func runWallet(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, walletUsage)
		if len(args) == 0 {
			return usagef("wallet needs a subcommand: connect, import, add, list, show, qr, share, remove or disconnect")
		}
		return nil
	}
	sub := map[string]func([]string, io.Writer, io.Writer) error{
		"connect": runWalletConnect, "import": runWalletImport, "add": runWalletAdd, "list": runWalletList,
		"show": runWalletShow, "qr": runWalletQR, "share": runWalletShare, "remove": runWalletRemove,
		"disconnect": runWalletDisconnect,
	}[args[0]]
	if sub == nil {
		return usagef("unknown wallet subcommand %q (connect, import, add, list, show, qr, share, remove, disconnect)", args[0])
	}
	return sub(args[1:], stdout, stderr)
}

// walletFlags are the flags every wallet subcommand takes.
type walletFlags struct {
	dir, passFile *string
	stderr        io.Writer
}

func addWalletFlags(fs *flag.FlagSet, stderr io.Writer) *walletFlags {
	return &walletFlags{
		dir:      fs.String("wallet", "", "the wallet `DIR` (default $SHC_WALLET_DIR, else the user config folder's healthcards/wallet)"),
		passFile: fs.String("passphrase-file", "", "read the wallet passphrase from `FILE` (default $SHC_WALLET_PASSPHRASE, else a prompt)"),
		stderr:   stderr,
	}
}

// open opens the wallet; the passphrase is asked only when the grant is
// read or written.
// openNoArgs parses the flags of a subcommand that takes no arguments
// and opens the wallet.
func (f *walletFlags) openNoArgs(fs *flag.FlagSet, args []string) (*wallet.Wallet, error) {
	rest, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q", rest[0])
	}
	return f.open()
}

// oneCard parses the flags of a subcommand that takes exactly one card
// ID, opens the wallet and finds the card.
func (f *walletFlags) oneCard(fs *flag.FlagSet, args []string, verb string) (*wallet.Wallet, wallet.Card, error) {
	rest, err := parseFlags(fs, args)
	if err != nil {
		return nil, wallet.Card{}, err
	}
	if len(rest) != 1 {
		return nil, wallet.Card{}, usagef("%s needs exactly one card ID", verb)
	}
	w, err := f.open()
	if err != nil {
		return nil, wallet.Card{}, err
	}
	c, err := w.Card(rest[0])
	if err != nil {
		return nil, wallet.Card{}, err
	}
	return w, c, nil
}

func (f *walletFlags) open() (*wallet.Wallet, error) {
	dir := *f.dir
	if dir == "" {
		dir = os.Getenv("SHC_WALLET_DIR")
	}
	if dir == "" {
		d, err := wallet.DefaultDir()
		if err != nil {
			return nil, usagef("no --wallet DIR and no user config folder: %v", err)
		}
		dir = d
	}
	return wallet.Open(dir, wallet.Options{Passphrase: f.passphrase})
}

func (f *walletFlags) passphrase() ([]byte, error) {
	if *f.passFile != "" {
		return readPassphrase(*f.passFile)
	}
	if p := os.Getenv("SHC_WALLET_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(f.stderr, "wallet passphrase: ")
		p, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(f.stderr)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, &wallet.Error{Code: wallet.CodePassphraseRequired, Pkg: "wallet", Msg: "the wallet's authorization is encrypted: set SHC_WALLET_PASSPHRASE or give --passphrase-file"}
}

func runWalletConnect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet connect", "FHIR-BASE --client-id ID [--scope \"...\"] [--no-browser] [--allow-private-network] [--ca-cert PEM]", stderr)
	wf := addWalletFlags(fs, stderr)
	clientID := fs.String("client-id", os.Getenv("SHC_WALLET_CLIENT_ID"), "the OAuth client `ID` the server's administrator registered for this wallet, a public client with redirect URI http://127.0.0.1/callback (default $SHC_WALLET_CLIENT_ID)")
	scope := fs.String("scope", strings.Join(wallet.DefaultScopes, " "), "the SMART `SCOPES` to ask for, space-separated")
	noBrowser := fs.Bool("no-browser", false, "only print the authorization URL; do not open a browser")
	private := fs.Bool("allow-private-network", false, "the FHIR server is on loopback or a private network (development): allow that origin only")
	caCert := fs.String("ca-cert", "", "also trust TLS certificates from `PEM` for this server (the development issuer's data/tls/cert.pem)")
	timeout := fs.Duration("timeout", wallet.DefaultConnectTimeout, "give up when the browser has not come back within `DUR`")
	var trusted multiFlag
	fs.Var(&trusted, "trusted-issuer", "trust cards from `ISS` on import (repeatable; default: the FHIR base and its path prefixes on its origin)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("connect needs exactly one FHIR-BASE (e.g. https://localhost:8443/fhir)")
	}
	base, err := wallet.CheckFHIRBase(rest[0])
	if err != nil {
		return usageError{err.Error()}
	}
	if *clientID == "" {
		return usagef("--client-id is required: the issuer's administrator registers the wallet once (shc-issuer clients add --redirect-uri http://127.0.0.1/callback) and gives you its ID")
	}
	w, err := wf.open()
	if err != nil {
		return err
	}
	conn := &wallet.Connection{}
	if *private {
		conn.PrivateOrigins = []string{wallet.Origin(base)}
	}
	if *caCert != "" {
		b, err := readInput(*caCert, 1<<20)
		if err != nil {
			return fmt.Errorf("--ca-cert: %w", err)
		}
		conn.CACertPEM = string(b)
	}
	c, err := wallet.NewClient(conn)
	if err != nil {
		return err
	}
	if _, err := wf.passphrase(); err != nil { // ask before the browser, not after
		return err
	}
	opts := wallet.ConnectOptions{
		FHIRBase: base, ClientID: *clientID, Scopes: strings.Fields(*scope), Timeout: *timeout,
		PrivateOrigins: conn.PrivateOrigins, CACertPEM: conn.CACertPEM, TrustedIssuers: trusted,
		ShowURL: func(u string) error {
			fmt.Fprintf(stderr, "Open this address in a browser to authorize the wallet (waiting up to %v):\n\n  %s\n\n", *timeout, u)
			if !*noBrowser {
				openBrowser(u)
			}
			return nil
		},
	}
	if len(trusted) == 0 {
		opts.TrustedIssuers = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+time.Minute)
	defer cancel()
	cn, g, err := c.Connect(ctx, opts)
	if err != nil {
		return withFetchHint(err)
	}
	// A reconnect first revokes the grant it replaces (RFC 7009), best
	// effort: the new connection is kept even when the old server is gone.
	revokeErr, err := wallet.Replace(ctx, w, cn, g)
	if err != nil {
		return err
	}
	if revokeErr != nil {
		fmt.Fprintf(stderr, "warning: the previous authorization could not be revoked (%v); withdraw it on that server's connected-apps page\n", withFetchHint(revokeErr))
	}
	fmt.Fprintf(stdout, "connected to %s\n", cn.FHIRBase)
	fmt.Fprintf(stdout, "  granted: %s\n", g.Scope)
	if len(g.AuthorizationDetails) > 0 {
		fmt.Fprintf(stdout, "  cards:   %s\n", g.AuthorizationDetails)
	}
	if cn.ManagementEndpoint != "" {
		fmt.Fprintf(stdout, "  manage:  %s (see or withdraw this access)\n", cn.ManagementEndpoint)
	}
	if g.RefreshToken == "" {
		fmt.Fprintln(stdout, "  note:    no refresh token (offline_access not granted): import works until the access token expires")
	}
	return nil
}

// openBrowser tries the platform's URL opener; failing is fine (the URL
// is printed).
func openBrowser(u string) {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return
		}
		cmd = exec.Command("xdg-open", u)
	}
	if cmd.Start() == nil {
		go cmd.Wait()
	}
}

// walletVerifier builds the verifier for import and add: the connection's
// trusted issuers (when connected) plus the trust flags.
func walletVerifier(w *wallet.Wallet, tf *trustFlags, needTrust bool) (*verifier.Verifier, error) {
	extra, err := tf.options()
	if err != nil {
		return nil, err
	}
	conn, err := w.Connection()
	switch {
	case err == nil:
		return wallet.VerifierFor(conn, extra...)
	case errors.Is(err, wallet.ErrNotConnected):
		if needTrust && !tf.given() {
			return nil, usagef("say whom to trust: --trust, --trust-list or --jwks ISS=FILE (or connect the wallet to an issuer first)")
		}
		return verifier.New(extra...)
	}
	return nil, err
}

func runWalletImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet import", "[--type T]... [--since DATE] [trust flags]", stderr)
	wf := addWalletFlags(fs, stderr)
	tf := addTrustFlags(fs)
	var types multiFlag
	fs.Var(&types, "type", "card `TYPE` to ask for: immunization, laboratory, covid19, health-card or a FHIR resource type (repeatable; several mean cards holding all of them, OP-5; default every card)")
	since := fs.String("since", "", "only cards of data on or after `DATE` (FHIR date or dateTime: 2026, 2026-03-01, 2026-03-01T00:00:00Z)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	var cts []string
	for _, t := range types {
		for _, one := range strings.Split(t, ",") {
			ct, err := wallet.CredentialType(strings.TrimSpace(one))
			if err != nil {
				return usageError{err.Error()}
			}
			cts = append(cts, ct)
		}
	}
	w, err := wf.open()
	if err != nil {
		return err
	}
	conn, err := w.Connection()
	if err != nil {
		return err
	}
	v, err := walletVerifier(w, tf, false)
	if err != nil {
		return err
	}
	c, err := wallet.NewClient(conn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cards, err := c.Import(ctx, w, wallet.ImportOptions{CredentialTypes: cts, Since: *since, Verifier: v})
	if err != nil {
		return withFetchHint(err)
	}
	fmt.Fprintf(stdout, "imported %d verified card(s) from %s\n", len(cards), conn.FHIRBase)
	for _, card := range cards {
		printCardLine(stdout, card)
	}
	return nil
}

func printCardLine(w io.Writer, c wallet.Card) {
	fmt.Fprintf(w, "%s  %s  %-8s %s  %s\n", c.ID, c.IssuedAt.Format("2006-01-02"), c.Source, c.Issuer, strings.Join(shortTypes(c.Types), ","))
}

func shortTypes(ts []string) []string {
	var out []string
	for _, t := range ts {
		if i := strings.LastIndex(t, "#"); i >= 0 {
			t = t[i+1:]
		}
		if t == "health-card" {
			continue
		}
		out = append(out, t)
	}
	return out
}

func runWalletAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet add", "FILE|PHOTO|shlink:/... [--passcode-file F] [trust flags]", stderr)
	wf := addWalletFlags(fs, stderr)
	tf := addTrustFlags(fs)
	passFile := fs.String("passcode-file", "", "the SMART Health Link's passcode, from `FILE`")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("add needs exactly one FILE, PHOTO or SMART Health Link")
	}
	w, err := wf.open()
	if err != nil {
		return err
	}
	v, err := walletVerifier(w, tf, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := rest[0]
	var jws []string
	source := "file"
	if verifier.IsLink([]byte(in)) {
		source = "link"
		if jws, err = linkCards(ctx, in, tf, *passFile); err != nil {
			return withFetchHint(err)
		}
	} else {
		raw, err := readInput(in, 32<<20)
		if err != nil {
			return err
		}
		if isImage(raw) || bytes.Contains(raw[:min(len(raw), 512)], []byte("<svg")) {
			source = "photo"
		}
		text, err := inputText(in)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		if jws, _, err = shc.ExtractJWS([]byte(text)); err != nil {
			return err
		}
	}
	if len(jws) == 0 {
		return fmt.Errorf("%s holds no SMART Health Card", in)
	}
	cards, err := w.Keep(ctx, v, jws, source)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %d verified card(s)\n", len(cards))
	for _, c := range cards {
		printCardLine(stdout, c)
	}
	return nil
}

// linkCards resolves a SMART Health Link (shl client, through safehttp) and
// returns the JWS of its card files; they are verified by the caller.
func linkCards(ctx context.Context, text string, tf *trustFlags, passFile string) ([]string, error) {
	p, err := shl.Parse(text)
	if err != nil {
		return nil, err
	}
	pool, err := certPool(*tf.caCert)
	if err != nil {
		return nil, err
	}
	fetch, err := safehttp.New(safehttp.Config{AllowPrivateNetwork: *tf.private, RootCAs: pool, MaxBytes: 16 << 20, Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	opts := shl.ResolveOptions{Recipient: "shc wallet"}
	if passFile != "" {
		if opts.Passcode, err = readSecretFile(passFile, "passcode"); err != nil {
			return nil, err
		}
	}
	res, err := (&shl.Client{Fetch: fetch}).Resolve(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range res.Files {
		if f.ContentType != "" && f.ContentType != "application/smart-health-card" {
			continue // FHIR data nobody signed is not kept in the wallet
		}
		j, _, err := shc.ExtractJWS(f.Data)
		if err != nil {
			if f.ContentType == "" {
				continue
			}
			return nil, err
		}
		out = append(out, j...)
	}
	return out, nil
}

// cardEntry is one card in "shc wallet list/show --json".
type cardEntry struct {
	wallet.Card
	Summary *verifier.Summary `json:"summary,omitempty"`
}

func runWalletList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet list", "[--json]", stderr)
	wf := addWalletFlags(fs, stderr)
	asJSON := fs.Bool("json", false, "print JSON (the card records without the JWS)")
	w, err := wf.openNoArgs(fs, args)
	if err != nil {
		return err
	}
	cards, err := w.Cards()
	if err != nil {
		return err
	}
	if *asJSON {
		for i := range cards {
			cards[i].JWS = ""
		}
		if cards == nil {
			cards = []wallet.Card{}
		}
		return writeJSON(stdout, cards)
	}
	if len(cards) == 0 {
		fmt.Fprintln(stdout, "the wallet holds no card (shc wallet import, or shc wallet add FILE)")
		return nil
	}
	fmt.Fprintln(stdout, "ID                ISSUED      SOURCE   ISSUER  TYPES")
	for _, c := range cards {
		printCardLine(stdout, c)
	}
	return nil
}

func runWalletShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet show", "ID [--json] [--verify [trust flags]]", stderr)
	wf := addWalletFlags(fs, stderr)
	tf := addTrustFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	again := fs.Bool("verify", false, "verify the card again now (key set and revocation list fetched)")
	w, c, err := wf.oneCard(fs, args, "show")
	if err != nil {
		return err
	}
	if *again {
		v, err := walletVerifier(w, tf, true)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r := v.VerifyJWS(ctx, c.JWS)
		e := verifyEntry{Input: c.ID, Valid: r.Valid, Verdict: r.Verdict, Advice: r.Advice, Iss: r.Issuer, IssuerName: r.IssuerName,
			Kid: r.KeyID, Nbf: r.NotBefore, Exp: r.Expires, Errors: r.Errors, Warnings: r.Warnings, Summary: r.Summary}
		if *asJSON {
			if e.Errors == nil {
				e.Errors = []verifier.ErrorInfo{}
			}
			if e.Warnings == nil {
				e.Warnings = []string{}
			}
			if err := writeJSON(stdout, e); err != nil {
				return err
			}
		} else {
			printEntry(stdout, e)
		}
		return verdictExit([]verifyEntry{e})
	}
	// The card verified when it was kept; its summary is read from the
	// signed claims without fetching anything.
	card, err := shc.Parse(c.JWS)
	if err != nil {
		return err
	}
	sum, _ := verifier.Summarize(card.UnsafePayloadWithoutVerification().VC.CredentialSubject.FHIRBundle)
	if *asJSON {
		return writeJSON(stdout, cardEntry{Card: c, Summary: sum})
	}
	fmt.Fprintf(stdout, "card %s (verified when added %s; \"--verify\" checks it again)\n", c.ID, c.Added.Format(time.RFC3339))
	printEntry(stdout, verifyEntry{Input: "  from " + c.Source, Verdict: verifier.VerdictVerified, Iss: c.Issuer, Kid: card.KeyID(),
		Nbf: &card.UnsafePayloadWithoutVerification().NotBefore, Exp: card.UnsafePayloadWithoutVerification().Expires, Summary: sum})
	return nil
}

func runWalletQR(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet qr", "ID [--format png|svg|txt] [--out FILE]", stderr)
	wf := addWalletFlags(fs, stderr)
	format := fs.String("format", "", "png, svg or txt (default from --out's extension, else txt)")
	out := fs.String("out", "", "write to `FILE` (0600); default standard output")
	_, c, err := wf.oneCard(fs, args, "qr")
	if err != nil {
		return err
	}
	return writeCardQR(c, *format, *out, stdout, stderr)
}

func writeCardQR(c wallet.Card, format, out string, stdout, stderr io.Writer) error {
	if format == "" {
		switch {
		case strings.HasSuffix(strings.ToLower(out), ".png"):
			format = "png"
		case strings.HasSuffix(strings.ToLower(out), ".svg"):
			format = "svg"
		default:
			format = "txt"
		}
	}
	text, err := shc.EncodeQRText(c.JWS)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	switch format {
	case "txt":
		buf.WriteString(text + "\n")
	case "png", "svg":
		code, err := qr.Encode(text)
		if err != nil {
			return fmt.Errorf("%w (share it as a SMART Health Link instead: shc wallet share %s --link)", err, c.ID)
		}
		if format == "png" {
			err = code.PNG(&buf, 4)
		} else {
			err = code.SVG(&buf)
		}
		if err != nil {
			return err
		}
	default:
		return usagef("--format must be png, svg or txt")
	}
	if out == "" {
		if format != "txt" && isTerminal(stdout) {
			return usagef("refusing to write %s to a terminal; use --out FILE", format)
		}
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := writePrivateFile(out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", out)
	return nil
}

func runWalletShare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet share", "ID [--out FILE.png|FILE.svg|FILE.smart-health-card] [--link [--passcode-file F] [--exp DUR] [--qr FILE.png]]", stderr)
	wf := addWalletFlags(fs, stderr)
	out := fs.String("out", "", "write the card as a QR image (.png, .svg) or a file (.smart-health-card) to `FILE`")
	link := fs.Bool("link", false, "share as a SMART Health Link made by the connected issuer's link host")
	passFile := fs.String("passcode-file", "", "with --link: the link needs the passcode in `FILE`")
	exp := fs.Duration("exp", 0, "with --link: the link expires after `DUR` (default: the host's)")
	qrFile := fs.String("qr", "", "with --link: also write the link's QR code (PNG) to `FILE`")
	w, c, err := wf.oneCard(fs, args, "share")
	if err != nil {
		return err
	}
	if *link {
		return shareLink(w, c, *passFile, *exp, *qrFile, stdout)
	}
	if *out == "" {
		return usagef("say how to share: --out FILE.png|FILE.svg|FILE.smart-health-card, or --link")
	}
	if strings.HasSuffix(strings.ToLower(*out), ".smart-health-card") {
		b, _ := json.Marshal(map[string][]string{"verifiableCredential": {c.JWS}})
		if err := writePrivateFile(*out, b); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *out)
		return nil
	}
	return writeCardQR(c, "", *out, stdout, stderr)
}

func runWalletRemove(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet remove", "ID", stderr)
	wf := addWalletFlags(fs, stderr)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("remove needs exactly one card ID")
	}
	w, err := wf.open()
	if err != nil {
		return err
	}
	c, err := w.Remove(rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %s\n", c.ID)
	return nil
}

func runWalletDisconnect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wallet disconnect", "[--no-revoke]", stderr)
	wf := addWalletFlags(fs, stderr)
	keep := fs.Bool("no-revoke", false, "only delete the wallet's copy; do not ask the server to revoke the refresh token (RFC 7009)")
	w, err := wf.openNoArgs(fs, args)
	if err != nil {
		return err
	}
	if conn, err := w.Connection(); err == nil && !*keep {
		c, err := wallet.NewClient(conn)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		revoked, err := c.Revoke(ctx, w)
		if err != nil {
			return fmt.Errorf("%w (nothing deleted; --no-revoke deletes the wallet's copy only)", withFetchHint(err))
		}
		if revoked {
			fmt.Fprintln(stdout, "revoked at the server")
		} else {
			fmt.Fprintln(stdout, "the server offers no revocation: withdraw the app on its connected-apps page")
		}
	}
	if err := w.Disconnect(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "disconnected: the authorization was deleted from the wallet")
	return nil
}

func shareLink(w *wallet.Wallet, c wallet.Card, passFile string, exp time.Duration, qrFile string, stdout io.Writer) error {
	conn, err := w.Connection()
	if err != nil {
		return err
	}
	cl, err := wallet.NewClient(conn)
	if err != nil {
		return err
	}
	opts := wallet.LinkOptions{Label: "shared from shc wallet"}
	if passFile != "" {
		if opts.Passcode, err = readSecretFile(passFile, "passcode"); err != nil {
			return err
		}
	}
	if exp < 0 {
		return usagef("--exp must be positive")
	}
	if exp > 0 {
		opts.Expires = time.Now().Add(exp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	link, err := cl.ShareLink(ctx, w, c, opts)
	if err != nil {
		return withFetchHint(err)
	}
	if qrFile != "" {
		png, err := shlqr.PNG(link, 0)
		if err != nil {
			return err
		}
		if err := writePrivateFile(qrFile, png); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, link)
	return nil
}
