package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/deploy"
	"github.com/keyturn/keyturn/shared/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/template.golden.json")

// Synthesized variants: the default template in both signing modes, every
// option turned on, and CloudFront without a custom domain.
const (
	envelope = config.SigningEnvelope
	kmsMode  = config.SigningKMS
	allOpts  = "options"
	cfOnly   = "cloudfront"
)

var (
	synthOnce sync.Once
	templates map[string]map[string]any
	nagErrors map[string][]string
	synthErr  error
)

// synth synthesizes every variant once per test binary, with placeholder
// function assets (no build needed) and the cdk-nag AwsSolutions checks.
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
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		variants := map[string]Props{
			envelope: {Stage: "prod", SigningMode: envelope, AssetDir: dir},
			kmsMode:  {Stage: "prod", SigningMode: kmsMode, AssetDir: dir},
			allOpts: {Stage: "dev", SigningMode: envelope, AssetDir: dir,
				CloudFront: true, DomainName: "licensing.example.com", CertificateArn: "arn:aws:acm:us-east-1:111111111111:certificate/abc",
				WebACLArn: "arn:aws:wafv2:us-east-1:111111111111:global/webacl/keyturn/abc", AccessLog: true, PlatformLogs: true,
				Tracing: true, LogRetentionDays: 30},
			cfOnly: {Stage: "dev", SigningMode: envelope, AssetDir: dir, CloudFront: true},
		}
		stacks := map[string]awscdk.Stack{}
		for name, p := range variants {
			stacks[name] = NewKeyturnStack(app, "Keyturn-"+name, p)
		}
		templates = map[string]map[string]any{}
		nagErrors = map[string][]string{}
		for name, st := range stacks {
			templates[name] = *assertions.Template_FromStack(st, nil).ToJSON()
			ann := assertions.Annotations_FromStack(st)
			// Annotations.FindError and FindWarning return the deprecated
			// cxapi.SynthesisMessage; its replacement (in
			// @aws-cdk/cloud-assembly-api) has no Go binding.
			//lint:ignore SA1019 the only type the assertions API returns
			for _, find := range []func(*string, any) *[]*cxapi.SynthesisMessage{ann.FindError, ann.FindWarning} {
				for _, m := range *find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-"))) {
					//lint:ignore SA1019 the only type the assertions API returns
					nagErrors[name] = append(nagErrors[name], fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
				}
			}
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

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// fnID matches a function's logical id (construct "Fn-<group>").
var fnID = regexp.MustCompile(`^Fn([a-z]+)[0-9A-F]{8}$`)

// functionsByGroup maps each group to its function's properties.
func functionsByGroup(t *testing.T, tpl map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, f := range resources(tpl, "AWS::Lambda::Function") {
		m := fnID.FindStringSubmatch(id)
		if m == nil {
			t.Errorf("function %s is not named after a group", id)
			continue
		}
		out[m[1]] = props(f)
	}
	return out
}

func TestFunctions(t *testing.T) {
	for _, variant := range []string{envelope, allOpts} {
		tpl := synth(t)[variant]
		fns := functionsByGroup(t, tpl)
		groups := deploy.Groups
		wantLogging, wantTracing := `{"LogFormat":"JSON","LogGroup":{"Ref":"LOGS"},"SystemLogLevel":"WARN"}`, "null"
		if variant == allOpts {
			wantLogging, wantTracing = strings.Replace(wantLogging, "WARN", "INFO", 1), `{"Mode":"Active"}`
		}
		if len(fns) != len(groups) {
			t.Errorf("%s: %d functions, want one per group (%d)", variant, len(fns), len(groups))
		}
		for _, g := range groups {
			p, ok := fns[g.Name]
			if !ok {
				t.Errorf("%s: no function for %s", variant, g.Name)
				continue
			}
			if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
				t.Errorf("%s: runtime %v handler %v", g.Name, p["Runtime"], p["Handler"])
			}
			if got := jsonOf(p["Architectures"]); got != `["arm64"]` {
				t.Errorf("%s: architectures %s, want arm64", g.Name, got)
			}
			if got, want := p["MemorySize"], float64(g.MemoryMB); got != want {
				t.Errorf("%s: memory %v, want %v", g.Name, got, want)
			}
			if got, want := p["Timeout"], float64(g.TimeoutSeconds); got != want {
				t.Errorf("%s: timeout %v, want %v", g.Name, got, want)
			}
			if got := jsonOf(p["TracingConfig"]); got != wantTracing {
				t.Errorf("%s/%s: tracing %s, want %s", variant, g.Name, got, wantTracing)
			}
			lc, _ := p["LoggingConfig"].(map[string]any)
			logGroup := jsonOf(lc["LogGroup"])
			if got := strings.Replace(jsonOf(lc), logGroup, `{"Ref":"LOGS"}`, 1); got != wantLogging || !strings.Contains(logGroup, `"Fn`+g.Name+`Logs`) {
				t.Errorf("%s/%s: logging %s, want %s in its own log group", variant, g.Name, jsonOf(lc), wantLogging)
			}
			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			for _, k := range []string{config.EnvTable, config.EnvSigningMode, config.EnvKMSKeyID, config.EnvPublicURL} {
				if env[k] == nil {
					t.Errorf("%s: env %s missing", g.Name, k)
				}
			}
			if (env[config.EnvAdminSecretHash] != nil) != g.Admin {
				t.Errorf("%s: only the admin function gets the admin credential hash", g.Name)
			}
			publicURL := jsonOf(env[config.EnvPublicURL])
			if variant == envelope && !strings.Contains(publicURL, `"ApiEndpoint"`) {
				t.Errorf("%s: public URL %s, want the API endpoint", g.Name, publicURL)
			}
			if variant == allOpts && publicURL != `"https://licensing.example.com"` {
				t.Errorf("%s: public URL %s, want the custom domain", g.Name, publicURL)
			}
		}
	}
}

