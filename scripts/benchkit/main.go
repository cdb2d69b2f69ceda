// Command benchkit measures Keyturn's Web API and peer API operations against DynamoDB
// Local, through each group's real Lambda handler (the event decoded and
// the response encoded as the Lambda runtime does): for each operation
// requests/s, p50/p99 latency, DynamoDB calls per request and the
// capacity units they consumed (ReturnConsumedCapacity), the process CPU
// time per request (getrusage: handler, AWS SDK and runtime work; DynamoDB
// Local runs in another process) and the bytes the function logs per
// request. -out writes the figures as JSON for ./scripts/cost; with -only,
// just the named operations are measured and their figures merged into
// the file.
// ./scripts/bench starts DynamoDB Local and runs it.
package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/licensees"
	"github.com/keyturn/keyturn/shared/messages"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/stripefake"
	"github.com/keyturn/keyturn/shared/users"
)

func main() {
	endpoint := flag.String("endpoint", os.Getenv(ddbtest.EnvEndpoint), "DynamoDB Local URL")
	n := flag.Int("n", 2000, "requests per operation")
	c := flag.Int("c", 8, "concurrent clients")
	out := flag.String("out", "", "write the results as JSON to this file")
	only := flag.String("only", "", "comma-separated operation ids to measure (default: all); with -out, the file's other operations are kept as they were measured")
	flag.Parse()
	if err := run(*endpoint, *n, *c, *out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Results is the machine-readable output (-out), read by scripts/costkit.
type Results struct {
	// Measured is the date of the run (YYYY-MM-DD).
	Measured string `json:"measured"`
	// Host describes the machine: CPU times are its CPU's.
	Host       Host        `json:"host"`
	Requests   int         `json:"requests"`
	Clients    int         `json:"clients"`
	Operations []Operation `json:"operations"`
}

// Host is where the figures were measured.
type Host struct {
	Go   string `json:"go"`
	Arch string `json:"arch"`
	CPU  string `json:"cpu"`
}

// Operation holds one operation's figures, per request unless named
// otherwise.
type Operation struct {
	// ID names the operation for scripts/costkit (e.g. "activate_new").
	ID   string `json:"id"`
	Name string `json:"name"`
	// Group is the function that serves it (shared/deploy).
	Group    string  `json:"group"`
	Method   string  `json:"method"`
	Requests int     `json:"requests"`
	ReqPerS  float64 `json:"reqPerSecond"`
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
	// Calls are the DynamoDB calls per request by operation.
	Calls map[string]float64 `json:"dynamodbCalls"`
	RCU   float64            `json:"rcu"`
	WCU   float64            `json:"wcu"`
	// BilledWCU counts transactional writes twice, as DynamoDB bills them.
	BilledWCU float64 `json:"billedWcu"`
	// CPUMs is the process CPU time per request.
	CPUMs float64 `json:"cpuMs"`
	// LogBytes and LogLines are what the function writes to stdout/stderr
	// per request; LogGzipRatio is the gzip-compressed size over the raw
	// size of those lines.
	LogBytes     float64 `json:"logBytes"`
	LogLines     float64 `json:"logLines"`
	LogGzipRatio float64 `json:"logGzipRatio"`
}

// benchMessages is how many messages GetMessages returns in the benchmark
// (about 130 bytes each): a typical page of release notes.
const benchMessages = 10

type scenario struct {
	id, name, group, method string
	// n overrides -n (CPU-heavy operations).
	n      int
	params func(i int) url.Values
}

// peerRequest is the request of a peer API scenario (instead of the Web
// API form post of params) and what a successful answer looks like.
type peerRequest struct {
	method, path string
	// query and body of request i; contentType of the body; headers
	// added to every request.
	query, body func(i int) string
	contentType string
	headers     map[string]string
	// ok reports whether an answer is the success the scenario expects.
	ok func(status int, body string) bool
}

// logMeter counts what the logger writes.
type logMeter struct {
	mu           sync.Mutex
	bytes, lines int
	gz           *gzip.Writer
	gzBytes      *countWriter
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

func (l *logMeter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bytes += len(p)
	l.lines += strings.Count(string(p), "\n")
	if l.gz != nil {
		_, _ = l.gz.Write(p)
	}
	return len(p), nil
}

func (l *logMeter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bytes, l.lines = 0, 0
	l.gzBytes = &countWriter{}
	l.gz, _ = gzip.NewWriterLevel(l.gzBytes, gzip.DefaultCompression)
}

func (l *logMeter) result() (bytes, lines int, ratio float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.gz.Close()
	if l.bytes > 0 {
		ratio = float64(l.gzBytes.n) / float64(l.bytes)
	}
	return l.bytes, l.lines, ratio
}

func run(endpoint string, n, conc int, outFile, only string) error {
	if endpoint == "" {
		return fmt.Errorf("no DynamoDB endpoint (-endpoint)")
	}
	ctx := context.Background()
	db := ddbtest.NewClient(endpoint)
	table := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	if err := dynamo.EnsureTable(ctx, db, table); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "keyturn-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sum := sha256.Sum256([]byte("bench"))
	// Stripe is stripefake in this process (its CPU time counts with the
	// function's, so the Stripe operations' CPU figures are upper bounds).
	stripe := stripefake.Start()
	defer stripe.Close()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvTable: table, config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(dir, "kek"), config.EnvAdminSecretHash: hex.EncodeToString(sum[:]),
			config.EnvStripeEndpoint: stripe.URL}[k]
	})
	if err != nil {
		return err
	}
	m := newMetered(db)
	logs := &logMeter{}
	logs.reset()
	// The logger the Lambda entry builds, at the level infra sets.
	a, err := app.New(ctx, cfg, app.NewLogger("info", logs), app.Clients{DynamoDB: m})
	if err != nil {
		return err
	}
	acc, err := a.Catalog.CreateAccount(ctx, "bench")
	if err != nil {
		return err
	}
	p, err := a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "bench"})
	if err != nil {
		return err
	}
	if _, err := a.SigningKeys.Create(ctx, acc.ID); err != nil {
		return err
	}
	token, _, err := a.Tokens.Issue(ctx, acc.ID, "bench", auth.Scope{Methods: auth.Permissions()}, "")
	if err != nil {
		return err
	}
	var fresh []keys.Record
	// n+1 keys each: the warm-up request is request n.
	for len(fresh) <= n {
		batch, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, MaxNoOfMachines: 5}, min(1000, n+1-len(fresh)))
		if err != nil {
			return err
		}
		fresh = append(fresh, batch...)
	}
	// Keys of a customer with a device limit (and a reseller).
	custName, resName := "bench customer", "bench reseller"
	cust, err := a.Customers.AddCustomer(ctx, acc.ID, customers.CustomerFields{Name: &custName, MaxNoOfDevices: new(int64(n + 10))})
	if err != nil {
		return err
	}
	res, err := a.Customers.AddReseller(ctx, acc.ID, customers.ResellerFields{Name: &resName})
	if err != nil {
		return err
	}
	var owned []keys.Record
	for len(owned) <= n {
		batch, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, MaxNoOfMachines: 5, CustomerID: cust.ID, ResellerID: res.ID}, min(1000, n+1-len(owned)))
		if err != nil {
			return err
		}
		owned = append(owned, batch...)
	}
	shared, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, MaxNoOfMachines: 100}, 1)
	if err != nil {
		return err
	}
	counter, err := a.DataObjects.Add(ctx, dataobj.Caller{AccountID: acc.ID},
		dataobj.Where{Variant: dataobj.ToKey, ProductID: p.ID, Key: shared[0].Key}, dataobj.NewObject{Name: "uses"})
	if err != nil {
		return err
	}
	if _, err := a.LicenseStore.CreateTemplate(ctx, keys.Template{AccountID: acc.ID, ProductID: p.ID, Name: "bench", Spec: keys.Spec{Period: 30}}); err != nil {
		return err
	}
	// Login reserves one of a user's few attempts per window while it
	// runs, so parallel clients log in as different users.
	const loginUsers = 16
	for i := 0; i < loginUsers; i++ {
		if _, err := a.Users.Register(ctx, acc.ID, users.Registration{Username: "bench" + strconv.Itoa(i), Password: "benchmark password"}); err != nil {
			return err
		}
	}
	klToken, _, err := a.Tokens.Issue(ctx, acc.ID, "keylock", auth.Scope{Methods: []string{"GetKey"}, KeyLock: -1}, "")
	if err != nil {
		return err
	}
	for i := 0; i < benchMessages; i++ {
		content, channel, created := strings.Repeat("v"+strconv.Itoa(i)+" is out. ", 10), "stable", int64(1000+i)
		if _, err := a.Messages.Create(ctx, acc.ID, messages.New{Content: &content, Channel: &channel, Time: &created}); err != nil {
			return err
		}
	}
	// Payments: Stripe keys, a payment form, a key billed by a meter.
	if _, err := a.StripeSettings.Set(ctx, acc.ID, payments.StripeKeys{SecretKey: stripe.SecretKey, WebhookSecret: stripe.WebhookSecret}); err != nil {
		return err
	}
	tpl, err := a.LicenseStore.CreateTemplate(ctx, keys.Template{AccountID: acc.ID, ProductID: p.ID, Name: "paid", Spec: keys.Spec{Period: 365}})
	if err != nil {
		return err
	}
	form, _, err := a.Payments.CreateForm(ctx, acc.ID, payments.FormInput{Name: "bench", Price: "19.99", Currency: "usd", TemplateID: tpl.ID})
	if err != nil {
		return err
	}
	item, _ := stripe.AddMeteredItem("bench_calls")
	if _, err := a.Metering.Link(ctx, acc.ID, p.ID, shared[0].Key, item); err != nil {
		return err
	}
	// A session of the Revulytics key registry, logged in once as its
	// scripts do.
	session, _, err := a.Sessions.Login(ctx, "bench@example.com", token)
	if err != nil {
		return err
	}
	one := shared[0].Key
	pid := strconv.FormatInt(p.ID, 10)
	// A NetLicensing licensee: a customer of the product with one key.
	lic, err := a.Licensees.Create(ctx, acc.ID, p.ID, licensees.Fields{Name: &custName}, 0, licensees.Limits{AccountWide: true})
	if err != nil {
		return err
	}
	if _, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, CustomerID: lic.CustomerID}, 1); err != nil {
		return err
	}
	apiKey := "Basic " + base64.StdEncoding.EncodeToString([]byte("apiKey:"+token))
	base := func(k string) url.Values {
		return url.Values{"token": {token}, "ProductId": {pid}, "Key": {k}, "Sign": {"true"}, "SignMethod": {"1"}, "ModelVersion": {"3"}}
	}
	tok := func(kv ...string) func(int) url.Values {
		return func(int) url.Values {
			v := url.Values{"token": {token}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
	}

	scenarios := []scenario{
		{"activate_new", "Activate (new machine)", "key", "key/Activate", 0, func(i int) url.Values {
			v := base(fresh[i].Key)
			v.Set("MachineCode", "new-"+strconv.Itoa(i))
			return v
		}},
		{"activate_repeat", "Activate (repeated machine)", "key", "key/Activate", 0, func(i int) url.Values {
			v := base(fresh[0].Key)
			v.Set("MachineCode", "new-0")
			return v
		}},
		{"activate_floating", "Activate (floating)", "key", "key/Activate", 0, func(i int) url.Values {
			v := base(one)
			v.Set("MachineCode", "float-"+strconv.Itoa(i%50))
			v.Set("FloatingTimeInterval", "300")
			return v
		}},
		{"activate_customer", "Activate (customer, limit)", "key", "key/Activate", 0, func(i int) url.Values {
			v := base(owned[i].Key)
			v.Set("MachineCode", "cust-"+strconv.Itoa(i))
			return v
		}},
		{"getkey", "GetKey (signed)", "key", "key/GetKey", 0, func(i int) url.Values { return base(fresh[i%len(fresh)].Key) }},
		{"getkey_related", "GetKey (customer+reseller)", "key", "key/GetKey", 0, func(i int) url.Values { return base(owned[i%len(owned)].Key) }},
		{"getkey_unsigned", "GetKey (unsigned)", "key", "key/GetKey", 0, func(i int) url.Values {
			v := base(fresh[i%len(fresh)].Key)
			v.Set("Sign", "false")
			return v
		}},
		{"keylock", "KeyLock", "auth", "auth/KeyLock", 0, func(i int) url.Values {
			return url.Values{"token": {klToken}, "ProductId": {pid}, "Key": {fresh[i].Key}}
		}},
		{"data_increment", "IncrementIntValue", "data", "data/IncrementIntValue", 0, tok("Id", strconv.FormatInt(counter.ID, 10), "IntValue", "1")},
		{"login", "Login (argon2id)", "userauth", "userauth/Login", min(n, 100), func(i int) url.Values {
			return tok("Username", "bench"+strconv.Itoa(i%loginUsers), "Password", "benchmark password")(i)
		}},
		{"getproducts", "GetProducts", "product", "product/GetProducts", 0, tok()},
		{"gettemplates", "GetLicenseTemplates", "licensetemplate", "licensetemplate/GetLicenseTemplates", 0, tok()},
		{"addcustomer", "AddCustomer", "customer", "customer/AddCustomer", 0, func(i int) url.Values {
			return tok("Name", "c"+strconv.Itoa(i), "Email", "c"+strconv.Itoa(i)+"@example.com", "CompanyName", "Bench AB")(i)
		}},
		{"getresellers", "GetResellers", "reseller", "reseller/GetResellers", 0, tok()},
		// An app asking for what is new in its channel since it last
		// asked: a page of benchMessages messages.
		{"getmessages", "GetMessages (channel, since)", "message", "message/GetMessages", 0, tok("Channel", "stable", "Time", "1")},
		{"createsession", "CreateSession", "paymentform", "paymentform/CreateSession", 0,
			tok("PaymentFormId", strconv.FormatInt(form.ID, 10), "Currency", "USD", "Expires", "3600")},
		{"recordusage", "RecordUsage (Stripe: stripefake)", "subscription", "subscription/RecordUsage", 0,
			tok("ProductId", pid, "Key", one, "Amount", "1")},
	}
	// Peer APIs.
	scenarios = append(scenarios,
		scenario{id: "revulytics_listkeys", name: "listKeys (10 keys, by addedDate)", group: "revulytics", method: "revulytics/listKeys"},
		scenario{id: "bytex_get", name: "Licenses/r1/Get", group: "bytex", method: "bytex/Licenses/r1/Get"},
		scenario{id: "netlicensing_validate", name: "NetLicensing validate", group: "netlicensing", method: "netlicensing/licensee/validate"},
	)
	peers := map[string]*peerRequest{
		"netlicensing_validate": {
			method: "POST", path: "/core/v2/rest/licensee/" + lic.Number + "/validate", contentType: "application/x-www-form-urlencoded",
			headers: map[string]string{"authorization": apiKey, "accept": "application/json"},
			body:    func(int) string { return "productNumber=" + pid },
			ok:      func(status int, body string) bool { return status == 200 },
		},
		"revulytics_listkeys": {
			method: "POST", path: "/licenseKeys/listKeys", contentType: "application/json",
			body: func(i int) string {
				return `{"user":"bench@example.com","sessionId":"` + session + `","productId":` + pid +
					`,"sorting":{"field":"addedDate","order":"descending"},"paging":{"startAt":` + strconv.Itoa(i%100*10) + `,"limit":10}}`
			},
			ok: func(status int, body string) bool {
				return status == 200 && strings.Contains(body, `"returnedKeysCount":10,`)
			},
		},
		"bytex_get": {
			method: "GET", path: "/API/Public/v1/Licenses/r1/Get",
			query: func(i int) string {
				return url.Values{"apiKey": {token}, "key": {owned[i%len(owned)].Key}, "productSku": {pid}}.Encode()
			},
			ok: func(status int, body string) bool {
				return status == 200 && strings.HasPrefix(body, `{"errors":[],"response":{"license":`)
			},
		},
	}
	if only != "" {
		ids := strings.Split(only, ",")
		var keep []scenario
		for _, s := range scenarios {
			if slices.Contains(ids, s.id) {
				keep = append(keep, s)
			}
		}
		if len(keep) != len(ids) {
			return fmt.Errorf("-only %s: unknown operation ids", only)
		}
		scenarios = keep
	}
	results := Results{Measured: time.Now().UTC().Format("2006-01-02"), Requests: n, Clients: conc,
		Host: Host{Go: runtime.Version(), Arch: runtime.GOARCH, CPU: cpuModel()}}
	fmt.Printf("%d requests per operation (Login %d), %d concurrent clients, DynamoDB Local %s, %s\n\n", n, min(n, 100), conc, endpoint, results.Host.CPU)
	fmt.Printf("%-28s %8s %7s %7s  %-44s %6s %6s %6s %7s %6s\n", "operation", "req/s", "p50 ms", "p99 ms", "DynamoDB calls/request", "RCU", "WCU", "billed", "CPU ms", "log B")
	handlers := map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error){}
	for _, s := range scenarios {
		h, ok := handlers[s.group]
		if !ok {
			hh, err := app.HandlerFor(a, s.group)
			if err != nil {
				return err
			}
			h = lambdaentry.Handler(hh)
			handlers[s.group] = h
		}
		op, err := measure(h, s, peers[s.id], n, conc, m, logs)
		if err != nil {
			return err
		}
		results.Operations = append(results.Operations, op)
		var calls []string
		for k, v := range op.Calls {
			calls = append(calls, fmt.Sprintf("%s %.2f", k, v))
		}
		sort.Strings(calls)
		fmt.Printf("%-28s %8.0f %7.2f %7.2f  %-44s %6.2f %6.2f %6.2f %7.3f %6.0f\n", s.name, op.ReqPerS, op.P50Ms, op.P99Ms,
			strings.Join(calls, ", "), op.RCU, op.WCU, op.BilledWCU, op.CPUMs, op.LogBytes)
	}
	if outFile != "" && only != "" {
		if results, err = merge(outFile, results); err != nil {
			return err
		}
	}
	if outFile != "" {
		if only != "" {
			if results, err = merge(outFile, results); err != nil {
				return err
			}
		}
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(outFile), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(outFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Printf("\nwrote %s\n", outFile)
	}
	return nil
}

// merge puts the operations of fresh into the results stored in file
// (replacing those with the same id, appending new ones) and keeps the
// file's other figures, date and host: for measuring a few operations
// without re-measuring the rest.
func merge(file string, fresh Results) (Results, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return Results{}, err
	}
	var old Results
	if err := json.Unmarshal(b, &old); err != nil {
		return Results{}, fmt.Errorf("%s: %w", file, err)
	}
	for _, op := range fresh.Operations {
		i := slices.IndexFunc(old.Operations, func(o Operation) bool { return o.ID == op.ID })
		if i >= 0 {
			old.Operations[i] = op
		} else {
			old.Operations = append(old.Operations, op)
		}
	}
	return old, nil
}

