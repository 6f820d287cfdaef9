package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/healthcards/healthcards/keys"
)

func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", "--out FILE [--passphrase-file F] [--force]", stderr)
	out := fs.String("out", "", "write the private key (JWK) to `FILE` (mode 0600)")
	passFile := fs.String("passphrase-file", "", "encrypt the key file with the passphrase in `F` (JWE PBES2-HS512+A256KW)")
	force := fs.Bool("force", false, "overwrite an existing key file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) > 0 {
		return usagef("keygen needs --out FILE and no arguments")
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return fmt.Errorf("%s exists; refusing to overwrite a key (use --force)", *out)
	}
	pass, err := readPassphrase(*passFile)
	if err != nil {
		return err
	}
	raw, err := keys.Generate()
	if err != nil {
		return err
	}
	k, err := keys.NewPrivateKey(raw)
	if err != nil {
		return err
	}
	if err := keys.WritePrivateFile(*out, k, pass); err != nil {
		return err
	}
	enc := "unencrypted"
	if pass != nil {
		enc = "encrypted"
	}
	fmt.Fprintf(stdout, "wrote %s P-256 key %s to %s\n", enc, k.KeyID(), *out)
	return nil
}

func runJWKS(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("jwks", "--key FILE... [--passphrase-file F] [--crl-version N]", stderr)
	var keyFiles multiFlag
	fs.Var(&keyFiles, "key", "private key `FILE` (repeatable; every signing key of each file is published)")
	passFile := fs.String("passphrase-file", "", "passphrase for encrypted key files")
	crl := fs.Int("crl-version", 0, "add crlVersion `N` to every key (KEY-11); 0 means the issuer does not publish revocation lists")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(keyFiles) == 0 || len(pos) > 0 {
		return usagef("jwks needs at least one --key FILE")
	}
	pass, err := readPassphrase(*passFile)
	if err != nil {
		return err
	}
	set := keys.JWKS{Keys: []keys.JWK{}}
	for _, f := range keyFiles {
		k, err := keys.ReadPrivateFile(f, pass, "")
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		j := k.PublicJWK()
		if *crl > 0 {
			v := *crl
			j.CRLVersion = &v
		}
		set.Keys = append(set.Keys, j)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(set)
}

// loadSigner reads the signing key for issue and demo.
func loadSigner(path, passFile, kid string) (keys.Signer, error) {
	pass, err := readPassphrase(passFile)
	if err != nil {
		return nil, err
	}
	k, err := keys.ReadPrivateFile(path, pass, kid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
