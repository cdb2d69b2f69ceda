package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Price is one list price: USD per Per units.
type Price struct {
	USD    float64 `json:"usd"`
	Per    float64 `json:"per"`
	Unit   string  `json:"unit"`
	Source string  `json:"source"`
}

// Each is the price of one unit.
func (p Price) Each() float64 { return p.USD / p.Per }

// PriceTable is prices.json: one dated table.
type PriceTable struct {
	Date   string           `json:"date"`
	Region string           `json:"region"`
	Note   string           `json:"note"`
	Prices map[string]Price `json:"prices"`
}

// priceNames are the prices the model uses.
var priceNames = []string{"httpApiRequest", "lambdaRequest", "lambdaArmGBSecond", "dynamodbWRU", "dynamodbRRU",
	"logsIngestionGB", "logsStorageGBMonth", "alarmMetricMonth", "customMetricMonth", "xrayTrace", "kmsKeyMonth",
	"kmsRequest", "cloudfrontRequest", "cloudfrontOutGB", "wafWebACLMonth", "wafRequest"}

func (t PriceTable) each(name string) float64 {
	p, ok := t.Prices[name]
	if !ok {
		panic("no price " + name) // loadPrices checks every name
	}
	return p.Each()
}

func loadPrices(path string) (PriceTable, error) {
	var t PriceTable
	if err := readJSON(path, &t); err != nil {
		return t, err
	}
	for _, n := range priceNames {
		if p, ok := t.Prices[n]; !ok || p.Per <= 0 || p.USD < 0 {
			return t, fmt.Errorf("%s: price %s missing or invalid", path, n)
		}
	}
	if t.Date == "" {
		return t, fmt.Errorf("%s: no date", path)
	}
	return t, nil
}

// Units is what ./scripts/bench measured (scripts/benchkit -out).
type Units struct {
	Measured string `json:"measured"`
	Host     struct {
		Go   string `json:"go"`
		Arch string `json:"arch"`
		CPU  string `json:"cpu"`
	} `json:"host"`
	Requests   int       `json:"requests"`
	Operations []OpUnits `json:"operations"`
	byID       map[string]OpUnits
}

// OpUnits are one operation's measured units per request.
type OpUnits struct {
	ID           string             `json:"id"`
	Name         string             `json:"name"`
	Group        string             `json:"group"`
	Calls        map[string]float64 `json:"dynamodbCalls"`
	RCU          float64            `json:"rcu"`
	BilledWCU    float64            `json:"billedWcu"`
	CPUMs        float64            `json:"cpuMs"`
	LogBytes     float64            `json:"logBytes"`
	LogLines     float64            `json:"logLines"`
	LogGzipRatio float64            `json:"logGzipRatio"`
}

// DynamoDBCalls is the number of DynamoDB round trips per request.
func (o OpUnits) DynamoDBCalls() float64 {
	var n float64
	for _, c := range o.Calls {
		n += c
	}
	return n
}

func loadUnits(path string) (Units, error) {
	var u Units
	if err := readJSON(path, &u); err != nil {
		return u, err
	}
	u.byID = map[string]OpUnits{}
	for _, o := range u.Operations {
		u.byID[o.ID] = o
	}
	for _, op := range operations {
		if _, ok := u.byID[op.ID]; !ok {
			return u, fmt.Errorf("%s: no figures for %s (run ./scripts/bench)", path, op.ID)
		}
	}
	return u, nil
}

// Template is what the model reads from the synthesized CloudFormation
// template: each function's memory, tracing and log retention, and the
// resources with a fixed or per-request charge.
type Template struct {
	// Path is the file read.
	Path string
	// MemoryMB and Tracing per group (function "Fn-<group>").
	MemoryMB map[string]float64
	Tracing  map[string]bool
	// PlatformLogs per group: the system log level lets START/END/REPORT
	// lines through.
	PlatformLogs map[string]bool
	// RetentionDays of the functions' log groups (the longest).
	RetentionDays float64
	KMSKeys       int
	// SigningKey is true in kms mode (an RSA key signs each response).
	SigningKey bool
	// Alarms and AlarmMetrics count alarms and the metrics they read;
	// CustomMetrics those in Keyturn's own namespace.
	Alarms, AlarmMetrics, CustomMetrics int
	AccessLog                           bool
	CloudFront                          bool
	WebACL                              bool
}

