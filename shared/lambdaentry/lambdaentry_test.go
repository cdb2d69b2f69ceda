package lambdaentry_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/handlers/product"
	"github.com/keyturn/keyturn/shared/lambdaentry"
)

// TestEventsThroughLambdaHandler feeds the sample API Gateway v2 events in
// events/ through the real Lambda handler (httpadapter entry) of their
// group, on a DynamoDB Local table, and checks the answers.
func TestEventsThroughLambdaHandler(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	sum := sha256.Sum256([]byte("x"))
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			config.EnvTable: table, config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(t.TempDir(), "kek"), config.EnvAdminSecretHash: hex.EncodeToString(sum[:]),
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, cfg, nil, app.Clients{DynamoDB: db})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := a.Catalog.CreateAccount(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "Event product"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := a.Tokens.Issue(ctx, acc.ID, "events", auth.Scope{Methods: auth.Permissions()}, "")
	if err != nil {
		t.Fatal(err)
	}
	handler := lambdaentry.Handler(a.WebAPI(product.Group(a.Store)))

	tests := []struct {
		file     string
		token    string
		wantBody string // substring
	}{
		{"product/GetProducts.json", token, `"name":"Event product"`},
		{"product/GetProducts.json", "bad", `{"result":1,"message":"Unable to authenticate."}`},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.token[:3], func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "events", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			ev.Body = strings.ReplaceAll(ev.Body, "{{token}}", url.QueryEscape(tt.token))
			res, err := handler(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 || !strings.Contains(res.Body, tt.wantBody) {
				t.Errorf("got %d %s, want 200 containing %s", res.StatusCode, res.Body, tt.wantBody)
			}
			if got := res.Headers["X-Request-Id"]; got != ev.RequestContext.RequestID {
				t.Errorf("X-Request-Id = %q, want the API Gateway request id %q", got, ev.RequestContext.RequestID)
			}
		})
	}
}
