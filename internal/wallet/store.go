package wallet

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/healthcards/healthcards/keys"
)

// File names inside the wallet folder.
const (
	cardsDir       = "cards"
	connectionFile = "connection.json"
	grantFile      = "grant.jwe"
	lockFile       = ".lock"
	maxFileBytes   = 1 << 20
	maxCards       = 10_000
)

// Secrets at rest: the grant (tokens, patient, authorization_details) is a
// compact JWE PBES2-HS512+A256KW / A256GCM under the wallet passphrase, the
// same construction and work factor as the project's encrypted key files
// (package keys: PBKDF2-HMAC-SHA512, 600,000 iterations written, below
// 100,000 refused when read).
const (
	grantAlg = jose.PBES2_HS512_A256KW
	grantEnc = jose.A256GCM
	grantCty = "shc-wallet-grant+json"
	// testPBES2Count is written by a wallet opened with TestWorkFactor.
	testPBES2Count = keys.TestPBES2Count
)

// Options configure Open.
type Options struct {
	// Passphrase returns the passphrase that protects the grant; it is
	// called only when the grant is read or written. nil means none: those
	// operations fail with passphrase_required.
	Passphrase func() ([]byte, error)
	// TestWorkFactor writes the grant with a low PBES2 count and accepts it
	// when read. It protects nothing; for test suites only.
	TestWorkFactor bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Wallet is a private folder of verified cards and, once connected, the
// connection to one FHIR server and its grant. Open checks the folder; every
// read checks the file.
type Wallet struct {
	dir  string
	opts Options
	pass []byte
}

// DefaultDir is os.UserConfigDir()/healthcards/wallet.
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "healthcards", "wallet"), nil
}

// Open opens the wallet in dir, creating it (0700) when absent. A folder
// that is open to group or others, or is a symbolic link, is refused with
// wallet_insecure: the cards in it are health data. On a system without
// Unix file modes and flock (Windows, Plan 9, wasm) Open refuses with
// wallet_unsupported_platform: the folder's privacy could not be checked
// nor concurrent imports serialized.
func Open(dir string, opts Options) (*Wallet, error) {
	if !unixFS {
		return nil, errNeedsUnix()
	}
	if dir == "" {
		return nil, newErr(CodeInsecure, "no wallet folder given", nil)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wallet: creating %s: %w", dir, err)
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	cd := filepath.Join(dir, cardsDir)
	if err := os.Mkdir(cd, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	if err := checkDir(cd); err != nil {
		return nil, err
	}
	return &Wallet{dir: dir, opts: opts}, nil
}

// Dir returns the wallet folder.
func (w *Wallet) Dir() string { return w.dir }

func (w *Wallet) now() time.Time {
	if w.opts.Now != nil {
		return w.opts.Now()
	}
	return time.Now()
}

// errNeedsUnix is Open's refusal on a system without Unix file modes.
func errNeedsUnix() error {
	return newErr(CodeUnsupportedPlatform, "the wallet needs a Unix file system: its privacy is checked with Unix file modes (0700/0600) and imports are serialized with flock, neither available here; use Linux, macOS or WSL", nil)
}

func checkDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("wallet: %w", err)
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return newErr(CodeInsecure, dir+" is a symbolic link; give the real folder", nil)
	case !st.IsDir():
		return newErr(CodeInsecure, dir+" is not a folder", nil)
	case st.Mode().Perm()&0o077 != 0:
		return newErr(CodeInsecure, fmt.Sprintf("%s has mode %#o; it holds health data and must be private: chmod 700 %s", dir, st.Mode().Perm(), dir), nil)
	}
	return nil
}

// readPrivate reads a wallet file, refusing one that is not a private
// regular file (0600 or stricter) or is over the size bound.
func readPrivate(path string) ([]byte, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case !st.Mode().IsRegular():
		return nil, newErr(CodeInsecure, path+" is not a regular file", nil)
	case st.Mode().Perm()&0o077 != 0:
		return nil, newErr(CodeInsecure, fmt.Sprintf("%s has mode %#o; it must be private: chmod 600 %s", path, st.Mode().Perm(), path), nil)
	case st.Size() > maxFileBytes:
		return nil, newErr(CodeTooLarge, fmt.Sprintf("%s is over %d bytes", path, maxFileBytes), nil)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, newErr(CodeTooLarge, path+" grew over the size bound", nil)
	}
	return b, nil
}

// writePrivate replaces path atomically with data (0600): a temporary file
// in the same folder, synced, renamed over path, and the folder synced, so a
// crash leaves the old or the new content, never a mix.
func writePrivate(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(path)+"."+hex.EncodeToString(rnd[:])+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Card is one verified card kept in the wallet.
type Card struct {
	// ID is the first 16 hex digits of SHA-256 of the JWS: the same card
	// added twice is kept once.
	ID  string `json:"id"`
	JWS string `json:"jws,omitempty"`
	// Issuer and IssuedAt are from the verified claims; Types are the
	// resource types of its bundle (Patient left out).
	Issuer   string    `json:"iss"`
	Types    []string  `json:"types,omitempty"`
	IssuedAt time.Time `json:"nbf"`
	// Source says how it came: "import" ($health-cards-issue), "file",
	// "photo" or "link".
	Source string    `json:"source"`
	Added  time.Time `json:"added"`
}

// CardID is the ID a JWS is kept under.
func CardID(jws string) string {
	s := sha256.Sum256([]byte(jws))
	return hex.EncodeToString(s[:8])
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !(id[i] >= '0' && id[i] <= '9' || id[i] >= 'a' && id[i] <= 'f') {
			return false
		}
	}
	return true
}

