// Command devserver serves every Keyturn API group and the admin API on one
// local port with the same handlers the Lambdas use. ./scripts/dev starts it
// in front of DynamoDB Local; its configuration comes from the same
// environment variables as the Lambdas (see README).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/dynamo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	if err := cfg.RequireAdmin(); err != nil {
		return err
	}
	logger := app.NewLogger(cfg.LogLevel, os.Stderr)
	a, err := app.New(ctx, cfg, logger, app.Clients{})
	if err != nil {
		return err
	}
	// Locally the server owns the table (in AWS the stack creates it).
	if db, ok := a.DynamoDB.(*dynamodb.Client); ok && cfg.DynamoEndpoint != "" {
		if err := dynamo.EnsureTable(ctx, db, cfg.Table); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           app.Router(a.WebAPI(app.Groups(a)...), a.Admin(), a.Peers()...),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("listening", "addr", "http://"+addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
