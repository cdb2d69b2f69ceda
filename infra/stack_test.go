package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/deploy"
	"github.com/keyturn/keyturn/shared/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/template.golden.json")

var (
	synthOnce sync.Once
	templates map[string]map[string]any
	synthErr  error
)

// synth synthesizes the stack once per test binary in both signing modes,
// with placeholder function assets (no build needed).
func synth(t *testing.T) map[string]map[string]any {
	t.Helper()
	synthOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyturn-assets")
		if err != nil {
			synthErr = err
			return
		}
		for _, g := range deploy.Groups {
			_ = os.MkdirAll(filepath.Join(dir, g.Name), 0o755)
			if err := os.WriteFile(filepath.Join(dir, g.Name, "bootstrap"), []byte("placeholder "+g.Name), 0o755); err != nil {
				synthErr = err
				return
			}
		}
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
		templates = map[string]map[string]any{}
		stacks := map[string]awscdk.Stack{}
		for _, mode := range []string{config.SigningEnvelope, config.SigningKMS} {
			stacks[mode] = NewKeyturnStack(app, "Keyturn-"+mode, Props{Stage: "prod", SigningMode: mode, AssetDir: dir})
		}
		for mode, st := range stacks {
			templates[mode] = *assertions.Template_FromStack(st, nil).ToJSON()
		}
	})
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	return templates
}

func resources(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		m := r.(map[string]any)
		if m["Type"] == typ {
			out[id] = m
		}
	}
	return out
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

func TestFunctions(t *testing.T) {
	fns := resources(synth(t)[config.SigningEnvelope], "AWS::Lambda::Function")
	if len(fns) != len(deploy.Groups) {
		t.Errorf("%d functions, want one per group (%d)", len(fns), len(deploy.Groups))
	}
	for id, f := range fns {
		p := props(f)
		if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
			t.Errorf("%s: runtime %v handler %v", id, p["Runtime"], p["Handler"])
		}
		if arch, _ := json.Marshal(p["Architectures"]); string(arch) != `["arm64"]` {
			t.Errorf("%s: architectures %s, want arm64", id, arch)
		}
		if tc, _ := json.Marshal(p["TracingConfig"]); string(tc) != `{"Mode":"Active"}` {
			t.Errorf("%s: tracing %s", id, tc)
		}
		if lc, _ := json.Marshal(p["LoggingConfig"]); !strings.Contains(string(lc), `"LogFormat":"JSON"`) {
			t.Errorf("%s: logging %s", id, lc)
		}
		env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		for _, k := range []string{config.EnvTable, config.EnvSigningMode, config.EnvKMSKeyID} {
			if env[k] == nil {
				t.Errorf("%s: env %s missing", id, k)
			}
		}
		if (env[config.EnvAdminSecretHash] != nil) != strings.HasPrefix(id, "Fnadmin") {
			t.Errorf("%s: only the admin function gets the admin credential hash", id)
		}
	}
}

func TestTableMatchesSchema(t *testing.T) {
	tables := resources(synth(t)[config.SigningEnvelope], "AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("%d tables", len(tables))
	}
	for _, tb := range tables {
		p := props(tb)
		d := schema.Definition
		ks, _ := json.Marshal(p["KeySchema"])
		if want := `[{"AttributeName":"` + d.PartitionKey + `","KeyType":"HASH"},{"AttributeName":"` + d.SortKey + `","KeyType":"RANGE"}]`; string(ks) != want {
			t.Errorf("KeySchema = %s, want %s", ks, want)
		}
		var attrs []string
		for _, a := range p["AttributeDefinitions"].([]any) {
			m := a.(map[string]any)
			if m["AttributeType"] != "S" {
				t.Errorf("attribute %v is not a string", m)
			}
			attrs = append(attrs, m["AttributeName"].(string))
		}
		want := d.AttributeNames()
		sort.Strings(attrs)
		sort.Strings(want)
		if strings.Join(attrs, ",") != strings.Join(want, ",") {
			t.Errorf("attributes %v, want %v", attrs, want)
		}
		gsis := p["GlobalSecondaryIndexes"].([]any)
		if len(gsis) != len(d.GSIs) {
			t.Fatalf("%d GSIs, want %d", len(gsis), len(d.GSIs))
		}
		for i, g := range d.GSIs {
			got, _ := json.Marshal(gsis[i])
			want := `{"IndexName":"` + g.Name + `","KeySchema":[{"AttributeName":"` + g.PartitionKey + `","KeyType":"HASH"},{"AttributeName":"` +
				g.SortKey + `","KeyType":"RANGE"}],"Projection":{"ProjectionType":"` + g.Projection + `"}}`
			if string(got) != want {
				t.Errorf("GSI %d = %s\nwant %s", i, got, want)
			}
		}
		if ttl, _ := json.Marshal(p["TimeToLiveSpecification"]); string(ttl) != `{"AttributeName":"`+d.TTLAttribute+`","Enabled":true}` {
			t.Errorf("TTL = %s", ttl)
		}
		if pitr, _ := json.Marshal(p["PointInTimeRecoverySpecification"]); string(pitr) != `{"PointInTimeRecoveryEnabled":true}` {
			t.Errorf("PITR = %s", pitr)
		}
		if p["BillingMode"] != "PAY_PER_REQUEST" || p["DeletionProtectionEnabled"] != true || tb["DeletionPolicy"] != "Retain" {
			t.Errorf("prod table: billing %v, deletion protection %v, policy %v", p["BillingMode"], p["DeletionProtectionEnabled"], tb["DeletionPolicy"])
		}
	}
}

