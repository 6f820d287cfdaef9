package main

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/safehttp"
)

// withFetchHint adds what the user must add when a fetch failed because of
// a guard that is right for the internet but in the way on the development
// stack (issue 14): loopback and private addresses are refused unless
// --allow-private-network is given, and a server certificate from a private
// CA (the development issuer's data/tls/cert.pem) needs --ca-cert.
func withFetchHint(err error) error {
	var ua x509.UnknownAuthorityError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, safehttp.ErrBlockedAddress):
		return fmt.Errorf("%w\n  hint: the link points at a loopback or private address (a development issuer?): add --allow-private-network, and --ca-cert data/tls/cert.pem for the development issuer's certificate", err)
	case errors.As(err, &ua):
		return fmt.Errorf("%w\n  hint: the server's certificate is not from a CA this machine trusts: for the development issuer add --ca-cert data/tls/cert.pem (its data directory)", err)
	}
	return err
}