var fnLogicalID = regexp.MustCompile(`^Fn([a-z]+)[0-9A-F]{8}$`)

func loadTemplate(path string) (Template, error) {
	var raw struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}
	if err := readJSON(path, &raw); err != nil {
		return Template{}, err
	}
	t := Template{Path: path, MemoryMB: map[string]float64{}, Tracing: map[string]bool{}, PlatformLogs: map[string]bool{}}
	for id, r := range raw.Resources {
		p := r.Properties
		switch r.Type {
		case "AWS::Lambda::Function":
			m := fnLogicalID.FindStringSubmatch(id)
			if m == nil {
				return t, fmt.Errorf("%s: function %s is not named Fn<group>", path, id)
			}
			mem, _ := p["MemorySize"].(float64)
			if mem == 0 {
				mem = 128 // Lambda's default
			}
			t.MemoryMB[m[1]] = mem
			tc, _ := p["TracingConfig"].(map[string]any)
			t.Tracing[m[1]] = tc["Mode"] == "Active"
			lc, _ := p["LoggingConfig"].(map[string]any)
			t.PlatformLogs[m[1]] = lc["SystemLogLevel"] != "WARN"
		case "AWS::Logs::LogGroup":
			if d, _ := p["RetentionInDays"].(float64); d > t.RetentionDays {
				t.RetentionDays = d
			} else if p["RetentionInDays"] == nil {
				t.RetentionDays = math.Inf(1)
			}
		case "AWS::KMS::Key":
			t.KMSKeys++
			if p["KeyUsage"] == "SIGN_VERIFY" {
				t.SigningKey = true
			}
		case "AWS::CloudWatch::Alarm":
			t.Alarms++
			metrics := 0
			if p["MetricName"] != nil {
				metrics = 1
				if p["Namespace"] == "Keyturn" {
					t.CustomMetrics++
				}
			}
			ms, _ := p["Metrics"].([]any)
			for _, m := range ms {
				if stat, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
					metrics++
					if stat["Metric"].(map[string]any)["Namespace"] == "Keyturn" {
						t.CustomMetrics++
					}
				}
			}
			t.AlarmMetrics += metrics
		case "AWS::ApiGatewayV2::Stage":
			t.AccessLog = t.AccessLog || p["AccessLogSettings"] != nil
		case "AWS::CloudFront::Distribution":
			t.CloudFront = true
			dc, _ := p["DistributionConfig"].(map[string]any)
			t.WebACL = t.WebACL || dc["WebACLId"] != nil
		}
	}
	if len(t.MemoryMB) == 0 {
		return t, fmt.Errorf("%s: no functions", path)
	}
	return t, nil
}

// extras describes the paid options the template has.
func (t Template) extras() string {
	var on []string
	if t.CloudFront {
		on = append(on, "CloudFront")
	}
	if t.WebACL {
		on = append(on, "WAF")
	}
	if t.AccessLog {
		on = append(on, "access log")
	}
	if anyTrue(t.PlatformLogs) {
		on = append(on, "platform log lines")
	}
	if anyTrue(t.Tracing) {
		on = append(on, "X-Ray")
	}
	if t.SigningKey {
		on = append(on, "kms signing mode")
	}
	if len(on) == 0 {
		return "the default stack: no CloudFront, access log, platform log lines or X-Ray"
	}
	return "with " + strings.Join(on, ", ")
}

func anyTrue(m map[string]bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
}

// Params are the model's assumptions (documented in the output).
type Params struct {
	// DynamoDBRoundTripMs is one DynamoDB call's latency from Lambda in
	// the same region; calls are counted as sequential.
	DynamoDBRoundTripMs float64
	// VCPUMB is the memory at which a function gets one full vCPU; below
	// it CPU time stretches by VCPUMB/memory.
	VCPUMB float64
	// LogEventOverheadBytes is what CloudWatch Logs counts per event on
	// top of the message.
	LogEventOverheadBytes float64
	// WebAPILogPerMillion is the Web API log's whole budget per million
	// logged calls (issue 13: ingestion of the request line, the writer,
	// its storage and reads stay under $0.15/M).
	WebAPILogPerMillion float64
	// XRaySampledShare is the share of requests X-Ray records with the
	// default sampling rule (1/s reservoir + 5%) at volume.
	XRaySampledShare float64
	// AccessLogBytes is one API Gateway access log line (opt-in).
	AccessLogBytes float64
	// PlatformLogBytes and PlatformLogLines are Lambda's START, END and
	// REPORT lines of one invocation in JSON (opt-in).
	PlatformLogBytes, PlatformLogLines float64
	// ResponseBytes is a typical signed license response (CloudFront data
	// out, opt-in).
	ResponseBytes float64
}