func TestKMSKeys(t *testing.T) {
	for mode, want := range map[string][]string{
		config.SigningEnvelope: {"SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT"},
		config.SigningKMS:      {"RSA_2048/SIGN_VERIFY", "SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT"},
	} {
		var got []string
		for _, k := range resources(synth(t)[mode], "AWS::KMS::Key") {
			p := props(k)
			spec, usage := "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"
			if v, ok := p["KeySpec"].(string); ok {
				spec = v
			}
			if v, ok := p["KeyUsage"].(string); ok {
				usage = v
			}
			if spec == "SYMMETRIC_DEFAULT" && p["EnableKeyRotation"] != true {
				t.Errorf("%s: symmetric key without rotation", mode)
			}
			got = append(got, spec+"/"+usage)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s keys = %v, want %v", mode, got, want)
		}
	}
}

// TestKeyPolicies: the account may only administer the KMS keys; each
// function that uses a key is named in the key policy with exactly its
// actions, and no other principal or wildcard action appears.
func TestKeyPolicies(t *testing.T) {
	roleOf := regexp.MustCompile(`^Fn([a-z]+)ServiceRole`)
	for mode, tpl := range synth(t) {
		want := map[string]map[string][]string{"SigningWrapKey": {}}
		if mode == config.SigningKMS {
			want["SigningKey"] = map[string][]string{}
		}
		for _, g := range deploy.Groups {
			switch {
			case g.Admin:
				want["SigningWrapKey"][g.Name] = []string{"kms:Decrypt", "kms:GenerateDataKey"}
			case g.Signs:
				want["SigningWrapKey"][g.Name] = []string{"kms:Decrypt"}
			}
			if mode == config.SigningKMS && g.Signs {
				want["SigningKey"][g.Name] = []string{"kms:GetPublicKey", "kms:Sign"}
			}
			if mode == config.SigningKMS && g.Admin {
				want["SigningKey"][g.Name] = []string{"kms:GetPublicKey"}
			}
		}
		keysSeen := 0
		for id, k := range resources(tpl, "AWS::KMS::Key") {
			name := "SigningKey"
			if strings.HasPrefix(id, "SigningWrapKey") {
				name = "SigningWrapKey"
			}
			keysSeen++
			got := map[string][]string{}
			for _, raw := range props(k)["KeyPolicy"].(map[string]any)["Statement"].([]any) {
				st := raw.(map[string]any)
				var actions []string
				switch a := st["Action"].(type) {
				case string:
					actions = []string{a}
				case []any:
					for _, x := range a {
						actions = append(actions, x.(string))
					}
				}
				for _, a := range actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s/%s: wildcard action %s", mode, name, a)
					}
				}
				principal, _ := json.Marshal(st["Principal"])
				if st["Sid"] == "AccountAdministersTheKey" {
					if !strings.Contains(string(principal), ":root") || strings.Join(dedupe(actions), ",") != strings.Join(dedupe(keyAdminActions), ",") {
						t.Errorf("%s/%s: admin statement %s %v", mode, name, principal, actions)
					}
					continue
				}
				var p struct {
					AWS struct {
						GetAtt []string `json:"Fn::GetAtt"`
					}
				}
				_ = json.Unmarshal(principal, &p)
				m := []string(nil)
				if len(p.AWS.GetAtt) == 2 {
					m = roleOf.FindStringSubmatch(p.AWS.GetAtt[0])
				}
				if m == nil {
					t.Errorf("%s/%s: statement for an unexpected principal %s", mode, name, principal)
					continue
				}
				got[m[1]] = dedupe(append(got[m[1]], actions...))
			}
			for group, actions := range want[name] {
				if strings.Join(got[group], ",") != strings.Join(dedupe(actions), ",") {
					t.Errorf("%s/%s: %s may %v, want %v", mode, name, group, got[group], actions)
				}
			}
			for group := range got {
				if _, ok := want[name][group]; !ok {
					t.Errorf("%s/%s: %s is in the key policy but uses no key", mode, name, group)
				}
			}
		}
		if keysSeen != len(want) {
			t.Errorf("%s: %d keys, want %d", mode, keysSeen, len(want))
		}
	}
}

