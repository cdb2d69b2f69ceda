package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/stripefake"
)

// EnvNodePath names the node_modules directory holding the official
// Cryptolens Node client (./scripts/test installs it from
// scripts/conformance/package.json).
const EnvNodePath = "KEYTURN_CONFORMANCE_NODE_PATH"

// TestNodeClientConformance drives the service with the official
// Cryptolens Node client (npm "cryptolens"): scripts/conformance/
// cryptolens.test.js runs under node --test against this test's server.
func TestNodeClientConformance(t *testing.T) {
	nodePath := conformanceNodePath(t)
	stripe := stripefake.New(t)
	e := newEnvWith(t, envOptions{env: map[string]string{config.EnvStripeEndpoint: stripe.URL}})
	f := e.setup("conformance", "*")
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)
	var key struct{ XML string }
	e.mustAdmin("POST", base+"/signing-keys", nil, &key)
	var tpl struct{ ID int64 }
	e.mustAdmin("POST", base+"/license-templates", map[string]any{"name": "node", "productId": f.product, "period": 45}, &tpl)
	// Payments: Stripe keys (stripefake), a form, a key billed by a meter.
	e.mustAdmin("PUT", base+"/stripe", map[string]any{"secretKey": stripe.SecretKey, "webhookSecret": stripe.WebhookSecret}, nil)
	var form struct{ ID int64 }
	e.mustAdmin("POST", base+"/payment-forms", map[string]any{"name": "node", "templateId": tpl.ID}, &form)
	metered := e.createKey(f)
	item, customer := stripe.AddMeteredItem("node_calls")
	e.mustAdmin("PUT", base+"/products/"+strconv.FormatInt(f.product, 10)+"/keys/"+metered+"/subscription", map[string]any{"subscriptionItemId": item}, nil)
	limited := e.createKey(f, "MaxNoOfMachines", "1", "F1", "true", "Period", "30")
	floating := e.createKey(f, "MaxNoOfMachines", "1")
	blocked := e.createKey(f, "Block", "true")
	other := e.setup("other", "GetKey")

	runNodeSuite(t, nodePath, "cryptolens.test.js",
		"KT_URL="+e.url,
		"KT_TOKEN="+f.token,
		"KT_BAD_TOKEN="+other.token[:len(other.token)-4]+"AAA=",
		"KT_PUBKEY="+key.XML,
		"KT_PRODUCT="+strconv.FormatInt(f.product, 10),
		"KT_TEMPLATE="+strconv.FormatInt(tpl.ID, 10),
		"KT_KEY="+limited,
		"KT_FLOATING_KEY="+floating,
		"KT_BLOCKED_KEY="+blocked,
		"KT_PAYMENT_FORM="+strconv.FormatInt(form.ID, 10),
		"KT_METERED_KEY="+metered,
	)
	// RecordUsage from the Node client reached Stripe's meter.
	if ev := stripe.MeterEvents(); len(ev) != 1 || ev[0].Payload["value"] != "2" || ev[0].Payload["stripe_customer_id"] != customer {
		t.Errorf("meter events after the Node client's RecordUsage = %+v", ev)
	}
}

// TestNetLicensingClientConformance drives the licensee API with the
// official NetLicensing JavaScript client (npm "netlicensing-client"):
// scripts/conformance/netlicensing.test.js runs under node --test against
// this test's server, with an all-roles token and a validate-only
// (ROLE_APIKEY_LICENSEE) token.
func TestNetLicensingClientConformance(t *testing.T) {
	nodePath := conformanceNodePath(t)
	e := newEnv(t)
	f := e.setup("netlicensing", "*")
	validateOnly := e.token(f, map[string]any{"methods": []string{"ROLE_APIKEY_LICENSEE"}})
	other := e.setup("other", "*")
	runNodeSuite(t, nodePath, "netlicensing.test.js",
		"KT_URL="+e.url,
		"KT_TOKEN="+f.token,
		"KT_LICENSEE_TOKEN="+validateOnly,
		"KT_BAD_TOKEN="+other.token[:len(other.token)-4]+"AAA=",
		"KT_PRODUCT="+strconv.FormatInt(f.product, 10),
	)
}

// conformanceNodePath returns the node_modules directory holding the
// official clients, or skips (fails under ./scripts/test) without it.
func conformanceNodePath(t *testing.T) string {
	t.Helper()
	nodePath := os.Getenv(EnvNodePath)
	if nodePath == "" {
		if os.Getenv(ddbtest.EnvRequire) == "1" {
			t.Fatalf("%s is not set (./scripts/test installs the clients)", EnvNodePath)
		}
		t.Skipf("%s not set: run ./scripts/test", EnvNodePath)
	}
	return nodePath
}

// runNodeSuite runs scripts/conformance/<script> under node --test with
// the given environment and fails the test if the suite fails.
func runNodeSuite(t *testing.T, nodePath, script string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path, err := filepath.Abs(filepath.Join("..", "..", "scripts", "conformance", script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", path)
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+nodePath), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test output:\n%s", out)
	if err != nil {
		t.Fatalf("conformance suite %s failed: %v", script, err)
	}
}