func (w *Wallet) cardPath(id string) string { return filepath.Join(w.dir, cardsDir, id+".json") }

// Cards lists the kept cards, newest first.
func (w *Wallet) Cards() ([]Card, error) {
	ents, err := os.ReadDir(filepath.Join(w.dir, cardsDir))
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	var out []Card
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(id) || len(id) != 16 {
			continue
		}
		c, err := w.readCard(id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if len(out) > maxCards {
			return nil, newErr(CodeTooLarge, fmt.Sprintf("more than %d cards", maxCards), nil)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Added.Equal(out[j].Added) {
			return out[i].Added.After(out[j].Added)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (w *Wallet) readCard(id string) (Card, error) {
	b, err := readPrivate(w.cardPath(id))
	if err != nil {
		return Card{}, err
	}
	var c Card
	if err := json.Unmarshal(b, &c); err != nil || c.ID != id || CardID(c.JWS) != id {
		return Card{}, fmt.Errorf("wallet: card file %s is damaged", id)
	}
	return c, nil
}

// Card returns the card whose ID is id or starts with id (at least 4 hex
// digits, and only one card may match).
func (w *Wallet) Card(id string) (Card, error) {
	id = strings.ToLower(id)
	if !validID(id) || len(id) < 4 {
		return Card{}, newErr(CodeNotFound, "a card ID is 4 to 16 hex digits (see \"shc wallet list\")", nil)
	}
	if len(id) == 16 {
		c, err := w.readCard(id)
		if errors.Is(err, fs.ErrNotExist) {
			return Card{}, newErr(CodeNotFound, "no card "+id, nil)
		}
		return c, err
	}
	all, err := w.Cards()
	if err != nil {
		return Card{}, err
	}
	var found []Card
	for _, c := range all {
		if strings.HasPrefix(c.ID, id) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return Card{}, newErr(CodeNotFound, "no card "+id, nil)
	case 1:
		return found[0], nil
	}
	return Card{}, newErr(CodeNotFound, fmt.Sprintf("%d cards start with %s; give more of the ID", len(found), id), nil)
}

// Remove deletes a card.
func (w *Wallet) Remove(id string) (Card, error) {
	c, err := w.Card(id)
	if err != nil {
		return c, err
	}
	return c, os.Remove(w.cardPath(c.ID))
}

// put writes cards (already verified by the caller).
func (w *Wallet) put(cards []Card) error {
	for _, c := range cards {
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		if err := writePrivate(w.cardPath(c.ID), b); err != nil {
			return fmt.Errorf("wallet: keeping card %s: %w", c.ID, err)
		}
	}
	return nil
}

// Connection is what "shc wallet connect" learned about the FHIR server. It
// holds no secret and no health data (connection.json, 0600).
type Connection struct {
	FHIRBase              string `json:"fhirBase"`
	AuthorizationEndpoint string `json:"authorizationEndpoint"`
	TokenEndpoint         string `json:"tokenEndpoint"`
	RevocationEndpoint    string `json:"revocationEndpoint,omitempty"`
	// ManagementEndpoint is the server's page where the person sees and
	// withdraws the access (SMART management_endpoint), if it names one.
	ManagementEndpoint string `json:"managementEndpoint,omitempty"`
	ClientID           string `json:"clientId"`
	Scope              string `json:"scope"`
	// TrustedIssuers are the card issuers (iss) trusted on import: by
	// default the FHIR base and its path prefixes on the same origin.
	TrustedIssuers []string `json:"trustedIssuers"`
	// PrivateOrigins may be on loopback or private addresses (given with
	// --allow-private-network at connect).
	PrivateOrigins []string `json:"privateOrigins,omitempty"`
	// CACertPEM are extra TLS roots for this server (development).
	CACertPEM   string    `json:"caCertPEM,omitempty"`
	ConnectedAt time.Time `json:"connectedAt"`
}

// Grant is the token response the wallet keeps, encrypted at rest
// (grant.jwe): never printed, never logged.
type Grant struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry"`
	Scope        string    `json:"scope,omitempty"`
	// Patient is the launch context (SMART "patient").
	Patient  string `json:"patient"`
	FHIRUser string `json:"fhirUser,omitempty"`
	// AuthorizationDetails are the granted RFC 9396 details, as sent.
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
}

// String hides the tokens.
func (g *Grant) String() string { return "wallet.Grant{patient, tokens redacted}" }

// GoString hides the tokens.
func (g *Grant) GoString() string { return g.String() }

// Connection returns the stored connection, or wallet_not_connected.
func (w *Wallet) Connection() (*Connection, error) {
	b, err := readPrivate(filepath.Join(w.dir, connectionFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newErr(CodeNotConnected, "the wallet is not connected to a FHIR server: run \"shc wallet connect FHIR-BASE\"", nil)
	}
	if err != nil {
		return nil, err
	}
	var c Connection
	if err := json.Unmarshal(b, &c); err != nil || c.FHIRBase == "" || c.TokenEndpoint == "" {
		return nil, fmt.Errorf("wallet: %s is damaged; connect again", connectionFile)
	}
	return &c, nil
}

// SaveConnection stores a new connection and its grant, replacing any
// earlier one. The grant is written first: a connection is never left
// pointing at an older grant.
func (w *Wallet) SaveConnection(c *Connection, g *Grant) error {
	if err := w.SaveGrant(g); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writePrivate(filepath.Join(w.dir, connectionFile), b)
}

// Disconnect forgets the connection and its grant.
func (w *Wallet) Disconnect() error {
	for _, f := range []string{grantFile, connectionFile} {
		if err := os.Remove(filepath.Join(w.dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (w *Wallet) passphrase() ([]byte, error) {
	if w.pass != nil {
		return w.pass, nil
	}
	if w.opts.Passphrase == nil {
		return nil, newErr(CodePassphraseRequired, "the grant is encrypted: set SHC_WALLET_PASSPHRASE or give --passphrase-file", nil)
	}
	p, err := w.opts.Passphrase()
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, newErr(CodePassphraseRequired, "the wallet passphrase is empty", nil)
	}
	w.pass = p
	return p, nil
}

// MinPassphraseChars is the shortest passphrase a new grant is sealed
// under (characters, not bytes). The grant holds a refresh token: a short
// passphrase falls to an offline guess at the file despite PBKDF2.
const MinPassphraseChars = 12

// SaveGrant encrypts g under the passphrase and replaces the stored grant
// atomically. When the wallet holds no grant yet (a new wallet, or one
// connected again after disconnect) a passphrase shorter than
// MinPassphraseChars is refused (passphrase_too_short); a wallet that
// already holds a grant keeps refreshing it under the passphrase it has.
func (w *Wallet) SaveGrant(g *Grant) error {
	pass, err := w.passphrase()
	if err != nil {
		return err
	}
	if n := utf8.RuneCount(pass); n < MinPassphraseChars {
		if _, err := os.Lstat(filepath.Join(w.dir, grantFile)); errors.Is(err, fs.ErrNotExist) {
			return newErr(CodePassphraseTooShort, fmt.Sprintf("the wallet passphrase has %d characters; a new wallet needs at least %d", n, MinPassphraseChars), nil)
		}
	}
	plain, err := json.Marshal(g)
	if err != nil {
		return err
	}
	count := keys.DefaultPBES2Count
	if w.opts.TestWorkFactor {
		count = testPBES2Count
	}
	enc, err := jose.NewEncrypter(grantEnc, jose.Recipient{Algorithm: grantAlg, Key: pass, PBES2Count: count},
		(&jose.EncrypterOptions{}).WithContentType(grantCty))
	if err != nil {
		return fmt.Errorf("wallet: sealing the grant: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return fmt.Errorf("wallet: sealing the grant: %w", err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		return fmt.Errorf("wallet: sealing the grant: %w", err)
	}
	return writePrivate(filepath.Join(w.dir, grantFile), []byte(s))
}

// Grant decrypts the stored grant.
func (w *Wallet) Grant() (*Grant, error) {
	b, err := readPrivate(filepath.Join(w.dir, grantFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newErr(CodeNotConnected, "the wallet holds no authorization: run \"shc wallet connect FHIR-BASE\"", nil)
	}
	if err != nil {
		return nil, err
	}
	obj, err := jose.ParseEncryptedCompact(strings.TrimSpace(string(b)), []jose.KeyAlgorithm{grantAlg}, []jose.ContentEncryption{grantEnc})
	if err != nil {
		return nil, newErr(CodeDecrypt, "the stored grant is not a PBES2-HS512+A256KW/A256GCM JWE", nil)
	}
	p2c, ok := obj.Header.ExtraHeaders["p2c"].(float64)
	minCount := float64(keys.MinPBES2Count)
	if w.opts.TestWorkFactor {
		minCount = testPBES2Count
	}
	if !ok || p2c < minCount || p2c > keys.MaxPBES2Count || p2c != float64(int64(p2c)) {
		return nil, newErr(CodeDecrypt, "the stored grant's PBES2 count is outside the accepted range", nil)
	}
	if _, zipped := obj.Header.ExtraHeaders["zip"]; zipped {
		return nil, newErr(CodeDecrypt, "a compressed grant is not accepted", nil)
	}
	pass, err := w.passphrase()
	if err != nil {
		return nil, err
	}
	plain, err := obj.Decrypt(pass)
	if err != nil {
		return nil, newErr(CodeDecrypt, "wrong wallet passphrase, or the stored grant was modified", nil)
	}
	var g Grant
	if err := json.Unmarshal(plain, &g); err != nil {
		return nil, newErr(CodeDecrypt, "the stored grant is damaged", nil)
	}
	return &g, nil
}
