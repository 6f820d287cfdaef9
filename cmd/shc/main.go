// Command shc issues, encodes, decodes and verifies SMART Health Cards.
//
// Run "shc help" for the commands and a worked example.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

const usage = `shc — SMART Health Cards from the command line

Usage:
  shc <command> [flags] [arguments]

Commands:
  decode   read QR images or shc:/ text and print the JWS
  demo     issue a sample lab-result card, render its QR and verify it (offline)
  issue    minify, sign and write cards (JWS, .smart-health-card, QR text, PNG, SVG)
  jwks     print the public key set (JWKS) of private key files
  keygen   generate a P-256 issuer key, optionally encrypted with a passphrase
  link     SMART Health Links: create one on an issuer service, show or verify one
  qr       render a JWS as QR code text, PNG or SVG
  verify   verify cards (JWS, shc:/ text, .smart-health-card files, QR images)
  wallet   a reference wallet: connect to an issuer (SMART), import, add, list, share cards

Run "shc <command> -h" for a command's flags.

Example (a whole round trip, offline):
  shc keygen --out issuer.jwk --passphrase-file pass.txt
  shc jwks --key issuer.jwk --passphrase-file pass.txt > jwks.json
  shc issue --key issuer.jwk --passphrase-file pass.txt --iss https://lab.example.org \
      --out-dir cards examples/bundles/lab-covid-pcr.json
  shc verify --jwks https://lab.example.org=jwks.json cards/lab-covid-pcr.qr.png

Exit status: 0 success (every card verified); 1 a card is invalid or its
issuer is not trusted, or a command failed; 2 usage error; 3 (verify) no card is invalid or untrusted but one could not
be checked (unable_to_check: issuer or network unreachable, revocation
status unknown, unreadable photo, not a health card, a chunk missing):
trying again may help.
`

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"decode": {"read QR images or text and print the JWS", runDecode},
	"demo":   {"issue, render and verify a sample card", runDemo},
	"issue":  {"sign cards", runIssue},
	"jwks":   {"print a public key set", runJWKS},
	"keygen": {"generate a key", runKeygen},
	"link":   {"create or show SMART Health Links", runLink},
	"qr":     {"render QR codes", runQR},
	"verify": {"verify cards", runVerify},
	"wallet": {"a reference wallet", runWallet},
}

// errUsage marks usage errors (exit 2); errInvalid marks "ran fine, but a
// card is not valid" (exit 1, message already printed).
var (
	errUsage   = errors.New("usage")
	errInvalid = errors.New("a card is not valid")
	// errUnableToCheck marks "ran fine, but a card could not be checked"
	// (exit 3).
	errUnableToCheck = errors.New("a card could not be checked")
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
func (e usageError) Unwrap() error { return errUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "shc: error: unknown command %q\nshc: hint: commands are %s; run \"shc help\"\n", args[0], strings.Join(names, ", "))
		return 2
	}
	err := cmd.run(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errInvalid):
		return 1
	case errors.Is(err, errUnableToCheck):
		return 3
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "shc %s: error: %v\nshc: hint: run \"shc %s -h\"\n", args[0], err, args[0])
		return 2
	default:
		fmt.Fprintf(stderr, "shc %s: error: %v\n", args[0], err)
		return 1
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("shc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: shc %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// readInput reads a file, or standard input for "-", capped at limit bytes.
func readInput(path string, limit int64) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// readPassphrase reads a passphrase file (trailing newline removed); "" → nil.
func readPassphrase(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := readInput(path, 4096)
	if err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	b = []byte(strings.TrimRight(string(b), "\r\n"))
	if len(b) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty", path)
	}
	return b, nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
