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
	srv := newServer(addr, a.Pages(app.Router(a.WebAPI(app.Groups(a)...), a.Admin(), app.Peers(a)...)), cfg.RequestTimeout)
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

// Connection bounds of the local server (in AWS, API Gateway and Lambda
// bound connections): a client gets readTimeout to send a whole request
// (headers within readHeaderTimeout, at most maxHeaderBytes of them), an
// idle keep-alive connection is closed after idleTimeout, and writing an
// answer may take until writeSlack after the request deadline, so a
// request that runs out of time still gets its 503.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 60 * time.Second
	writeSlack        = 5 * time.Second
	maxHeaderBytes    = 64 << 10
)

// newServer returns the local HTTP server for h with the connection
// bounds above; requestTimeout is the service's per-request deadline.
func newServer(addr string, h http.Handler, requestTimeout time.Duration) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      requestTimeout + writeSlack,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}
