// Command costkit prices Keyturn per request and idle: it reads the dated
// price table (prices.json), the units ./scripts/bench measured
// (units.json) and the synthesized template, and prints per-million costs
// per operation, the idle monthly cost and the memory table as Markdown.
// ./scripts/cost runs it; -readme rewrites the generated sections of
// infra/README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sections of infra/README.md that costkit writes, between
// "<!-- name:begin -->" and "<!-- name:end -->".
const (
	costSection   = "cost"
	sizingSection = "sizing"
)

func main() {
	p := DefaultParams
	prices := flag.String("prices", filepath.Join("scripts", "costkit", "prices.json"), "price table")
	units := flag.String("units", filepath.Join("scripts", "costkit", "units.json"), "units measured by ./scripts/bench")
	tpl := flag.String("template", filepath.Join("infra", "testdata", "template.golden.json"), "synthesized CloudFormation template")
	readme := flag.String("readme", "", "rewrite the generated sections of this README (e.g. infra/README.md)")
	flag.Float64Var(&p.WebAPILogPerMillion, "webapi-log", p.WebAPILogPerMillion, "the Web API log's budget in USD per million logged calls")
	flag.Float64Var(&p.DynamoDBRoundTripMs, "dynamodb-ms", p.DynamoDBRoundTripMs, "latency of one DynamoDB call from Lambda (ms)")
	flag.Parse()
	m, err := load(*prices, *units, *tpl, p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
	sections := render(m)
	fmt.Println("## Cost\n\n" + sections[costSection] + "\n## Function memory\n\n" + sections[sizingSection])
	if *readme != "" {
		if err := rewrite(*readme, sections); err != nil {
			fmt.Fprintln(os.Stderr, "cost:", err)
			os.Exit(1)
		}
	}
	if problems := check(m); len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "cost: over the limits:\n  "+strings.Join(problems, "\n  "))
		os.Exit(1)
	}
}

func load(prices, units, tpl string, p Params) (Model, error) {
	pt, err := loadPrices(prices)
	if err != nil {
		return Model{}, err
	}
	u, err := loadUnits(units)
	if err != nil {
		return Model{}, err
	}
	t, err := loadTemplate(tpl)
	if err != nil {
		return Model{}, err
	}
	return Model{Prices: pt, Units: u, Template: t, Params: p}, nil
}

func render(m Model) map[string]string {
	return map[string]string{costSection: m.Markdown(), sizingSection: m.SizingMarkdown()}
}

// check lists what exceeds the limits: a gated operation above
// MaxFloorRatio times its floor, the idle stack above MaxIdlePerMonth.
func check(m Model) []string {
	var out []string
	for _, op := range operations {
		if c := m.Cost(op); op.Gated && c.Ratio() > MaxFloorRatio {
			out = append(out, fmt.Sprintf("%s: $%.3f/M is %.2fx its floor $%.3f/M (limit %.1fx)", op.Name, c.Total, c.Ratio(), c.Floor, MaxFloorRatio))
		}
	}
	if _, idle := m.Idle(); idle > MaxIdlePerMonth {
		out = append(out, fmt.Sprintf("idle: $%.2f/month (limit $%.2f)", idle, MaxIdlePerMonth))
	}
	return out
}

func marker(name, edge string) string { return "<!-- " + name + ":" + edge + " -->" }

// section returns the text between a section's markers.
func section(doc, name string) (string, bool) {
	_, rest, ok := strings.Cut(doc, marker(name, "begin")+"\n")
	if !ok {
		return "", false
	}
	body, _, ok := strings.Cut(rest, marker(name, "end"))
	return body, ok
}

// rewrite replaces the generated sections of the README at path.
func rewrite(path string, sections map[string]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(b)
	for name, text := range sections {
		old, ok := section(doc, name)
		if !ok {
			return fmt.Errorf("%s: no %s ... %s", path, marker(name, "begin"), marker(name, "end"))
		}
		doc = strings.Replace(doc, marker(name, "begin")+"\n"+old+marker(name, "end"), marker(name, "begin")+"\n"+text+marker(name, "end"), 1)
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
