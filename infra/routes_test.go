package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/deploy"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/webapi"
)

// An apiRoute is one synthesized HTTP API route and the group whose
// function it invokes.
type apiRoute struct {
	key   string // "ANY /api/key/{proxy+}" or "$default"
	group string
}

// synthRoutes reads the routes from the template: route key -> integration
// -> function -> group.
func synthRoutes(t *testing.T, tpl map[string]any) []apiRoute {
	t.Helper()
	target := regexp.MustCompile(`"integrations/",\{"Ref":"([A-Za-z0-9]+)"\}`)
	integrations := resources(tpl, "AWS::ApiGatewayV2::Integration")
	var out []apiRoute
	for id, r := range resources(tpl, "AWS::ApiGatewayV2::Route") {
		p := props(r)
		m := target.FindStringSubmatch(jsonOf(p["Target"]))
		if m == nil || integrations[m[1]] == nil {
			t.Fatalf("route %s: target %s", id, jsonOf(p["Target"]))
		}
		uri := jsonOf(props(integrations[m[1]])["IntegrationUri"])
		fn := regexp.MustCompile(`"(Fn[a-z]+[0-9A-F]{8})"`).FindStringSubmatch(uri)
		if fn == nil {
			t.Fatalf("integration %s: uri %s", m[1], uri)
		}
		out = append(out, apiRoute{key: p["RouteKey"].(string), group: fnID.FindStringSubmatch(fn[1])[1]})
	}
	return out
}

// matcher models how API Gateway picks a route for an HTTP API request, as
// documented ("Routing API requests", https://docs.aws.amazon.com/
// apigateway/latest/developerguide/http-api-develop-routes.html): the
// most-specific match, in this order: a full match for route and method;
// a match with a greedy path variable ({proxy+}, which catches all child
// resources); the $default route. What the documentation leaves open is
// modelled both ways: whether literal segments compare case-sensitively
// (foldCase) and whether repeated and trailing slashes are collapsed before
// matching (collapse). A spelling is served only if it reaches its group
// under every combination.
type matcher struct{ foldCase, collapse bool }

func (m matcher) String() string {
	return map[bool]string{true: "case-insensitive", false: "case-sensitive"}[m.foldCase] + "/" +
		map[bool]string{true: "slashes collapsed", false: "slashes kept"}[m.collapse]
}