// TestLeastPrivilege: each function's policy holds exactly the actions its
// group needs, and never a wildcard action.
func TestLeastPrivilege(t *testing.T) {
	read := []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
	write := append([]string{"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, read...)
	xray := []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	for mode, tpl := range synth(t) {
		for _, g := range deploy.Groups {
			want := append([]string{}, xray...)
			if g.Writes {
				want = append(want, write...)
			} else {
				want = append(want, read...)
			}
			if g.Signs || g.Admin {
				want = append(want, "kms:Decrypt")
			}
			if g.Admin {
				want = append(want, "kms:GenerateDataKey")
			}
			if mode == config.SigningKMS && g.Signs {
				want = append(want, "kms:Sign", "kms:GetPublicKey")
			}
			if mode == config.SigningKMS && g.Admin {
				want = append(want, "kms:GetPublicKey")
			}
			var got []string
			for id, pol := range resources(tpl, "AWS::IAM::Policy") {
				if !strings.HasPrefix(id, "Fn"+g.Name+"ServiceRole") {
					continue
				}
				for _, st := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					switch a := st.(map[string]any)["Action"].(type) {
					case string:
						got = append(got, a)
					case []any:
						for _, x := range a {
							got = append(got, x.(string))
						}
					}
				}
			}
			got, want = dedupe(got), dedupe(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s/%s actions:\n got %v\nwant %v", mode, g.Name, got, want)
			}
			for _, a := range got {
				if strings.Contains(a, "*") {
					t.Errorf("%s/%s has wildcard action %s", mode, g.Name, a)
				}
			}
		}
	}
}

func dedupe(ss []string) []string {
	m := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !m[s] {
			m[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func TestRoutesAndAlarms(t *testing.T) {
	tpl := synth(t)[config.SigningEnvelope]
	routes := map[string]bool{}
	for _, r := range resources(tpl, "AWS::ApiGatewayV2::Route") {
		routes[props(r)["RouteKey"].(string)] = true
	}
	for _, g := range deploy.Groups {
		if k := "ANY " + g.Route + "/{proxy+}"; !routes[k] {
			t.Errorf("no route %q (have %v)", k, routes)
		}
	}
	alarms := resources(tpl, "AWS::CloudWatch::Alarm")
	metrics := map[string]int{}
	for _, a := range alarms {
		metrics[props(a)["MetricName"].(string)]++
	}
	for m, n := range map[string]int{"Errors": len(deploy.Groups), "Throttles": len(deploy.Groups), "5xx": 1,
		"ReadThrottleEvents": 1, "WriteThrottleEvents": 1, "SystemErrors": 1} {
		if metrics[m] != n {
			t.Errorf("%d alarms on %s, want %d (have %v)", metrics[m], m, n, metrics)
		}
	}
	stages := resources(tpl, "AWS::ApiGatewayV2::Stage")
	for _, s := range stages {
		p := props(s)
		if p["AccessLogSettings"] == nil || p["DefaultRouteSettings"] == nil {
			t.Errorf("stage without access logs or throttling: %v", p)
		}
	}
	if len(resources(tpl, "AWS::CloudFront::Distribution")) != 1 || len(resources(tpl, "AWS::CloudFront::Function")) != 1 {
		t.Error("want one CloudFront distribution with one function")
	}
}

var assetHash = regexp.MustCompile(`[0-9a-f]{64}(\.zip)?`)

// TestGoldenTemplate compares the envelope-mode template with
// testdata/template.golden.json (asset hashes normalized); -update rewrites
// it.
func TestGoldenTemplate(t *testing.T) {
	b, err := json.MarshalIndent(synth(t)[config.SigningEnvelope], "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got := assetHash.ReplaceAllString(string(b), "ASSET")
	path := filepath.Join("testdata", "template.golden.json")
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./infra -run TestGoldenTemplate -update)", err)
	}
	if got+"\n" != string(want) {
		t.Errorf("template differs from %s; if intended, run with -update", path)
	}
}

// TestNormalizeFunction runs the CloudFront function with node against the
// path spellings clients send.
func TestNormalizeFunction(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/api/key/Activate", "/api/key/activate"},
		{"/api/key/activate", "/api/key/activate"},
		{"/api/Key/Activate", "/api/key/activate"},
		{"/api//key/activate/", "/api/key/activate"},
		{"//api//key/activate/", "/api/key/activate"},
		{"/api/AI/RegisterEvent", "/api/ai/registerevent"},
		{"/API/Product/GetProducts", "/api/product/getproducts"},
		{"/admin//accounts/", "/admin/accounts"},
		{"/admin/accounts/1/Tokens", "/admin/accounts/1/Tokens"},
		{"/", "/"},
	}
	var ins []string
	for _, tt := range tests {
		ins = append(ins, tt.in)
	}
	js, _ := json.Marshal(ins)
	script := normalizeJS + "\nconst out = " + string(js) + ".map(u => handler({request: {uri: u, querystring: {}}}).uri);\nconsole.log(JSON.stringify(out));\n"
	out, err := exec.Command("node", "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v: %s", err, out)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	for i, tt := range tests {
		if got[i] != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.in, got[i], tt.want)
		}
	}
}