// DefaultParams are the documented defaults.
var DefaultParams = Params{DynamoDBRoundTripMs: 5, VCPUMB: 1769, LogEventOverheadBytes: 26, WebAPILogPerMillion: 0.15,
	XRaySampledShare: 0.05, AccessLogBytes: 250, PlatformLogBytes: 700, PlatformLogLines: 3, ResponseBytes: 2048}

// Operation is one operation costkit prices, with the DynamoDB units it
// must consume at least (its floor).
type Operation struct {
	ID, Name string
	// FloorRRU and FloorWRU are the units the call cannot do without.
	FloorRRU, FloorWRU float64
	// WebAPILogged: the Web API log records the call.
	WebAPILogged bool
	// Signs: the response is signed (a KMS Sign in kms mode).
	Signs bool
	// Gated: the test holds the operation within MaxFloorRatio.
	Gated bool
}

// operations are priced in this order.
var operations = []Operation{
	{ID: "activate_new", Name: "new activation", FloorRRU: 0.5, FloorWRU: 1, WebAPILogged: true, Signs: true, Gated: true},
	{ID: "activate_repeat", Name: "repeat activation", FloorRRU: 0.5, WebAPILogged: true, Signs: true, Gated: true},
	{ID: "getkey", Name: "GetKey (signed)", FloorRRU: 0.5, WebAPILogged: true, Signs: true},
	{ID: "data_increment", Name: "data-object increment", FloorWRU: 1, WebAPILogged: true},
	{ID: "login", Name: "login (userauth)", FloorRRU: 0.5, FloorWRU: 1},
}

// Limits the test enforces.
const (
	MaxFloorRatio   = 1.2
	MaxIdlePerMonth = 3.0
)

// Line is one priced item, per million requests or per month.
type Line struct {
	Item  string
	Basis string
	USD   float64
}

// OpCost is one operation's cost per million requests.
type OpCost struct {
	Op    Operation
	Units OpUnits
	Lines []Line
	Total float64
	Floor float64
	// DurationMs is the modelled billed duration of one request.
	DurationMs float64
	MemoryMB   float64
}

// Ratio is the total over the floor.
func (c OpCost) Ratio() float64 { return c.Total / c.Floor }

// Model prices operations and the idle stack.
type Model struct {
	Prices   PriceTable
	Units    Units
	Template Template
	Params   Params
}

// Duration is the modelled billed duration (ms, rounded up to 1 ms as
// Lambda bills) of a request with the given CPU time and DynamoDB calls
// at memory mb.
func (m Model) Duration(cpuMs, calls, mb float64) float64 {
	return math.Ceil(cpuMs*math.Max(1, m.Params.VCPUMB/mb) + calls*m.Params.DynamoDBRoundTripMs)
}

// Compute is the Lambda duration charge per million requests.
func (m Model) Compute(durationMs, mb float64) float64 {
	return mb / 1024 * durationMs / 1000 * m.Prices.each("lambdaArmGBSecond") * 1e6
}

