// Command invokekit sends one API Gateway v2 event file through a group's
// real Lambda handler (the httpadapter entry) in process and prints the
// Lambda response. Configuration comes from the same environment variables
// as the Lambdas; ./scripts/invoke sets them for the ./scripts/dev stack.
// Placeholders {{name}} in the path, query, body and headers are replaced
// by -set name=value pairs; {{basic}} is the NetLicensing API key
// identification of the token (base64 of apiKey:<token>).
//
//	go run ./scripts/invokekit -set token=... -set product=1 key events/key/GetKey.json
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/lambdaentry"
)

var placeholder = regexp.MustCompile(`\{\{[a-zA-Z]+\}\}`)

type sets []string

func (s *sets) String() string     { return strings.Join(*s, ",") }
func (s *sets) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var vals sets
	flag.Var(&vals, "set", "placeholder value name=value (repeatable)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: invokekit [-set name=value ...] <group> <event.json>")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), vals); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(group, file string, vals sets) error {
	ctx := context.Background()
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	var pairs []string
	for _, v := range vals {
		name, value, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("-set %q: want name=value", v)
		}
		pairs = append(pairs, "{{"+name+"}}", url.QueryEscape(value))
		if name == "token" {
			// NetLicensing's API key identification: HTTP Basic apiKey:<token>.
			pairs = append(pairs, "{{basic}}", base64.StdEncoding.EncodeToString([]byte("apiKey:"+value)))
		}
	}
	repl := strings.NewReplacer(pairs...)
	ev.Body = repl.Replace(ev.Body)
	ev.RawQueryString = repl.Replace(ev.RawQueryString)
	ev.RawPath = repl.Replace(ev.RawPath)
	ev.RequestContext.HTTP.Path = repl.Replace(ev.RequestContext.HTTP.Path)
	for k, v := range ev.Headers {
		ev.Headers[k] = repl.Replace(v)
	}
	for k, v := range ev.QueryStringParameters {
		ev.QueryStringParameters[k] = repl.Replace(v)
	}
	if m := placeholder.FindString(ev.Body + ev.RawQueryString + ev.RawPath + ev.Headers["authorization"]); m != "" {
		return fmt.Errorf("%s needs a value for %s: add %s=... to the command", file, m, strings.Trim(m, "{}"))
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg.LogLevel, os.Stderr), app.Clients{})
	if err != nil {
		return err
	}
	h, err := app.HandlerFor(a, group)
	if err != nil {
		return err
	}
	res, err := lambdaentry.Handler(h)(ctx, ev)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}
