// Command scalekit measures how the cost of product/GetKeys and of a new
// activation grows with a product's size and a key's machines, against
// DynamoDB Local: it bulk-loads a product with -keys keys (batched
// writes), keys with 1, 100 and -machines machines, and optionally one
// key with -bigkey machines; then, through the real HTTP handlers, it
// prints a table of DynamoDB calls, items read, read and write units
// (transactions at DynamoDB's billed rate) and p50 latency per operation.
// ./scripts/bench -scale runs it at 1,000 and 100,000 keys.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
)

func main() {
	endpoint := flag.String("endpoint", os.Getenv(ddbtest.EnvEndpoint), "DynamoDB Local URL")
	nkeys := flag.Int("keys", 1000, "keys in the product")
	machines := flag.Int("machines", 10000, "machines on the largest measured key")
	bigkey := flag.Int("bigkey", 0, "also load one key with this many machines and activate, list and deactivate on it")
	reps := flag.Int("reps", 15, "repetitions per measured operation")
	flag.Parse()
	if err := run(*endpoint, *nkeys, *machines, *bigkey, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

type rig struct {
	ctx   context.Context
	a     *app.App
	meter *ddbtest.Meter
	srv   *httptest.Server
	token string
	pid   string
	seq   int
}

func run(endpoint string, nkeys, machines, bigkey, reps int) error {
	if endpoint == "" {
		return fmt.Errorf("no DynamoDB endpoint (-endpoint)")
	}
	ctx := context.Background()
	db := ddbtest.NewClient(endpoint)
	table := fmt.Sprintf("scale_%d", time.Now().UnixNano())
	if err := dynamo.EnsureTable(ctx, db, table); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "keyturn-scale")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sum := sha256.Sum256([]byte("scale"))
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvTable: table, config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(dir, "kek"), config.EnvAdminSecretHash: hex.EncodeToString(sum[:])}[k]
	})
	if err != nil {
		return err
	}
	meter := ddbtest.NewMeter(db)
	a, err := app.New(ctx, cfg, nil, app.Clients{DynamoDB: meter})
	if err != nil {
		return err
	}
	acc, err := a.Catalog.CreateAccount(ctx, "scale")
	if err != nil {
		return err
	}
	p, err := a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "scale"})
	if err != nil {
		return err
	}
	if _, err := a.SigningKeys.Create(ctx, acc.ID); err != nil {
		return err
	}
	token, _, err := a.Tokens.Issue(ctx, acc.ID, "scale", auth.Scope{Methods: auth.Permissions()}, "")
	if err != nil {
		return err
	}
	started := time.Now()
	words := []string{"alpha", "beta", "gamma", "delta", "omega"}
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now().UTC().Truncate(time.Second)
	var recs []keys.Record
	load := func() error {
		err := a.LicenseStore.ImportKeys(ctx, recs)
		recs = recs[:0]
		return err
	}
	for i := 1; i <= nkeys+3; i++ {
		notes := words[rng.IntN(len(words))] + " " + strconv.Itoa(i)
		r := keys.Record{AccountID: acc.ID, ProductID: p.ID, ID: int64(i), GlobalID: int64(1_000_000 + i), Key: fmt.Sprintf("SCALE-%07d", i),
			Created: now, Expires: now.Add(time.Duration(rng.IntN(3650)) * 24 * time.Hour), Period: 30, Notes: &notes,
			Features: [8]bool{rng.IntN(2) == 0}}
		if i > nkeys { // the keys with 1, 100 and -machines machines (no limit)
			n := []int{1, 100, machines}[i-nkeys-1]
			r.Nodes = make(map[string]keys.Machine, n)
			for j := 0; j < n; j++ {
				r.Nodes[fmt.Sprintf("%064x", j)] = keys.Machine{IP: "192.0.2.1", Time: now, FriendlyName: "host"}
			}
		}
		recs = append(recs, r)
		if len(recs) >= 2500 || i == nkeys+3 {
			if err := load(); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(os.Stderr, "loaded %d keys and %d machines in %s\n", nkeys+3, 101+machines, time.Since(started).Round(time.Second))
	r := &rig{ctx: ctx, a: a, meter: meter, token: token, pid: strconv.FormatInt(p.ID, 10)}
	r.srv = httptest.NewServer(app.Router(a.WebAPI(app.Groups(a)...), nil))
	defer r.srv.Close()
	pages := (nkeys + 2) / keys.PageSize
	ops := []struct {
		name   string
		method string
		params func() url.Values
	}{
		{"GetKeys page 1", "product/GetKeys", func() url.Values { return url.Values{} }},
		{"GetKeys page 500", "product/GetKeys", func() url.Values { return url.Values{"Page": {"500"}} }},
		{fmt.Sprintf("GetKeys last page (%d)", pages+1), "product/GetKeys", func() url.Values { return url.Values{"Page": {strconv.Itoa(pages + 1)}} }},
		{"GetKeys OrderBy Expires page 1", "product/GetKeys", func() url.Values { return url.Values{"OrderBy": {"Expires"}} }},
		{"GetKeys OrderBy Expires page 500", "product/GetKeys", func() url.Values { return url.Values{"OrderBy": {"Expires"}, "Page": {"500"}} }},
		{`GetKeys SearchQuery F1 && Notes.StartsWith("alpha 1")`, "product/GetKeys", func() url.Values {
			return url.Values{"SearchQuery": {`F1 && Notes.StartsWith("alpha 1")`}}
		}},
	}
	type row struct {
		name string
		u    ddbtest.Usage
		n    int
		p50  time.Duration
		err  string
	}
	var rows []row
	measure := func(name, method string, params func() url.Values, reps int) {
		var lat []time.Duration
		var total ddbtest.Usage
		total.Calls = map[string]int{}
		errText := ""
		for i := 0; i < reps; i++ {
			v := params()
			v.Set("token", r.token)
			v.Set("ProductId", r.pid)
			r.meter.Take()
			t0 := time.Now()
			body, status, err := r.post(method, v)
			lat = append(lat, time.Since(t0))
			u := r.meter.Take()
			if err != nil || status != http.StatusOK || !strings.Contains(body, `"result":0`) {
				errText = fmt.Sprintf("HTTP %d %.120s %v", status, body, err)
			}
			for k, c := range u.Calls {
				total.Calls[k] += c
			}
			total.ItemsRead += u.ItemsRead
			total.RCU += u.RCU
			total.WCU += u.WCU
			total.BilledWCU += u.BilledWCU
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		rows = append(rows, row{name: name, u: total, n: reps, p50: lat[len(lat)/2], err: errText})
	}
	for _, op := range ops {
		measure(op.name, op.method, op.params, reps)
	}
	for i, n := range []int{1, 100, machines} {
		key := fmt.Sprintf("SCALE-%07d", nkeys+1+i)
		measure(fmt.Sprintf("Activate new machine, key with %d machines", n), "key/Activate", func() url.Values {
			r.seq++
			return url.Values{"Key": {key}, "MachineCode": {fmt.Sprintf("new-%d", r.seq)}, "Sign": {"true"}, "SignMethod": {"1"}}
		}, reps)
		measure(fmt.Sprintf("Activate repeat machine, key with %d machines", n), "key/Activate", func() url.Values {
			return url.Values{"Key": {key}, "MachineCode": {fmt.Sprintf("%064x", 0)}, "Sign": {"true"}, "SignMethod": {"1"}}
		}, reps)
	}
	if bigkey > 0 {
		if err := r.bigKey(nkeys+10, bigkey, now, func(name, method string, params func() url.Values) {
			measure(name, method, params, 3)
		}); err != nil {
			return err
		}
	}
	fmt.Printf("\nScale benchmark: product with %d keys (+3 keys with 1, 100 and %d machines) on DynamoDB Local; per operation, averaged over the repetitions\n\n", nkeys, machines)
	fmt.Println("| operation | DynamoDB calls | items read | RCU | WCU billed | p50 | errors |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, rw := range rows {
		f := float64(rw.n)
		e := rw.err
		if e == "" {
			e = "none"
		}
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", rw.name, float64(rw.u.TotalCalls())/f, float64(rw.u.ItemsRead)/f,
			rw.u.RCU/f, rw.u.BilledWCU/f, rw.p50.Round(100*time.Microsecond), e)
	}
	return nil
}

// post calls a Web API method and returns the body and status.
func (r *rig) post(method string, v url.Values) (string, int, error) {
	res, err := http.Post(r.srv.URL+"/api/"+method, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		return "", 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), res.StatusCode, err
}

// bigKey loads one key without a machine limit holding n machines and
// measures a new activation, a repeat activation, a GetKey and a
// deactivation on it.
func (r *rig) bigKey(id, n int, now time.Time, measure func(name, method string, params func() url.Values)) error {
	key := "SCALE-BIGKEY"
	pid, _ := strconv.ParseInt(r.pid, 10, 64)
	acct := int64(0)
	if rec, err := r.a.LicenseStore.GetKey(r.ctx, pid, fmt.Sprintf("SCALE-%07d", 1), false); err == nil {
		acct = rec.AccountID
	}
	started := time.Now()
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		nodes := map[string]keys.Machine{}
		for j := start; j < min(start+chunk, n); j++ {
			nodes[fmt.Sprintf("big-%08d", j)] = keys.Machine{IP: "192.0.2.2", Time: now}
		}
		rec := keys.Record{AccountID: acct, ProductID: pid, ID: int64(id), GlobalID: int64(9_000_000 + id), Key: key,
			Created: now, Expires: now.Add(365 * 24 * time.Hour), Nodes: nodes}
		if err := r.a.LicenseStore.ImportKeys(r.ctx, []keys.Record{rec}); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "loaded a key with %d machines in %s\n", n, time.Since(started).Round(time.Second))
	var mu sync.Mutex
	measure(fmt.Sprintf("Activate new machine, key with %d machines", n), "key/Activate", func() url.Values {
		mu.Lock()
		defer mu.Unlock()
		r.seq++
		return url.Values{"Key": {key}, "MachineCode": {fmt.Sprintf("big-new-%d", r.seq)}, "Sign": {"true"}, "SignMethod": {"1"}}
	})
	measure(fmt.Sprintf("Activate repeat machine, key with %d machines", n), "key/Activate", func() url.Values {
		return url.Values{"Key": {key}, "MachineCode": {"big-00099999"}, "Sign": {"true"}, "SignMethod": {"1"}}
	})
	measure(fmt.Sprintf("GetKey, key with %d machines", n), "key/GetKey", func() url.Values {
		return url.Values{"Key": {key}, "Sign": {"true"}, "SignMethod": {"1"}}
	})
	measure(fmt.Sprintf("Deactivate, key with %d machines", n), "key/Deactivate", func() url.Values {
		mu.Lock()
		defer mu.Unlock()
		r.seq++
		return url.Values{"Key": {key}, "MachineCode": {fmt.Sprintf("big-%08d", r.seq)}}
	})
	return nil
}
