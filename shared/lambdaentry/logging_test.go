package lambdaentry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/users"
)

// Logging budget: CloudWatch Logs ingests each line plus 26 bytes of event
// overhead at $0.50/GB (infra/README.md prices the measured figures).
const (
	maxLogLineBytes   = 300
	logEventOverhead  = 26
	ingestionUSDPerGB = 0.50
)

// TestOneLogLinePerRequest runs real requests through the Lambda handlers
// on DynamoDB Local and counts what the function writes: exactly one JSON
// line per request (at info, the level infra sets), within the byte
// budget, without the access token; nothing else reaches stdout or
// stderr (the AWS SDK, the adapter and the runtime log nothing).
func TestOneLogLinePerRequest(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvTable: table, config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(t.TempDir(), "kek")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	a, err := app.New(ctx, cfg, app.NewLogger("info", &logged), app.Clients{DynamoDB: db})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := a.Catalog.CreateAccount(ctx, "logs")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "logs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SigningKeys.Create(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	token, _, err := a.Tokens.Issue(ctx, acc.ID, "logs", auth.Scope{Methods: auth.Permissions()}, "")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, MaxNoOfMachines: 5}, 1)
	if err != nil {
		t.Fatal(err)
	}
	key := recs[0].Key
	obj, err := a.DataObjects.Add(ctx, dataobj.Caller{AccountID: acc.ID}, dataobj.Where{Variant: dataobj.ToKey, ProductID: p.ID, Key: key}, dataobj.NewObject{Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Users.Register(ctx, acc.ID, users.Registration{Username: "logs", Password: "logs password"}); err != nil {
		t.Fatal(err)
	}
	pid := strconv.FormatInt(p.ID, 10)

	// Everything else the process prints goes to the real stdout/stderr,
	// captured here.
	rOut, wOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = wOut, wOut
	stray := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(rOut)
		stray <- b
	}()
	restore := func() []byte {
		os.Stdout, os.Stderr = stdout, stderr
		_ = wOut.Close()
		return <-stray
	}
	defer func() {
		if os.Stdout == wOut {
			restore()
		}
	}()

	for _, tt := range []struct {
		name, group, method string
		params              url.Values
		result              string
	}{
		{"new activation", "key", "Activate", url.Values{"ProductId": {pid}, "Key": {key}, "MachineCode": {"m1"}, "Sign": {"true"}, "SignMethod": {"1"}}, `"result":0`},
		{"repeat activation", "key", "Activate", url.Values{"ProductId": {pid}, "Key": {key}, "MachineCode": {"m1"}, "Sign": {"true"}, "SignMethod": {"1"}}, `"result":0`},
		{"GetKey", "key", "GetKey", url.Values{"ProductId": {pid}, "Key": {key}, "Sign": {"true"}, "SignMethod": {"1"}}, `"result":0`},
		{"refused activation", "key", "Activate", url.Values{"ProductId": {pid}, "Key": {"AAAAA-AAAAA-AAAAA-AAAAA"}, "MachineCode": {"m1"}}, `"result":1`},
		{"data-object increment", "data", "IncrementIntValue", url.Values{"Id": {strconv.FormatInt(obj.ID, 10)}, "IntValue": {"1"}}, `"result":0`},
		{"login", "userauth", "Login", url.Values{"Username": {"logs"}, "Password": {"logs password"}}, `"result":0`},
		{"GetProducts", "product", "GetProducts", url.Values{}, `"result":0`},
		{"fallback, odd spelling", "fallback", "Activate", url.Values{"ProductId": {pid}, "Key": {key}, "MachineCode": {"m1"}}, `"result":0`},
	} {
		h, err := app.HandlerFor(a, tt.group)
		if err != nil {
			t.Fatal(err)
		}
		path := "/api/" + tt.group + "/" + tt.method
		if tt.group == "fallback" {
			path = "//API//Key/" + tt.method + "/"
		}
		tt.params.Set("token", token)
		ev := events.APIGatewayV2HTTPRequest{RawPath: path, Body: tt.params.Encode(),
			Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}}
		ev.RequestContext.HTTP.Method = "POST"
		ev.RequestContext.RequestID = "JNk4xhXAoAMEV0w="
		logged.Reset()
		res, err := lambdaentry.Handler(h)(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Body, tt.result) {
			t.Fatalf("%s: %d %s", tt.name, res.StatusCode, res.Body)
		}
		line := logged.String()
		if n := strings.Count(line, "\n"); n != 1 {
			t.Errorf("%s: %d log lines, want 1:\n%s", tt.name, n, line)
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("%s: log line is not JSON: %v\n%s", tt.name, err, line)
		}
		if rec["level"] != "INFO" || rec["msg"] != "webapi request" || rec["requestId"] != ev.RequestContext.RequestID {
			t.Errorf("%s: log line %s, want level INFO, msg \"webapi request\" and the request id", tt.name, line)
		}
		if len(line) > maxLogLineBytes {
			t.Errorf("%s: log line of %d bytes, want <= %d:\n%s", tt.name, len(line), maxLogLineBytes, line)
		}
		if strings.Contains(line, token) || strings.Contains(line, url.QueryEscape(token)) {
			t.Errorf("%s: the access token is in the log line: %s", tt.name, line)
		}
		t.Logf("%-24s %3d bytes + %d event overhead: $%.3f per million requests ingested", tt.name, len(line), logEventOverhead,
			float64(len(line)+logEventOverhead)*1e6/1e9*ingestionUSDPerGB)
	}
	if b := restore(); len(b) != 0 {
		t.Errorf("the function printed outside its logger:\n%s", b)
	}
}
