// Package lambdaentry is the common main of every Keyturn Lambda: it reads
// the configuration from the environment once, builds the App (AWS clients
// at cold start), wraps the group's http.Handler with the API Gateway HTTP
// API (payload v2) adapter and starts the Lambda runtime.
package lambdaentry

import (
	"context"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/deploy"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Handler returns the Lambda handler function for h: API Gateway v2 events
// in, v2 responses out, with the API Gateway request id passed to h in the
// X-Request-Id header.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(WithRequestID(h))
	return adapter.ProxyWithContext
}

// WithRequestID sets the X-Request-Id header from the API Gateway request
// context (overriding any client-sent value).
func WithRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.RequestID != "" {
			r.Header.Set(webapi.RequestIDHeader, rc.RequestID)
		}
		h.ServeHTTP(w, r)
	})
}

// HandlerFor returns what the function of group (see shared/deploy)
// serves: the group's handler (app.App.Handler), or for the $default
// function every Web API group and peer API behind one router that
// normalizes the path spelling (the local development server's router,
// without the admin API).
func HandlerFor(a *app.App, group string) (http.Handler, error) {
	if g, ok := deploy.Lookup(group); ok && g.Default {
		return app.Router(a.WebAPI(app.Groups(a)...), nil, a.Peers()...), nil
	}
	return a.Handler(group)
}

// Start runs the function of one group (see HandlerFor). It exits the
// process when the configuration is invalid, listing every problem.
func Start(group string) {
	ctx := context.Background()
	cfg, err := config.Load(os.Getenv)
	logger := app.NewLogger(cfg.LogLevel, os.Stdout)
	if err != nil {
		logger.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	a, err := app.New(ctx, cfg, logger, app.Clients{})
	if err != nil {
		logger.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	h, err := HandlerFor(a, group)
	if err != nil {
		logger.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(Handler(h))
}
