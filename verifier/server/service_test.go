package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// NewService binds before serving, so a busy address is a *ListenError
// naming --listen before anything runs; Run serves on the bound address and
// stops when its context ends (the issuer service's shape).
func TestNewServiceThenRun(t *testing.T) {
	is := servertest.NewIssuer(t, "Lab")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := server.DefaultOptions()
	o.Listen, o.TrustedIssuers, o.AllowPrivate = "127.0.0.1:0", []string{is.URL}, true

	svc, err := server.NewService(context.Background(), o, log)
	if err != nil {
		t.Fatal(err)
	}

	busy := *o
	busy.Listen = svc.Addr().String()
	if _, err := server.NewService(context.Background(), &busy, log); err == nil {
		t.Fatal("a second service bound the same address")
	} else if le := (*server.ListenError)(nil); !errors.As(err, &le) || le.Addr != busy.Listen {
		t.Fatalf("busy address: %v, want a *ListenError for %s", err, busy.Listen)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	resp, err := http.Get("http://" + svc.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if _, err := net.Dial("tcp", svc.Addr().String()); err == nil {
		t.Error("the address is still served after Run returned")
	}
}
