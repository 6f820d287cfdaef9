package httpapitest

import (
	"crypto/x509"
	"encoding/json"
	"net/http/httptest"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// certPool trusts an httptest TLS server's certificate.
func certPool(s *httptest.Server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

// CertPool trusts the service's TLS certificate (for verifier clients).
func (s *Server) CertPool() *x509.CertPool { return certPool(s.Server) }