// TestOptions: the default template has none of the paid extras; each
// option adds exactly its resource or setting; retention follows the stage.
func TestOptions(t *testing.T) {
	count := func(variant, typ string) int { return len(resources(synth(t)[variant], typ)) }
	for _, tt := range []struct {
		variant, typ string
		want         int
	}{
		{envelope, "AWS::CloudFront::Distribution", 0},
		{envelope, "AWS::CloudFront::Function", 0},
		{kmsMode, "AWS::CloudFront::Distribution", 0},
		{cfOnly, "AWS::CloudFront::Distribution", 1},
		{allOpts, "AWS::CloudFront::Distribution", 1},
		{envelope, "AWS::Logs::LogGroup", len(deploy.Groups)},
		{allOpts, "AWS::Logs::LogGroup", len(deploy.Groups) + 1}, // + access log
	} {
		if got := count(tt.variant, tt.typ); got != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.variant, got, tt.typ, tt.want)
		}
	}
	for variant, wantLog := range map[string]bool{envelope: false, allOpts: true} {
		for _, s := range resources(synth(t)[variant], "AWS::ApiGatewayV2::Stage") {
			p := props(s)
			if (p["AccessLogSettings"] != nil) != wantLog || p["DefaultRouteSettings"] == nil {
				t.Errorf("%s stage: access log %v (want %v), throttling %v", variant, p["AccessLogSettings"], wantLog, p["DefaultRouteSettings"])
			}
		}
	}
	for variant, want := range map[string]float64{envelope: prodLogRetentionDays, cfOnly: otherLogRetentionDays, allOpts: 30} {
		for id, lg := range resources(synth(t)[variant], "AWS::Logs::LogGroup") {
			if got := props(lg)["RetentionInDays"]; got != want {
				t.Errorf("%s/%s: retention %v days, want %v", variant, id, got, want)
			}
		}
	}
	for _, d := range resources(synth(t)[allOpts], "AWS::CloudFront::Distribution") {
		dc := props(d)["DistributionConfig"].(map[string]any)
		if got := jsonOf(dc["Aliases"]); got != `["licensing.example.com"]` || dc["WebACLId"] == nil {
			t.Errorf("distribution aliases %s, web ACL %v", got, dc["WebACLId"])
		}
	}
}

