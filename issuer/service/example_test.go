package service_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/healthcards/healthcards/issuer/service"
)

// A program that embeds the issuer service fills a Config (here, what
// `shc-issuer serve --data ./data` means), calls New, which checks it, opens
// the data directory and binds the address, and runs it until interrupted.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	svc, err := service.New(ctx, service.Config{DataDir: "./data", Listen: service.DefaultListen})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("issuing as", svc.Iss(), "at", svc.BaseURL())
	if err := svc.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