// Cost prices one operation per million requests.
func (m Model) Cost(op Operation) OpCost {
	u := m.Units.byID[op.ID]
	p := m.Prices
	const million = 1e6
	c := OpCost{Op: op, Units: u}
	add := func(item, basis string, usd float64) {
		c.Lines = append(c.Lines, Line{item, basis, usd})
		c.Total += usd
	}
	add("HTTP API", "1 request", p.each("httpApiRequest")*million)
	add("Lambda requests", "1 invocation", p.each("lambdaRequest")*million)
	mem, ok := m.Template.MemoryMB[u.Group]
	if !ok {
		panic("no function for group " + u.Group)
	}
	c.MemoryMB = mem
	c.DurationMs = m.Duration(u.CPUMs, u.DynamoDBCalls(), mem)
	add("Lambda duration", fmt.Sprintf("%.0f MB x %.0f ms (%.2f ms CPU, %.1f DynamoDB calls x %.0f ms)", mem, c.DurationMs,
		u.CPUMs, u.DynamoDBCalls(), m.Params.DynamoDBRoundTripMs), m.Compute(c.DurationMs, mem))
	add("DynamoDB", fmt.Sprintf("%.2f RRU + %.2f WRU", u.RCU, u.BilledWCU), (u.RCU*p.each("dynamodbRRU")+u.BilledWCU*p.each("dynamodbWRU"))*million)
	logBytes := u.LogBytes + u.LogLines*m.Params.LogEventOverheadBytes
	ingestion := logBytes * million / 1e9 * p.each("logsIngestionGB")
	add("request log line, ingestion", fmt.Sprintf("%.0f B (%.1f line + %.0f B event overhead)", logBytes, u.LogLines, m.Params.LogEventOverheadBytes), ingestion)
	months := m.Template.RetentionDays / 30
	add("request log line, storage", fmt.Sprintf("%.0f B x %.2f compressed x %.0f days", logBytes, u.LogGzipRatio, m.Template.RetentionDays),
		logBytes*u.LogGzipRatio*million/1e9*months*p.each("logsStorageGBMonth"))
	if op.WebAPILogged {
		add("Web API log (writer, storage, reads)", fmt.Sprintf("$%.2f/M budget less the line's ingestion", m.Params.WebAPILogPerMillion),
			math.Max(0, m.Params.WebAPILogPerMillion-ingestion))
	}
	if m.Template.Tracing[u.Group] {
		add("X-Ray", fmt.Sprintf("%.0f%% of requests traced", m.Params.XRaySampledShare*100), m.Params.XRaySampledShare*p.each("xrayTrace")*million)
	}
	if m.Template.PlatformLogs[u.Group] {
		b := m.Params.PlatformLogBytes + m.Params.PlatformLogLines*m.Params.LogEventOverheadBytes
		add("platform log lines", fmt.Sprintf("%.0f B (START, END, REPORT)", b), b*million/1e9*p.each("logsIngestionGB"))
	}
	if m.Template.AccessLog {
		b := m.Params.AccessLogBytes + m.Params.LogEventOverheadBytes
		add("API access log", fmt.Sprintf("%.0f B", b), b*million/1e9*p.each("logsIngestionGB"))
	}
	if m.Template.CloudFront {
		add("CloudFront", fmt.Sprintf("1 HTTPS request + %.0f B out", m.Params.ResponseBytes),
			(p.each("cloudfrontRequest")+m.Params.ResponseBytes/1e9*p.each("cloudfrontOutGB"))*million)
	}
	if m.Template.WebACL {
		add("WAF", "1 request inspected", p.each("wafRequest")*million)
	}
	if m.Template.SigningKey && op.Signs {
		add("KMS Sign", "1 RSA-2048 request", p.each("kmsRequest")*million)
	}
	c.Floor = (p.each("httpApiRequest") + p.each("lambdaRequest") + op.FloorRRU*p.each("dynamodbRRU") + op.FloorWRU*p.each("dynamodbWRU")) * million
	return c
}

// Idle prices the stack with no traffic, per month.
func (m Model) Idle() ([]Line, float64) {
	p := m.Prices
	var lines []Line
	var total float64
	add := func(item, basis string, usd float64) {
		lines = append(lines, Line{item, basis, usd})
		total += usd
	}
	add("KMS keys", fmt.Sprintf("%d x $%.2f", m.Template.KMSKeys, p.each("kmsKeyMonth")), float64(m.Template.KMSKeys)*p.each("kmsKeyMonth"))
	add("CloudWatch alarms", fmt.Sprintf("%d alarms reading %d metrics x $%.2f", m.Template.Alarms, m.Template.AlarmMetrics, p.each("alarmMetricMonth")),
		float64(m.Template.AlarmMetrics)*p.each("alarmMetricMonth"))
	if m.Template.CustomMetrics > 0 {
		add("custom metrics (once emitted)", fmt.Sprintf("%d x $%.2f", m.Template.CustomMetrics, p.each("customMetricMonth")),
			float64(m.Template.CustomMetrics)*p.each("customMetricMonth"))
	}
	if m.Template.WebACL {
		add("WAF web ACL", "1 (its rules extra)", p.each("wafWebACLMonth"))
	}
	add("HTTP API, Lambda, DynamoDB on-demand, SNS, log groups", "no fixed charge", 0)
	return lines, total
}