func TestTableMatchesSchema(t *testing.T) {
	tables := resources(synth(t)[envelope], "AWS::DynamoDB::Table")
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
		envelope: {"SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT"},
		kmsMode:  {"RSA_2048/SIGN_VERIFY", "SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT"},
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

// actionsOf lists a policy statement's actions.
func actionsOf(st map[string]any) []string {
	switch a := st["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// roleOf matches a function role's logical id (construct "Fn-<group>-Role").
var roleOf = regexp.MustCompile(`^Fn([a-z]+)Role[0-9A-F]{8}$`)

// TestKeyPolicies: the account may only administer the KMS keys; each
// function that uses a key is named in the key policy with exactly its
// actions, and no other principal or wildcard action appears.
func TestKeyPolicies(t *testing.T) {
	for _, mode := range []string{envelope, kmsMode} {
		tpl := synth(t)[mode]
		want := map[string]map[string][]string{"SigningWrapKey": {}}
		if mode == kmsMode {
			want["SigningKey"] = map[string][]string{}
		}
		for _, g := range deploy.Groups {
			switch {
			case g.Admin:
				want["SigningWrapKey"][g.Name] = []string{"kms:Decrypt", "kms:GenerateDataKey"}
			case g.Signs || g.Secrets:
				want["SigningWrapKey"][g.Name] = []string{"kms:Decrypt"}
			}
			if mode == kmsMode && g.Signs {
				want["SigningKey"][g.Name] = []string{"kms:GetPublicKey", "kms:Sign"}
			}
			if mode == kmsMode && g.Admin {
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
				actions := actionsOf(st)
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

// TestLeastPrivilege: each function's role holds exactly the actions its
// group needs (X-Ray only with tracing on), never a wildcard action, and
// may write only its own log group; no managed policy is attached.
func TestLeastPrivilege(t *testing.T) {
	read := []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
	write := append([]string{"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, read...)
	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	xray := []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	for _, variant := range []string{envelope, kmsMode, allOpts} {
		tpl := synth(t)[variant]
		for id, r := range resources(tpl, "AWS::IAM::Role") {
			if mp := props(r)["ManagedPolicyArns"]; mp != nil {
				t.Errorf("%s/%s: managed policies %s", variant, id, jsonOf(mp))
			}
		}
		for _, g := range deploy.Groups {
			want := append([]string{}, logs...)
			if variant == allOpts {
				want = append(want, xray...)
			}
			if g.Writes {
				want = append(want, write...)
			} else {
				want = append(want, read...)
			}
			if g.Signs || g.Secrets || g.Admin {
				want = append(want, "kms:Decrypt")
			}
			if g.Admin {
				want = append(want, "kms:GenerateDataKey")
			}
			if variant == kmsMode && g.Signs {
				want = append(want, "kms:Sign", "kms:GetPublicKey")
			}
			if variant == kmsMode && g.Admin {
				want = append(want, "kms:GetPublicKey")
			}
			var got []string
			policies := 0
			for id, pol := range resources(tpl, "AWS::IAM::Policy") {
				if !strings.HasPrefix(id, "Fn"+g.Name+"RoleDefaultPolicy") {
					continue
				}
				policies++
				for _, raw := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					st := raw.(map[string]any)
					actions := actionsOf(st)
					got = append(got, actions...)
					if strings.HasPrefix(actions[0], "logs:") {
						if res := jsonOf(st["Resource"]); !strings.Contains(res, `"Fn`+g.Name+`Logs`) {
							t.Errorf("%s/%s: writes logs to %s, want only its own log group", variant, g.Name, res)
						}
					}
				}
			}
			if policies != 1 {
				t.Errorf("%s/%s: %d role policies", variant, g.Name, policies)
			}
			got, want = dedupe(got), dedupe(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s/%s actions:\n got %v\nwant %v", variant, g.Name, got, want)
			}
			for _, a := range got {
				if strings.Contains(a, "*") {
					t.Errorf("%s/%s has wildcard action %s", variant, g.Name, a)
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

// TestAlarms: the topic (with a conditional e-mail subscription) is every
// alarm's action, the alarms watch the signals that matter with few
// metrics, and a group's failure metric gets its own alarm.
func TestAlarms(t *testing.T) {
	for _, variant := range []string{envelope, allOpts} {
		tpl := synth(t)[variant]
		topics := resources(tpl, "AWS::SNS::Topic")
		if len(topics) != 1 {
			t.Fatalf("%s: %d topics", variant, len(topics))
		}
		var topicID string
		for id := range topics {
			topicID = id
		}
		subs := resources(tpl, "AWS::SNS::Subscription")
		for _, s := range subs {
			if s["Condition"] != "HasAlarmEmail" || props(s)["Protocol"] != "email" || jsonOf(props(s)["Endpoint"]) != `{"Ref":"AlarmEmail"}` {
				t.Errorf("%s: subscription %s", variant, jsonOf(s))
			}
		}
		if len(subs) != 1 {
			t.Errorf("%s: %d subscriptions, want 1 (conditional on AlarmEmail)", variant, len(subs))
		}
		if _, ok := tpl["Parameters"].(map[string]any)["AlarmEmail"]; !ok {
			t.Errorf("%s: no AlarmEmail parameter", variant)
		}
		want := map[string]string{
			"Api5xxRate":        "5xx,Count",
			"LambdaErrors":      "Errors",
			"LambdaThrottles":   "Throttles",
			"TableThrottles":    "ReadThrottleEvents,WriteThrottleEvents",
			"TableSystemErrors": strings.Repeat("SystemErrors,", len(tableOperations)-1) + "SystemErrors",
		}
		for _, g := range deploy.Groups {
			if g.FailureMetric != "" {
				want["Fn"+g.Name+g.FailureMetric] = g.FailureMetric
			}
		}
		got := map[string]string{}
		for id, a := range resources(tpl, "AWS::CloudWatch::Alarm") {
			p := props(a)
			if jsonOf(p["AlarmActions"]) != `[{"Ref":"`+topicID+`"}]` {
				t.Errorf("%s/%s: actions %s, want the topic", variant, id, jsonOf(p["AlarmActions"]))
			}
			name := regexp.MustCompile(`[0-9A-F]{8}$`).ReplaceAllString(id, "")
			got[name] = strings.Join(alarmMetrics(p), ",")
			if name == "TableSystemErrors" || name == "TableThrottles" {
				if !strings.Contains(jsonOf(p), `"TableName","Value":{"Ref":"Table`) {
					t.Errorf("%s/%s: not on the table: %s", variant, id, jsonOf(p))
				}
			}
			if name == "TableSystemErrors" && strings.Count(jsonOf(p), `"Name":"Operation"`) != len(tableOperations) {
				t.Errorf("%s/%s: SystemErrors needs the Operation dimension for each operation: %s", variant, id, jsonOf(p))
			}
		}
		if jsonOf(got) != jsonOf(want) {
			t.Errorf("%s alarms (name: metrics)\n got %v\nwant %v", variant, got, want)
		}
	}
}

// alarmMetrics lists the metric names an alarm reads, sorted.
func alarmMetrics(p map[string]any) []string {
	var out []string
	if n, ok := p["MetricName"].(string); ok {
		out = append(out, n)
	}
	if ms, ok := p["Metrics"].([]any); ok {
		for _, m := range ms {
			if ms, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
				out = append(out, ms["Metric"].(map[string]any)["MetricName"].(string))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestNag: the AwsSolutions rules report nothing in any variant, and every
// suppression carries a one-line reason.
func TestNag(t *testing.T) {
	tpls := synth(t)
	for variant := range tpls {
		for _, e := range nagErrors[variant] {
			t.Errorf("%s: %s", variant, e)
		}
	}
	suppressions := 0
	for variant, tpl := range tpls {
		for id, r := range tpl["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			rules, _ := nag["rules_to_suppress"].([]any)
			for _, raw := range rules {
				s := raw.(map[string]any)
				suppressions++
				reason, _ := s["reason"].(string)
				if len(reason) < 20 || strings.ContainsAny(reason, "\n\r") {
					t.Errorf("%s/%s: suppression of %v needs a one-line reason, got %q", variant, id, s["id"], reason)
				}
			}
		}
	}
	if suppressions == 0 {
		t.Error("no suppressions found in the templates' metadata: the check looks in the wrong place")
	}
}

var assetHash = regexp.MustCompile(`[0-9a-f]{64}(\.zip)?`)

// TestGoldenTemplate compares the envelope-mode template with
// testdata/template.golden.json (asset hashes normalized); -update rewrites
// it.
func TestGoldenTemplate(t *testing.T) {
	b, err := json.MarshalIndent(synth(t)[envelope], "", "  ")
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

// TestPropsFromContext: context values arrive as strings from the CLI
// (-c key=value) or as JSON values from cdk.json; both turn options on.
func TestPropsFromContext(t *testing.T) {
	for _, ctx := range []map[string]any{
		{"stage": "prod", "signingMode": "kms", "cloudfront": "true", "accessLog": "true", "platformLogs": "true", "tracing": "true", "logRetentionDays": "30",
			"domainName": "l.example.com", "certificateArn": "arn:cert", "webAclArn": "arn:acl"},
		{"stage": "prod", "signingMode": "kms", "cloudfront": true, "accessLog": true, "platformLogs": true, "tracing": true, "logRetentionDays": float64(30),
			"domainName": "l.example.com", "certificateArn": "arn:cert", "webAclArn": "arn:acl"},
	} {
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
		p := PropsFromContext(app)
		p.AssetDir = ""
		want := Props{Stage: "prod", SigningMode: kmsMode, CloudFront: true, AccessLog: true, PlatformLogs: true, Tracing: true, LogRetentionDays: 30,
			DomainName: "l.example.com", CertificateArn: "arn:cert", WebACLArn: "arn:acl"}
		if jsonOf(p) != jsonOf(want) {
			t.Errorf("context %v:\n got %s\nwant %s", ctx, jsonOf(p), jsonOf(want))
		}
	}
	if p := PropsFromContext(awscdk.NewApp(nil)); p.Stage != "dev" || p.SigningMode != envelope || p.CloudFront || p.AccessLog || p.PlatformLogs || p.Tracing || p.LogRetentionDays != 0 {
		t.Errorf("defaults: %s", jsonOf(p))
	}
}
