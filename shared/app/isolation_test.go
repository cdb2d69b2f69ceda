package app_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
)

// TestTenantIsolation: tokens of account B with every permission (one
// without locks, one with key lock -1, which enables auth/KeyLock) call
// every registered Web API method with account A's ids: product ids, key
// strings, global ids, machine codes, customer id and secret, reseller and
// template ids, user name and password, data object ids and names. Every
// answer is an error envelope, or, for the calls that name nothing of A's
// (listing or creating B's own data), B's own data without any of A's.
// A's items are byte-for-byte unchanged afterwards, and no item created
// meanwhile belongs to A.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.newWorld("alpha")
	before := e.snapshot() // A's items and the service-wide counters
	b := e.newWorld("bravo")
	mid := e.snapshot()
	tokens := map[string]string{
		"every permission":              b.token,
		"every permission, key lock -1": e.token(b.fixture, map[string]any{"methods": []string{"*"}, "keyLock": -1}),
	}
	// Every name in A's world carries "alpha"; keys and secrets do not.
	markers := []string{"alpha", a.k1, a.k2, a.k3, a.secret}
	for name, tok := range tokens {
		for i := 1; i <= 2; i++ {
			for _, r := range e.runProbes(t, tok, a.targetKey(i)) {
				if l := leaks(r.body, markers); len(l) > 0 {
					t.Errorf("%s, %s %v: the answer shows A's %v: %.300s", name, r.name(), r.probe.params, l, r.body)
				}
				if r.ok && !r.probe.own {
					t.Errorf("%s, %s %v: succeeded with A's ids: %.300s", name, r.name(), r.probe.params, r.body)
				}
			}
		}
	}
	after := e.snapshot()
	for k, v := range before {
		if globalCounter(k) {
			continue
		}
		if got, ok := after[k]; !ok {
			t.Errorf("A's item %s was removed", k)
		} else if got != v {
			t.Errorf("A's item %s changed:\n before %s\n after  %s", k, v, got)
		}
	}
	for k, v := range after {
		if _, old := mid[k]; old {
			continue
		}
		if a.owns(v) {
			t.Errorf("a new item %s belongs to A: %s", k, v)
		}
	}
}

// partitionOwner matches partition keys that start with the id of their
// account (A#, UL#, DO#, LE#, ...) or product (K#, TRIAL#).
var partitionOwner = regexp.MustCompile(`^(A|CS|CE|C|R|DO|DOI|CD|UL|CU|LT|K|TRIAL|LE|LC|LN|MSG|MSGI)#([0-9]+)(#|$)`)

// owns reports whether an item (JSON) belongs to the world's account: by
// its accountId or by a partition key under its account or products.
func (w world) owns(item string) bool {
	var m map[string]any
	_ = json.Unmarshal([]byte(item), &m)
	if acc, ok := m["accountId"].(float64); ok && int64(acc) == w.account {
		return true
	}
	pk, _ := m["pk"].(string)
	sub := partitionOwner.FindStringSubmatch(pk)
	if sub == nil {
		return false
	}
	id, _ := strconv.ParseInt(sub[2], 10, 64)
	if sub[1] == "K" || sub[1] == "TRIAL" {
		return id == w.p1 || id == w.p2
	}
	return id == w.account
}
