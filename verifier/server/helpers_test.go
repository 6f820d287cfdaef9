package server_test

import (
	"crypto/x509"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

func blankPNG(w io.Writer) {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(10, 10, color.Black)
	png.Encode(w, img)
}

func serve(t *testing.T, srv *server.Server) string {
	t.Helper()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

func poolOf(issuers ...*servertest.Issuer) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, is := range issuers {
		pool.AddCert(is.Server.Certificate())
	}
	return pool
}

func trustOpts(pool *x509.CertPool) []verifier.Option {
	return []verifier.Option{verifier.WithRootCAs(pool), verifier.WithAllowPrivateNetwork()}
}