// measure runs one scenario: a warm-up request (token, product and
// signing-key caches filled, as in a warm function), then the measured
// requests from conc clients.
func measure(h func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error),
	s scenario, peer *peerRequest, n, conc int, m *metered, logs *logMeter) (Operation, error) {
	if s.n > 0 {
		n = s.n
	}
	if _, err := invoke(h, s, peer, n); err != nil {
		return Operation{}, err
	}
	m.reset()
	logs.reset()
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failMu sync.Mutex
	var failure error
	next := make(chan int)
	cpu0 := cpuTime()
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				_, err := invoke(h, s, peer, i)
				lat[i] = time.Since(t0)
				if err != nil {
					failMu.Lock()
					failure = err
					failMu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	if failure != nil {
		return Operation{}, failure
	}
	snap := m.snapshot()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	calls := map[string]float64{}
	for op, k := range snap.calls {
		calls[op] = round(float64(k)/float64(n), 3)
	}
	lb, ll, ratio := logs.result()
	return Operation{ID: s.id, Name: s.name, Group: s.group, Method: s.method, Requests: n,
		ReqPerS: round(float64(n)/elapsed.Seconds(), 0), P50Ms: ms(lat[n/2]), P99Ms: ms(lat[n*99/100]),
		Calls: calls, RCU: round(snap.rcu/float64(n), 3), WCU: round(snap.wcu/float64(n), 3), BilledWCU: round(snap.billedWCU/float64(n), 3),
		CPUMs: round(float64(cpu.Microseconds())/1000/float64(n), 3), LogBytes: round(float64(lb)/float64(n), 1),
		LogLines: round(float64(ll)/float64(n), 3), LogGzipRatio: round(ratio, 3)}, nil
}

// invoke sends request i of s through the Lambda handler as the runtime
// does: the event arrives as JSON and the response leaves as JSON.
func invoke(h func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), s scenario, peer *peerRequest, i int) (string, error) {
	path := "/api/" + s.method
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "ANY /api/" + s.group + "/{proxy+}", RawPath: path,
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "user-agent": "bench"}}
	ev.RequestContext.HTTP.Method = "POST"
	if p := peer; p != nil {
		path = p.path
		ev.RouteKey, ev.RawPath, ev.RequestContext.HTTP.Method = "ANY "+path, path, p.method
		ev.Headers = map[string]string{"user-agent": "bench"}
		if p.query != nil {
			ev.RawQueryString = p.query(i)
		}
		if p.body != nil {
			ev.Body, ev.Headers["content-type"] = p.body(i), p.contentType
		}
		maps.Copy(ev.Headers, p.headers)
	} else {
		ev.Body = s.params(i).Encode()
	}
	ev.RequestContext.HTTP.Path = path
	ev.RequestContext.HTTP.SourceIP = "192.0.2.1"
	ev.RequestContext.RequestID = "bench-" + strconv.Itoa(i)
	raw, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	var in events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &in); err != nil {
		return "", err
	}
	res, err := h(context.Background(), in)
	if err != nil {
		return "", err
	}
	if _, err := json.Marshal(res); err != nil {
		return "", err
	}
	ok := res.StatusCode == 200 && strings.Contains(res.Body, `"result":0`)
	if peer != nil {
		ok = peer.ok(res.StatusCode, res.Body)
	}
	if !ok {
		return "", fmt.Errorf("%s: %d %.300s", s.name, res.StatusCode, res.Body)
	}
	return res.Body, nil
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuModel names the host CPU (Linux), for the record.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

func ms(d time.Duration) float64 { return round(float64(d.Microseconds())/1000, 2) }
