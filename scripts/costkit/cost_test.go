package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyturn/keyturn/shared/deploy"
)

var readme = filepath.Join("infra", "README.md")

// root is the repository root (tests start in scripts/costkit).
var root, _ = filepath.Abs(filepath.Join("..", ".."))

// model is the committed figures: price table, measured units (no
// DynamoDB Local needed) and the golden template the infra tests keep,
// read from the repository root as ./scripts/cost does.
func model(t *testing.T) Model {
	t.Helper()
	t.Chdir(root)
	m, err := load(filepath.Join("scripts", "costkit", "prices.json"), filepath.Join("scripts", "costkit", "units.json"),
		filepath.Join("infra", "testdata", "template.golden.json"), DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWithinTheFloorAndIdleLimits: a new or repeat activation costs at
// most 1.2x its floor all-in, the idle stack at most $3 a month.
func TestWithinTheFloorAndIdleLimits(t *testing.T) {
	m := model(t)
	for _, op := range operations {
		c := m.Cost(op)
		if c.Floor <= 0 || c.Total < c.Floor {
			t.Errorf("%s: total $%.3f below its floor $%.3f", op.Name, c.Total, c.Floor)
		}
		if op.Gated && c.Ratio() > MaxFloorRatio {
			t.Errorf("%s: $%.3f/M = %.3fx its floor $%.3f/M, want <= %.1fx", op.Name, c.Total, c.Ratio(), c.Floor, MaxFloorRatio)
		}
	}
	for _, tt := range []struct {
		id   string
		want float64 // issue 14's all-in targets
	}{{"activate_new", 2.27}, {"activate_repeat", 1.51}, {"getkey", 1.51}} {
		for _, op := range operations {
			if c := m.Cost(op); op.ID == tt.id && c.Total > tt.want {
				t.Errorf("%s: $%.3f/M, want <= $%.2f", op.Name, c.Total, tt.want)
			}
		}
	}
	if _, idle := m.Idle(); idle > MaxIdlePerMonth {
		t.Errorf("idle: $%.2f/month, want <= $%.2f", idle, MaxIdlePerMonth)
	}
	if p := check(m); len(p) != 0 {
		t.Errorf("check: %v", p)
	}
}

// TestLimitsCatchPaidExtras: the same figures with CloudFront and X-Ray
// in front exceed the floor limit, and a stack with an alarm per function
// exceeds the idle limit, so the check above can fail.
func TestLimitsCatchPaidExtras(t *testing.T) {
	m := model(t)
	m.Template.CloudFront = true
	m.Template.Tracing = map[string]bool{"key": true}
	problems := strings.Join(check(m), "\n")
	for _, want := range []string{"new activation:", "repeat activation:"} {
		if !strings.Contains(problems, want) {
			t.Errorf("with CloudFront and X-Ray, check = %q, want a %s problem", problems, want)
		}
	}
	m = model(t)
	m.Template.AlarmMetrics += 2 * len(deploy.Groups)
	if p := strings.Join(check(m), "\n"); !strings.Contains(p, "idle:") {
		t.Errorf("with two alarms per function, check = %q, want an idle problem", p)
	}
}

// TestTemplateFigures: what the model reads from the golden template
// matches what the stack builds by default.
func TestTemplateFigures(t *testing.T) {
	tpl := model(t).Template
	for _, g := range deploy.Groups {
		if got := tpl.MemoryMB[g.Name]; got != float64(g.MemoryMB) {
			t.Errorf("%s: template memory %v, deploy.Groups %d", g.Name, got, g.MemoryMB)
		}
		if tpl.Tracing[g.Name] {
			t.Errorf("%s: X-Ray on by default", g.Name)
		}
	}
	if tpl.KMSKeys != 1 || tpl.SigningKey || tpl.CloudFront || tpl.AccessLog || tpl.WebACL {
		t.Errorf("default template: %d KMS keys (signing key %v), CloudFront %v, access log %v, WAF %v; want 1 key and none of the extras",
			tpl.KMSKeys, tpl.SigningKey, tpl.CloudFront, tpl.AccessLog, tpl.WebACL)
	}
	if tpl.Alarms == 0 || tpl.AlarmMetrics < tpl.Alarms || tpl.RetentionDays != 90 {
		t.Errorf("alarms %d reading %d metrics, retention %v days", tpl.Alarms, tpl.AlarmMetrics, tpl.RetentionDays)
	}
}

// TestAlarmMetricCount: an alarm is billed per metric it reads, math
// expressions themselves are free.
func TestAlarmMetricCount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.json")
	doc := `{"Resources":{
	  "FnkeyABCDEF01":{"Type":"AWS::Lambda::Function","Properties":{"MemorySize":512}},
	  "A":{"Type":"AWS::CloudWatch::Alarm","Properties":{"MetricName":"Errors","Namespace":"AWS/Lambda"}},
	  "B":{"Type":"AWS::CloudWatch::Alarm","Properties":{"Metrics":[{"Expression":"a+b"},
	      {"MetricStat":{"Metric":{"MetricName":"x","Namespace":"AWS/DynamoDB"}}},{"MetricStat":{"Metric":{"MetricName":"y","Namespace":"AWS/DynamoDB"}}}]}},
	  "C":{"Type":"AWS::CloudWatch::Alarm","Properties":{"MetricName":"PaymentWebhookFailures","Namespace":"Keyturn"}}}}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := loadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Alarms != 3 || tpl.AlarmMetrics != 4 || tpl.CustomMetrics != 1 || tpl.MemoryMB["key"] != 512 {
		t.Errorf("alarms %d, metrics %d, custom %d, key memory %v; want 3, 4, 1, 512", tpl.Alarms, tpl.AlarmMetrics, tpl.CustomMetrics, tpl.MemoryMB["key"])
	}
}

// TestMemoryFollowsTheRule: each measured group's memory meets the
// latency rule and no smaller size would meet it with room to spare (20%,
// so measurement noise at a boundary does not flip the choice); the
// fallback is sized like key; every Web API group is measured.
func TestMemoryFollowsTheRule(t *testing.T) {
	m := model(t)
	measured := map[string]bool{}
	for _, s := range m.Sizings() {
		measured[s.Group] = true
		if s.Configured == 0 {
			t.Errorf("%s: measured but not deployed", s.Group)
			continue
		}
		if s.Pick == candidates[len(candidates)-1] {
			if s.Configured != s.Pick {
				t.Errorf("%s: %v MB; no size keeps %s under %.0f ms of CPU, want a full vCPU (%v MB)", s.Group, s.Configured, s.Slowest.Name, MaxCPUMs, s.Pick)
			}
			continue
		}
		if got := m.CPUAt(s, s.Configured); got > MaxCPUMs {
			t.Errorf("%s: at %v MB %s takes %.1f ms of CPU, want <= %.0f", s.Group, s.Configured, s.Slowest.Name, got, MaxCPUMs)
		}
		for _, mb := range candidates {
			if mb < s.Configured && m.CPUAt(s, mb) <= 0.8*MaxCPUMs {
				t.Errorf("%s: %v MB, but %v MB keeps %s at %.1f ms of CPU and costs less", s.Group, s.Configured, mb, s.Slowest.Name, m.CPUAt(s, mb))
			}
		}
	}
	for _, g := range deploy.Groups {
		switch {
		case g.Default:
			if key, _ := deploy.Lookup("key"); g.MemoryMB != key.MemoryMB {
				t.Errorf("%s: %d MB, want key's %d MB", g.Name, g.MemoryMB, key.MemoryMB)
			}
		case !g.Admin && !measured[g.Name]:
			t.Errorf("%s: no operation measured (add one to scripts/benchkit)", g.Name)
		}
	}
}

// TestREADMEIsTheOutput: infra/README.md's cost and memory sections are
// what ./scripts/cost prints (./scripts/cost -readme infra/README.md).
func TestREADMEIsTheOutput(t *testing.T) {
	m := model(t)
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range render(m) {
		got, ok := section(string(b), name)
		if !ok {
			t.Errorf("%s: no %s section", readme, name)
			continue
		}
		if got != want {
			t.Errorf("%s: the %s section is not ./scripts/cost's output; run ./scripts/cost -readme infra/README.md", readme, name)
		}
	}
}

// TestRewrite replaces exactly the marked sections.
func TestRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	doc := "a\n" + marker("cost", "begin") + "\nold\n" + marker("cost", "end") + "\nb\n" + marker("sizing", "begin") + "\n" + marker("sizing", "end") + "\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewrite(path, map[string]string{"cost": "new\n", "sizing": "s\n"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "a\n" + marker("cost", "begin") + "\nnew\n" + marker("cost", "end") + "\nb\n" + marker("sizing", "begin") + "\ns\n" + marker("sizing", "end") + "\n"
	if string(got) != want {
		t.Errorf("rewrite:\n%s\nwant\n%s", got, want)
	}
}
