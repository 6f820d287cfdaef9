// Command shc-verifier serves the SMART Health Cards verifier: an HTTP API
// (POST /v1/verify) and a scanning page for venues. Run shc-verifier --help
// for the flags; see package verifier/server for the details.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/healthcards/healthcards/verifier/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := server.Main(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}