// Candidate memory sizes for the sizing table (MB).
var candidates = []float64{128, 256, 512, 1024, 1769}

// MaxCPUMs is the acceptable latency rule: at its memory, a function may
// spend at most this long on the CPU for any measured operation.
const MaxCPUMs = 20.0

// Sizing is one group's memory choice.
type Sizing struct {
	Group string
	// Slowest is the group's measured operation with the most CPU time.
	Slowest OpUnits
	// Main is the operation priced in the table (the group's first).
	Main OpUnits
	// Pick is the smallest candidate meeting MaxCPUMs (1769 when none
	// does: one full vCPU, beyond which a request gets no faster).
	Pick       float64
	Configured float64
}

// CPUAt is the slowest operation's CPU time at memory mb.
func (m Model) CPUAt(s Sizing, mb float64) float64 {
	return s.Slowest.CPUMs * math.Max(1, m.Params.VCPUMB/mb)
}

// Sizings applies the rule to every measured group.
func (m Model) Sizings() []Sizing {
	byGroup := map[string]*Sizing{}
	var order []string
	for _, o := range m.Units.Operations {
		s, ok := byGroup[o.Group]
		if !ok {
			s = &Sizing{Group: o.Group, Main: o, Slowest: o, Configured: m.Template.MemoryMB[o.Group]}
			byGroup[o.Group] = s
			order = append(order, o.Group)
		}
		if o.CPUMs > s.Slowest.CPUMs {
			s.Slowest = o
		}
	}
	var out []Sizing
	for _, g := range order {
		s := *byGroup[g]
		s.Pick = candidates[len(candidates)-1]
		for _, mb := range candidates {
			if m.CPUAt(s, mb) <= MaxCPUMs {
				s.Pick = mb
				break
			}
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// Markdown renders the report (infra/README.md's cost section).
func (m Model) Markdown() string {
	var b strings.Builder
	p := m.Prices
	fmt.Fprintf(&b, "Generated by `./scripts/cost` from the price table `scripts/costkit/prices.json` (%s list prices of %s, no free tiers), "+
		"the units `./scripts/bench` measured on %s (`scripts/costkit/units.json`, %s, %s) and the synthesized template "+
		"`%s` (%s).\n\n",
		p.Region, p.Date, m.Units.Measured, m.Units.Host.CPU, m.Units.Host.Arch, filepath.ToSlash(m.Template.Path), m.Template.extras())
	b.WriteString("Per million requests:\n\n")
	b.WriteString("| operation | HTTP API | Lambda requests | Lambda duration | DynamoDB | log line | Web API log | other | **total** | floor | total / floor |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, op := range operations {
		c := m.Cost(op)
		col := map[string]float64{}
		for _, l := range c.Lines {
			switch {
			case strings.HasPrefix(l.Item, "request log line"):
				col["log"] += l.USD
			case l.Item == "HTTP API", l.Item == "Lambda requests", l.Item == "Lambda duration", l.Item == "DynamoDB":
				col[l.Item] += l.USD
			case strings.HasPrefix(l.Item, "Web API log"):
				col["webapi"] += l.USD
			default:
				col["other"] += l.USD
			}
		}
		fmt.Fprintf(&b, "| %s | $%.2f | $%.2f | $%.3f | $%.3f | $%.3f | $%.3f | $%.2f | **$%.2f** | $%.2f | %.2f |\n", op.Name,
			col["HTTP API"], col["Lambda requests"], col["Lambda duration"], col["DynamoDB"], col["log"], col["webapi"], col["other"],
			c.Total, c.Floor, c.Ratio())
	}
	b.WriteString("\nHow each figure is made (per request):\n\n")
	b.WriteString("| operation | function | Lambda duration | DynamoDB | log line |\n| --- | --- | --- | --- | --- |\n")
	for _, op := range operations {
		c := m.Cost(op)
		basis := map[string]string{}
		for _, l := range c.Lines {
			basis[l.Item] = l.Basis
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s; stored %s |\n", op.Name, c.Units.Group, basis["Lambda duration"], basis["DynamoDB"],
			basis["request log line, ingestion"], strings.SplitN(basis["request log line, storage"], " x ", 2)[1])
	}
	fmt.Fprintf(&b, "\nThe floor is what a call cannot do without: the HTTP API request, the Lambda request and the DynamoDB units "+
		"the operation must consume (activation and GetKey 0.5 RRU, a new machine or an increment 1 WRU more, a login 0.5 RRU + 1 WRU). "+
		"The test (`scripts/costkit`) fails when a new or repeat activation costs more than %.1fx its floor or the idle stack more than $%.2f a month. "+
		"\"Web API log\" reserves the log's budget of $%.2f per million logged calls (issue 13: ingestion of the request line, the writer, "+
		"its storage and its reads), less the line's ingestion counted before it.\n\n",
		MaxFloorRatio, MaxIdlePerMonth, m.Params.WebAPILogPerMillion)
	lines, total := m.Idle()
	b.WriteString("Idle, per month:\n\n| item | basis | per month |\n| --- | --- | --- |\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "| %s | %s | $%.2f |\n", l.Item, l.Basis, l.USD)
	}
	fmt.Fprintf(&b, "| **total** | | **$%.2f** |\n\n", total)
	b.WriteString("Plus storage: DynamoDB $0.25/GB-month, point-in-time recovery $0.20/GB-month, logs as above. ")
	fmt.Fprintf(&b, "kms mode adds a key ($%.2f/month) and a KMS Sign per signed response ($%.2f/M); ", p.each("kmsKeyMonth"), p.each("kmsRequest")*1e6)
	fmt.Fprintf(&b, "CloudFront adds $%.2f/M requests plus data out; X-Ray traces %.0f%% of requests at $%.2f/M traces; the access log about $%.2f/M.\n\n",
		p.each("cloudfrontRequest")*1e6, m.Params.XRaySampledShare*100, p.each("xrayTrace")*1e6,
		(m.Params.AccessLogBytes+m.Params.LogEventOverheadBytes)/1e3*p.each("logsIngestionGB"))
	fmt.Fprintf(&b, "Assumptions: each DynamoDB call takes %.0f ms (same region; calls counted as sequential); CPU time measured on the host "+
		"counts as vCPU time on Lambda arm64, stretched by %.0f MB / memory below one vCPU; Lambda bills whole milliseconds; warm functions "+
		"(token, product and signing-key caches filled; cold starts are not priced); CloudWatch Logs counts %.0f bytes per event on top of "+
		"the line and stores the lines compressed (ratio measured with gzip).\n",
		m.Params.DynamoDBRoundTripMs, m.Params.VCPUMB, m.Params.LogEventOverheadBytes)
	return b.String()
}

// SizingMarkdown renders the memory table (infra/README.md).
func (m Model) SizingMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CPU time per request measured by `./scripts/bench` (%s), stretched by %.0f MB / memory; each cell: the slowest "+
		"operation's CPU time at that memory, and the Lambda duration charge per million of the group's main operation "+
		"(CPU plus %.0f ms per DynamoDB call). Rule: the smallest memory at which no measured operation spends more than %.0f ms on the CPU "+
		"(the cheapest such size: duration charge = CPU work + memory x I/O wait, so it grows with memory); %.0f MB (one vCPU) "+
		"when none does.\n\n", m.Units.Host.CPU, m.Params.VCPUMB, m.Params.DynamoDBRoundTripMs, MaxCPUMs, m.Params.VCPUMB)
	b.WriteString("| group | main operation | slowest (CPU ms, 1 vCPU) |")
	for _, mb := range candidates {
		fmt.Fprintf(&b, " %.0f MB |", mb)
	}
	b.WriteString(" rule | deployed |\n|" + strings.Repeat(" --- |", 5+len(candidates)) + "\n")
	for _, s := range m.Sizings() {
		fmt.Fprintf(&b, "| %s | %s | %s (%.2f) |", s.Group, s.Main.Name, s.Slowest.Name, s.Slowest.CPUMs)
		for _, mb := range candidates {
			d := m.Duration(s.Main.CPUMs, s.Main.DynamoDBCalls(), mb)
			fmt.Fprintf(&b, " %.1f ms / $%.3f |", m.CPUAt(s, mb), m.Compute(d, mb))
		}
		fmt.Fprintf(&b, " %.0f MB | %.0f MB |\n", s.Pick, s.Configured)
	}
	return b.String()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
