// Command benchkit measures the key API against DynamoDB Local: for each
// operation it prints requests/s, p50/p99 latency, DynamoDB calls per
// request and the capacity units they consumed (ReturnConsumedCapacity).
// ./scripts/bench starts DynamoDB Local and runs it; the handlers' CPU time
// per request without I/O comes from the Go benchmarks it runs after.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
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
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
)

func main() {
	endpoint := flag.String("endpoint", os.Getenv(ddbtest.EnvEndpoint), "DynamoDB Local URL")
	n := flag.Int("n", 2000, "requests per operation")
	c := flag.Int("c", 8, "concurrent clients")
	flag.Parse()
	if err := run(*endpoint, *n, *c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type scenario struct {
	name   string
	params func(i int) url.Values
	method string
}

func run(endpoint string, n, conc int) error {
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
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvTable: table, config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(dir, "kek"), config.EnvAdminSecretHash: hex.EncodeToString(sum[:])}[k]
	})
	if err != nil {
		return err
	}
	m := newMetered(db)
	a, err := app.New(ctx, cfg, nil, app.Clients{DynamoDB: m})
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
	for len(fresh) < n {
		batch, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, MaxNoOfMachines: 5}, min(1000, n-len(fresh)))
		if err != nil {
			return err
		}
		fresh = append(fresh, batch...)
	}
	// Keys of a customer with a device limit (and a reseller).
	custName, resName := "bench customer", "bench reseller"
	cust, err := a.Customers.AddCustomer(ctx, acc.ID, customers.CustomerFields{Name: &custName, MaxNoOfDevices: ptr(int64(n + 10))})
	if err != nil {
		return err
	}
	res, err := a.Customers.AddReseller(ctx, acc.ID, customers.ResellerFields{Name: &resName})
	if err != nil {
		return err
	}
	var owned []keys.Record
	for len(owned) < n {
		batch, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, MaxNoOfMachines: 5, CustomerID: cust.ID, ResellerID: res.ID}, min(1000, n-len(owned)))
		if err != nil {
			return err
		}
		owned = append(owned, batch...)
	}
	shared, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, MaxNoOfMachines: 100}, 1)
	if err != nil {
		return err
	}
	one := shared[0].Key
	pid := strconv.FormatInt(p.ID, 10)
	base := func(k string) url.Values {
		return url.Values{"token": {token}, "ProductId": {pid}, "Key": {k}, "Sign": {"true"}, "SignMethod": {"1"}, "ModelVersion": {"3"}}
	}
	srv := httptest.NewServer(app.Router(a.WebAPI(app.Groups(a)...), nil))
	defer srv.Close()

	scenarios := []scenario{
		{"Activate (new machine)", func(i int) url.Values {
			v := base(fresh[i].Key)
			v.Set("MachineCode", "new-"+strconv.Itoa(i))
			return v
		}, "key/Activate"},
		{"Activate (repeated machine)", func(i int) url.Values {
			v := base(fresh[0].Key)
			v.Set("MachineCode", "new-0")
			return v
		}, "key/Activate"},
		{"Activate (floating)", func(i int) url.Values {
			v := base(one)
			v.Set("MachineCode", "float-"+strconv.Itoa(i%50))
			v.Set("FloatingTimeInterval", "300")
			return v
		}, "key/Activate"},
		{"Activate (customer, limit)", func(i int) url.Values {
			v := base(owned[i].Key)
			v.Set("MachineCode", "cust-"+strconv.Itoa(i))
			return v
		}, "key/Activate"},
		{"GetKey (signed)", func(i int) url.Values { return base(fresh[i%len(fresh)].Key) }, "key/GetKey"},
		{"GetKey (customer+reseller)", func(i int) url.Values { return base(owned[i%len(owned)].Key) }, "key/GetKey"},
		{"GetKey (unsigned)", func(i int) url.Values {
			v := base(fresh[i%len(fresh)].Key)
			v.Set("Sign", "false")
			return v
		}, "key/GetKey"},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	fmt.Printf("%d requests per operation, %d concurrent clients, DynamoDB Local %s\n\n", n, conc, endpoint)
	fmt.Printf("%-28s %9s %8s %8s  %-40s %8s %8s %10s\n", "operation", "req/s", "p50 ms", "p99 ms", "DynamoDB calls/request", "RCU/req", "WCU/req", "billed WCU")
	for _, s := range scenarios {
		// Warm up caches (token, product, signing key) outside the measurement.
		if _, err := post(client, srv.URL+"/api/"+s.method, s.params(0)); err != nil {
			return err
		}
		m.reset()
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		var failMu sync.Mutex
		var failure error
		next := make(chan int)
		start := time.Now()
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					t0 := time.Now()
					body, err := post(client, srv.URL+"/api/"+s.method, s.params(i))
					lat[i] = time.Since(t0)
					if err == nil && !strings.Contains(body, `"result":0`) {
						err = fmt.Errorf("%s: %s", s.name, body)
					}
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
		if failure != nil {
			return failure
		}
		snap := m.snapshot()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		var calls []string
		for op, k := range snap.calls {
			calls = append(calls, fmt.Sprintf("%s %.2f", op, float64(k)/float64(n)))
		}
		sort.Strings(calls)
		fmt.Printf("%-28s %9.0f %8.2f %8.2f  %-40s %8.2f %8.2f %10.2f\n", s.name, float64(n)/elapsed.Seconds(),
			ms(lat[n/2]), ms(lat[n*99/100]), strings.Join(calls, ", "), snap.rcu/float64(n), snap.wcu/float64(n), snap.billedWCU/float64(n))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func post(c *http.Client, u string, v url.Values) (string, error) {
	res, err := c.PostForm(u, v)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}