// route returns the routes the request matches with the highest priority
// (several only when they are equally specific).
func (m matcher) route(routes []apiRoute, method, path string) []apiRoute {
	if m.collapse {
		path = webapi.CleanPath(path)
	}
	eq := func(a, b string) bool {
		if m.foldCase {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var full, def []apiRoute
	var greedy []apiRoute
	best := -1
	for _, r := range routes {
		if r.key == "$default" {
			def = append(def, r)
			continue
		}
		verb, rp, _ := strings.Cut(r.key, " ")
		if verb != "ANY" && verb != method {
			continue
		}
		if prefix, ok := strings.CutSuffix(rp, "/{proxy+}"); ok {
			var ps []string
			if prefix != "" {
				ps = strings.Split(strings.TrimPrefix(prefix, "/"), "/")
			}
			if len(segs) <= len(ps) || strings.Join(segs[len(ps):], "/") == "" {
				continue // the greedy variable needs at least one child
			}
			match := true
			for i := range ps {
				match = match && eq(ps[i], segs[i])
			}
			if match && len(ps) > best {
				best, greedy = len(ps), nil
			}
			if match && len(ps) == best {
				greedy = append(greedy, r)
			}
			continue
		}
		if eq(rp, path) {
			full = append(full, r)
		}
	}
	switch {
	case len(full) > 0:
		return full
	case len(greedy) > 0:
		return greedy
	}
	return def
}

// TestMatcherFollowsTheDocumentedExample: the model routes the
// documentation's example requests (those not using non-greedy path
// variables, which Keyturn does not use) as the documentation says.
func TestMatcherFollowsTheDocumentedExample(t *testing.T) {
	routes := []apiRoute{{"GET /pets/dog/1", "a"}, {"GET /pets/{proxy+}", "c"}, {"ANY /{proxy+}", "d"}, {"$default", "e"}}
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/pets/dog/1", "a"},
		{"GET", "/pets/cat/1", "c"},
		{"POST", "/test/5", "d"},
	} {
		got := matcher{}.route(routes, tt.method, tt.path)
		if len(got) != 1 || got[0].group != tt.want {
			t.Errorf("%s %s -> %v, want %s", tt.method, tt.path, got, tt.want)
		}
	}
}

// spellings are the paths clients send for group/method: WIRE-COMPAT
// section 1's forms (any case, repeated and trailing slashes) and each
// route spelling the group declares.
func spellings(g deploy.Group, method string) []string {
	name, lower := g.Name, strings.ToLower(method)
	pascal := string(unicode.ToUpper(rune(name[0]))) + name[1:]
	out := []string{
		"/api/" + name + "/" + method, "/api/" + name + "/" + lower, "/api/" + pascal + "/" + method,
		"/api//" + name + "/" + lower + "/", "//api//" + name + "/" + lower + "/", "/api/" + name + "/" + method + "/",
		"/API/" + strings.ToUpper(name) + "/" + strings.ToUpper(method), "/Api/" + name + "/" + method, "/api/" + name + "//" + method,
	}
	for _, r := range g.Routes {
		if strings.HasPrefix(r, "/api/") { // other routes serve pages, not methods
			out = append(out, strings.TrimSuffix(r, "{proxy+}")+method)
		}
	}
	return out
}

// peers are the groups that are not Web API 3: paths of theirs in the
// spellings clients send, and the answer that proves the group's handler
// got the request (the missing credentials refused).
var peers = map[string]struct {
	paths  []string
	status int
	body   string
}{
	"netlicensing": {
		paths: []string{"/core/v2/rest/licensee", "/core/v2/rest/licensee/I001", "/core/v2/rest/licensee/I001/validate",
			"/core/v2/rest/licensee/I001/transfer", "/core/v2/rest/licensee/", "//core/v2/rest//licensee", "/Core/V2/Rest/Licensee"},
		status: 401,
		body: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<netlicensing xmlns="http://netlicensing.labs64.com/schema/context">` +
			`<infos><info id="AuthenticationException" type="ERROR">Authentication failed: send HTTP Basic credentials with the user apiKey ` +
			`and a Keyturn access token as the password</info></infos><items/></netlicensing>`,
	},
	"revulytics": {
		paths:  []string{"/auth/login", "/auth/logout", "/licenseKeys/listKeys", "/licensekeys/listkeys", "//licenseKeys//listKeys/", "/Auth/Login"},
		status: 400,
		body:   `{"status":"SYNTAX ERROR","reason":"The request body must be a JSON object."}`,
	},
	"bytex": {
		paths: []string{"/API/Public/v1/Licenses/r1/GetPublic", "/api/public/v1/licenses/r1/getpublic", "//API//Public/v1/Licenses/r1/GetPublic/",
			"/API/PUBLIC/V1/ACCOUNTS/R1/GETPRODUCTLICENSES", "/api/Public/v1/Discounts/r1/Create"},
		status: 401,
		body:   `{"errors":["The API key is missing or not valid. Send a Keyturn access token as the apiKey parameter, the X-Api-Key header or Authorization: Bearer."],"response":null}`,
	},
}

// wireCompat are the spellings WIRE-COMPAT section 1 lists verbatim.
var wireCompat = []string{"/api/key/Activate", "/api/key/activate", "/api/Key/Activate", "/api//key/activate/", "//api//key/activate/", "/api/AI/RegisterEvent"}

// noDynamoDB fails the test on any DynamoDB call: routing answers before
// the token is looked up.
type noDynamoDB struct{ dynamo.API }

// handlers builds what each function serves (app.HandlerFor) on an
// App whose store must never be called.
func handlers(t *testing.T) map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	t.Helper()
	sum := sha256.Sum256([]byte("routes"))
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvTable: "unused", config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(t.TempDir(), "kek"), config.EnvAdminSecretHash: hex.EncodeToString(sum[:])}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil, app.Clients{DynamoDB: noDynamoDB{}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error){}
	for _, g := range deploy.Groups {
		h, err := app.HandlerFor(a, g.Name)
		if err != nil {
			t.Fatal(err)
		}
		out[g.Name] = lambdaentry.Handler(h)
	}
	return out
}

// Answers that prove a request reached a function serving its method: the
// Web API checks the method before the (absent) token; the admin API
// wants its bearer secret.
const (
	unauthenticated = `{"result":1,"message":"Unable to authenticate."}`
	noMethod        = `{"result":1,"message":"The method could not be found."}`
	noAdminSecret   = `{"error":"admin credential missing or wrong"}`
	noAdmin         = `{"error":"not found"}`
)

func invoke(t *testing.T, h func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), path string) (int, string) {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.HTTP.Path = path
	ev.RequestContext.RequestID = "req"
	res, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, strings.TrimSpace(res.Body)
}

// TestRoutesServeEverySpelling: over the synthesized routes, every
// spelling of every Web API method reaches a function that serves it
// (its group's, or the $default function) under each reading of the
// routing rules, and that function answers it (the method is found, the
// missing token is refused): never a 404, never a redirect. The default
// template has no CloudFront in front to fix spellings up.
func TestRoutesServeEverySpelling(t *testing.T) {
	tpl := synth(t)[envelope]
	if n := len(resources(tpl, "AWS::CloudFront::Distribution")); n != 0 {
		t.Fatalf("%d CloudFront distributions in the default template", n)
	}
	routes := synthRoutes(t, tpl)
	var defaultGroup string
	for _, g := range deploy.Groups {
		if g.Default {
			defaultGroup = g.Name
		}
	}
	gotDefault := matcher{}.route(routes, "POST", "/no/such/route")
	if len(gotDefault) != 1 || gotDefault[0].group != defaultGroup {
		t.Fatalf("$default route -> %v, want the %s function", gotDefault, defaultGroup)
	}
	hs := handlers(t)
	matchers := []matcher{{false, false}, {false, true}, {true, false}, {true, true}}

	// reach checks that path reaches a function serving group and that the
	// function answers it with want.
	reach := func(group, path string, wantStatus int, want string) {
		t.Helper()
		for _, m := range matchers {
			chosen := m.route(routes, "POST", path)
			if len(chosen) == 0 {
				t.Errorf("%s (%s): no route, API Gateway answers 404", path, m)
				continue
			}
			for _, r := range chosen {
				if r.group != group && r.group != defaultGroup {
					t.Errorf("%s (%s): route %q goes to %s, not %s", path, m, r.key, r.group, group)
					continue
				}
				if want == "" {
					continue
				}
				if status, body := invoke(t, hs[r.group], path); body != want || status != wantStatus {
					t.Errorf("%s (%s) via %q -> %s function: %d %s, want %d %s", path, m, r.key, r.group, status, body, wantStatus, want)
				}
			}
		}
	}

	for _, g := range deploy.Groups {
		if g.Default || g.Admin {
			continue
		}
		if p, ok := peers[g.Name]; ok {
			for _, path := range p.paths {
				reach(g.Name, path, p.status, p.body)
			}
			continue
		}
		if !strings.HasPrefix(g.Routes[0], "/api/") {
			t.Errorf("group %s is not Web API 3: list paths of it in peers", g.Name)
			continue
		}
		// A method of the group: the first of its sample events.
		methods, _ := filepath.Glob(filepath.Join("..", "events", g.Name, "*.json"))
		var method string
		for _, f := range methods {
			if !strings.HasSuffix(f, ".error.json") {
				method = strings.TrimSuffix(filepath.Base(f), ".json")
				break
			}
		}
		if method == "" {
			t.Errorf("%s: no sample events to take a method from", g.Name)
			continue
		}
		for _, path := range spellings(g, method) {
			reach(g.Name, path, 200, unauthenticated)
		}
	}
	for _, path := range wireCompat {
		group, _, _ := webapi.SplitAPIPath(path)
		if _, built := deploy.Lookup(group); built {
			reach(group, path, 200, unauthenticated)
		} else {
			// Not built yet (ai): its spellings still reach the $default
			// function, which will serve the group once it exists.
			reach(group, path, 0, "")
		}
	}
	reach("admin", "/admin/accounts", 401, noAdminSecret)

	// The checks can fail: a method no group has is answered "not found"
	// (HTTP 200 with the envelope, as every API-level error) by the
	// function it reaches, and a group's function does not serve another
	// group's methods.
	if status, body := invoke(t, hs[defaultGroup], "/api/key/NoSuchMethod"); status != 200 || body != noMethod {
		t.Errorf("unknown method: %d %s, want 200 %s", status, body, noMethod)
	}
	if status, body := invoke(t, hs["key"], "/api/data/IncrementIntValue"); status != 200 || body != noMethod {
		t.Errorf("key function asked for a data method: %d %s, want 200 %s", status, body, noMethod)
	}
	if status, body := invoke(t, hs[defaultGroup], "/Admin/accounts"); status != 404 || body != noAdmin {
		t.Errorf("$default function asked for an admin path: %d %s, want 404 %s", status, body, noAdmin)
	}
}
