// Package lambdaentry is the common main of every Keyturn Lambda: it reads
// the configuration from the environment once, builds the group's handler
// (wiring.Function: AWS clients and only the services the group needs, at cold
// start), wraps it with the API Gateway HTTP API (payload v2) adapter and
// starts the Lambda runtime.
package lambdaentry

import (
	"context"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wiring"
)

// Handler returns the Lambda handler function for h: API Gateway v2 events
// in, v2 responses out, with the API Gateway request id passed to h in the
// X-Request-Id header and API Gateway's source IP as the request's peer.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(WithRequestContext(h))
	return adapter.ProxyWithContext
}

// WithRequestContext takes what API Gateway vouches for from its request
// context: the X-Request-Id header from the request id (overriding any
// client-sent value) and r.RemoteAddr from requestContext.http.sourceIp,
// the address API Gateway received the request from (the client IP the
// Web API uses; see webapi.ClientIP). Without a source IP, RemoteAddr is
// cleared rather than left to anything else.
func WithRequestContext(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
			if rc.RequestID != "" {
				r.Header.Set(webapi.RequestIDHeader, rc.RequestID)
			}
			r.RemoteAddr = rc.HTTP.SourceIP
		}
		h.ServeHTTP(w, r)
	})
}

// Start runs one group's function: it reads the configuration, builds the
// Core (AWS clients from the environment, no network at start-up) and what
// build needs, then hands the runtime's events to it. It exits the process
// when the configuration is invalid, listing every problem.
func Start(build wiring.Function) {
	cfg, err := config.Load(os.Getenv)
	logger := wiring.NewLogger(cfg.LogLevel, os.Stdout)
	if err != nil {
		logger.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	c, err := wiring.NewCore(cfg, logger, wiring.Clients{})
	if err != nil {
		logger.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	h, err := build(c)
	if err != nil {
		logger.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(Handler(h))
}
