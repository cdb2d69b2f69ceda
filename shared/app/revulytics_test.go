package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/handlers/revulytics"
	"github.com/keyturn/keyturn/shared/keys"
)

// rev posts a JSON body (a string is sent as is) to a Revulytics path of
// base and returns the status, the body and the response.
func rev(t *testing.T, base, path string, body any, cookies ...*http.Cookie) (int, string, *http.Response) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/javascript")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out), res
}

// signingKey gives f's account a signing key (Activate signs).
func (e *env) signingKey(f fixture) {
	e.t.Helper()
	e.mustAdmin("POST", "/admin/accounts/"+strconv.FormatInt(f.account, 10)+"/signing-keys", nil, nil)
}

// revLogin logs token in as user and returns the session id.
func (e *env) revLogin(user, token string) string {
	e.t.Helper()
	status, body, _ := rev(e.t, e.url, "/auth/login", map[string]any{"user": user, "password": token})
	var out struct{ Status, SessionID string }
	if err := json.Unmarshal([]byte(body), &out); err != nil || status != 200 || out.Status != "OK" || out.SessionID == "" {
		e.t.Fatalf("login = %d %s", status, body)
	}
	return out.SessionID
}

type revResult struct {
	LicenseKey    string `json:"licenseKey"`
	LicenseType   string `json:"licenseType"`
	LicenseStatus struct {
		Activated, Blocked, Expired, Allowed bool
	} `json:"licenseStatus"`
	ExpiryDate     *string         `json:"expiryDate"`
	InstallQuota   int64           `json:"installQuota"`
	InstallCount   int64           `json:"installCount"`
	OverQuotaCount int64           `json:"overQuotaCount"`
	AddedDate      string          `json:"addedDate"`
	AutoCollected  bool            `json:"autoCollected"`
	LastEditedDate *string         `json:"lastEditedDate"`
	LastEditedBy   json.RawMessage `json:"lastEditedBy"`
	Notes          *string         `json:"notes"`
}

type revList struct {
	Status            string      `json:"status"`
	Reason            string      `json:"reason"`
	ReturnedKeysCount int         `json:"returnedKeysCount"`
	MatchingKeysCount int64       `json:"matchingKeysCount"`
	Results           []revResult `json:"results"`
}

// listKeys calls listKeys with a session and the request members in.
func (e *env) listKeys(user, session string, product int64, in map[string]any) (int, revList, string) {
	e.t.Helper()
	body := map[string]any{"user": user, "sessionId": session, "productId": product}
	for k, v := range in {
		body[k] = v
	}
	status, raw, _ := rev(e.t, e.url, "/licenseKeys/listKeys", body)
	var out revList
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		e.t.Fatalf("listKeys: %d %s", status, raw)
	}
	return status, out, raw
}

func resultKeys(l revList) []string {
	out := []string{}
	for _, r := range l.Results {
		out = append(out, r.LicenseKey)
	}
	return out
}

// fixedReader yields b, then fails.
type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// machines returns n node-locked machines.
func machines(n int, at time.Time) map[string]keys.Machine {
	out := make(map[string]keys.Machine, n)
	for i := 0; i < n; i++ {
		out[fmt.Sprintf("machine-%05d", i)] = keys.Machine{Time: at, IP: "192.0.2.1", Slot: keys.NoSlot}
	}
	return out
}

// TestRevulyticsGolden: the documented listKeys example. The product has
// the example's id, the session the example's id (the session id comes
// from the injected randomness), and the keys are imported so that the
// example's two keys are the last page of 22 matching keys sorted by
// overQuotaCount descending (20 more keys are over quota by more than 500;
// three more fail the addedDate, overQuotaCount and licenseStatus filters).
// The example request, byte for byte, gets the documented response (see
// testdata/revulytics/README.md for the one difference, the results'
// order).
func TestRevulyticsGolden(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The next product id is the example's.
	if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "COUNTER"}, "sk": &types.AttributeValueMemberS{Value: "product"},
		"n": &types.AttributeValueMemberN{Value: "12345678900"}}}); err != nil {
		t.Fatal(err)
	}
	f := e.setup("revulytics", "GetKeys")
	if f.product != 12345678901 {
		t.Fatalf("product id %d", f.product)
	}
	editorToken := e.token(f, map[string]any{"name": "Revulytics Demonstration <demo@revulytics.com>", "methods": []string{"GetKeys"}})
	editorID, _, err := auth.Decode(editorToken)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02T15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	edited := at("2017-07-24T08:10:19")
	var recs []keys.Record
	add := func(r keys.Record) {
		r.AccountID, r.ProductID, r.ID, r.GlobalID = f.account, f.product, int64(len(recs)+1), 900000+int64(len(recs)+1)
		if r.Expires.IsZero() {
			r.Expires = r.Created.Add(365 * 24 * time.Hour)
		}
		recs = append(recs, r)
	}
	for i := 0; i < 20; i++ {
		add(keys.Record{Key: fmt.Sprintf("filler-%02d", i), Created: at("2017-07-01T00:00:00").Add(time.Duration(i) * time.Minute),
			MaxNoOfMachines: 1, Nodes: machines(502+i, edited), Edited: edited, EditedBy: editorID})
	}
	add(keys.Record{Key: "14e7821b-694d-4d2d-90c2-adb10c07df0c", LicenseType: "purchased", Block: true, Features: [8]bool{true},
		Created: at("2017-07-24T08:18:28"), Expires: at("2018-05-17T12:00:00"), MaxNoOfMachines: 2, Nodes: machines(27, edited),
		Edited: edited, EditedBy: editorID})
	add(keys.Record{Key: "70cda86c-46c3-4399-b358-9e762ed1fcf5", Block: true, AutoCollected: true,
		Created: at("2017-07-24T08:18:30"), MaxNoOfMachines: 1, Nodes: machines(501, edited), Edited: edited, EditedBy: editorID})
	add(keys.Record{Key: "added-too-early", Created: at("2017-06-20T23:59:59"), MaxNoOfMachines: 1, Nodes: machines(5, edited)})
	add(keys.Record{Key: "within-quota", Created: at("2017-07-02T00:00:00"), MaxNoOfMachines: 5, Nodes: machines(5, edited)})
	add(keys.Record{Key: "blocked-and-expired", Block: true, Features: [8]bool{true}, Created: at("2017-07-02T00:00:00"),
		Expires: at("2017-07-10T00:00:00"), MaxNoOfMachines: 1, Nodes: machines(3, edited)})
	var wg sync.WaitGroup
	errs := make([]error, len(recs))
	sem := make(chan struct{}, 8)
	for i, r := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = e.app.LicenseStore.ImportKeys(ctx, []keys.Record{r})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	id, err := base64.RawURLEncoding.DecodeString("VSB8E2BzSC2eZSJm4QmTpA")
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return at("2017-07-25T09:00:00") }
	// The filters read every key's activations (10,000 machines); the
	// budget bounds production calls, not this test's slow -race run.
	e.app.Listing.Budget = 2 * time.Minute
	h := revulytics.New(revulytics.Deps{Sessions: auth.NewSessions(e.app.Tokens, e.app.CatalogStore, time.Now, &fixedReader{id}, 0),
		Products: e.app.Products, Listing: e.app.Listing, Editors: e.app.Tokens, Now: clock})
	srv := httptest.NewServer(h)
	defer srv.Close()
	status, body, res := rev(t, srv.URL, "/auth/login", map[string]any{"user": "testuser@test.com", "password": f.token})
	if want := `{"status":"OK","sessionId":"VSB8E2BzSC2eZSJm4QmTpA"}`; status != 200 || body != want {
		t.Fatalf("login = %d %s, want 200 %s", status, body, want)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("login Content-Type %q, want text/javascript", ct)
	}
	req, err := os.ReadFile(filepath.Join("testdata", "revulytics", "listKeys.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "revulytics", "listKeys.response.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, golden); err != nil {
		t.Fatal(err)
	}
	status, body, res = rev(t, srv.URL, "/licenseKeys/listKeys", string(req))
	if status != 200 || body != want.String() {
		t.Errorf("listKeys =\n%d %s\nwant\n200 %s", status, body, want.String())
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("listKeys Content-Type %q, want application/json", ct)
	}
}

// revWorld is a product with keys of every kind, made through Web API 3.
type revWorld struct {
	f                                                    fixture
	session                                              string
	plain, typed, blocked, expired, allowed, trial, busy string
	created                                              time.Time
}

// newRevWorld: plain (no limit, permanent), typed (license type
// purchased, time-limited, 2 machines, activated on one), blocked
// (blocked, activated), expired (time-limited, expired yesterday),
// allowed (AllowedMachines, over its limit of 1 by one machine), trial
// (CreateTrialKey: auto-collected evaluation key, activated), busy (3
// machines of 3). Keys are created in that order.
func (e *env) newRevWorld() revWorld {
	e.t.Helper()
	w := revWorld{f: e.setup("registry", "*"), created: time.Now().UTC()}
	e.signingKey(w.f)
	pid := strconv.FormatInt(w.f.product, 10)
	activate := func(k, m string) {
		if _, r := e.activate(w.f, "Key", k, "MachineCode", m); r.Result != 0 {
			e.t.Fatalf("Activate %s on %s: %s", k, m, r.Message)
		}
	}
	w.plain = e.createKey(w.f, "Notes", "plain notes")
	w.typed = e.createKey(w.f, "LicenseType", "Purchased", "F1", "true", "Period", "30", "MaxNoOfMachines", "2")
	activate(w.typed, "t1")
	w.blocked = e.createKey(w.f, "MaxNoOfMachines", "1")
	activate(w.blocked, "b1")
	if got := e.post("key/BlockKey", "token", w.f.token, "ProductId", pid, "Key", w.blocked); got != ok {
		e.t.Fatalf("BlockKey = %s", got)
	}
	w.expired = e.createKey(w.f, "F1", "true", "Period", "1", "LicenseType", "nfr")
	if got := e.post("key/ExtendLicense", "token", w.f.token, "ProductId", pid, "Key", w.expired, "NoOfDays", "-2"); got != ok {
		e.t.Fatalf("ExtendLicense = %s", got)
	}
	w.allowed = e.createKey(w.f, "MaxNoOfMachines", "1", "AllowedMachines", "a2")
	activate(w.allowed, "a1")
	activate(w.allowed, "a2")
	body := e.post("key/CreateTrialKey", "token", w.f.token, "ProductId", pid, "MachineCode", "trial-machine")
	var tr struct{ Key string }
	if err := json.Unmarshal([]byte(body), &tr); err != nil || tr.Key == "" {
		e.t.Fatalf("CreateTrialKey = %s", body)
	}
	w.trial = tr.Key
	w.busy = e.createKey(w.f, "MaxNoOfMachines", "3")
	for _, m := range []string{"x1", "x2", "x3"} {
		activate(w.busy, m)
	}
	w.session = e.revLogin("ops@example.com", w.f.token)
	return w
}

// TestRevulyticsFilters: every filter, each sort field and paging against
// keys made through Web API 3 (AND within a licenseStatus object, OR
// across objects).
func TestRevulyticsFilters(t *testing.T) {
	e := newEnv(t)
	w := e.newRevWorld()
	all := []string{w.plain, w.typed, w.blocked, w.expired, w.allowed, w.trial, w.busy}
	today := w.created.Format("2006-01-02")
	tomorrow := w.created.Add(24 * time.Hour).Format("2006-01-02")
	in := func(f map[string]any) map[string]any { return map[string]any{"filters": f} }
	str := func(typ string, v any) map[string]any { return map[string]any{"type": typ, "value": v} }
	cases := []struct {
		name string
		req  map[string]any
		want []string
	}{
		{"no filter", nil, all},
		{"licenseKey string", in(map[string]any{"licenseKey": str("string", w.typed)}), []string{w.typed}},
		{"licenseKey stringArray", in(map[string]any{"licenseKey": str("stringArray", []string{w.busy, "NOPE", w.plain})}), []string{w.plain, w.busy}},
		{"licenseKey regex", in(map[string]any{"licenseKey": str("regex", "^"+w.expired[:11])}), []string{w.expired}},
		{"licenseType string", in(map[string]any{"licenseType": str("string", "purchased")}), []string{w.typed}},
		{"licenseType unknown", in(map[string]any{"licenseType": str("string", "Unknown")}), []string{w.plain, w.blocked, w.allowed, w.busy}},
		{"licenseType stringArray", in(map[string]any{"licenseType": str("stringArray", []string{"nfr", "evaluation"})}), []string{w.expired, w.trial}},
		{"licenseType regex", in(map[string]any{"licenseType": str("regex", "^(pur|eva)")}), []string{w.typed, w.trial}},
		{"addedDate today", in(map[string]any{"addedDate": map[string]any{"type": "date", "value": today}}), all},
		{"addedDate from tomorrow", in(map[string]any{"addedDate": map[string]any{"type": "dateRange", "min": tomorrow}}), nil},
		{"addedDate until a time", in(map[string]any{"addedDate": map[string]any{"type": "dateRange", "max": "2000-01-01T00:00:00"}}), nil},
		{"expiryDate from today", in(map[string]any{"expiryDate": map[string]any{"type": "dateRange", "min": today}}), []string{w.typed, w.trial}},
		{"expiryDate until today", in(map[string]any{"expiryDate": map[string]any{"type": "dateRange", "max": today}}), []string{w.expired}},
		{"expiryDate any", in(map[string]any{"expiryDate": map[string]any{"type": "dateRange", "min": "2000-01-01"}}), []string{w.typed, w.expired, w.trial}},
		{"autoCollected", in(map[string]any{"autoCollected": true}), []string{w.trial}},
		{"not autoCollected", in(map[string]any{"autoCollected": false}), []string{w.plain, w.typed, w.blocked, w.expired, w.allowed, w.busy}},
		{"overQuotaCount over", in(map[string]any{"overQuotaCount": map[string]any{"type": "numberRange", "min": 1}}), []string{w.allowed}},
		{"overQuotaCount exactly 0", in(map[string]any{"overQuotaCount": map[string]any{"type": "number", "value": 0}}), []string{w.blocked, w.trial, w.busy}},
		{"overQuotaCount range", in(map[string]any{"overQuotaCount": map[string]any{"type": "numberRange", "min": -1.5, "max": 0}}),
			[]string{w.typed, w.blocked, w.trial, w.busy}},
		{"status activated", in(map[string]any{"licenseStatus": []any{map[string]any{"activated": true}}}), []string{w.typed, w.allowed, w.trial, w.busy}},
		{"status blocked", in(map[string]any{"licenseStatus": []any{map[string]any{"blocked": true}}}), []string{w.blocked}},
		{"status expired", in(map[string]any{"licenseStatus": []any{map[string]any{"expired": true}}}), []string{w.expired}},
		{"status allowed", in(map[string]any{"licenseStatus": []any{map[string]any{"allowed": true}}}), []string{w.allowed}},
		{"status AND within an object", in(map[string]any{"licenseStatus": []any{map[string]any{"activated": false, "expired": false}}}),
			[]string{w.plain, w.blocked}},
		{"status OR across objects", in(map[string]any{"licenseStatus": []any{
			map[string]any{"activated": false, "expired": false}, map[string]any{"allowed": true}}}), []string{w.plain, w.blocked, w.allowed}},
		{"status empty object matches all", in(map[string]any{"licenseStatus": []any{map[string]any{}}}), all},
		{"status empty array: no status filter", in(map[string]any{"licenseStatus": []any{}}), all},
		{"filters together", in(map[string]any{"autoCollected": false, "licenseStatus": []any{map[string]any{"activated": true}},
			"overQuotaCount": map[string]any{"type": "numberRange", "max": 0}}), []string{w.typed, w.busy}},
	}
	for _, c := range cases {
		status, got, raw := e.listKeys("ops@example.com", w.session, w.f.product, c.req)
		want := c.want
		if want == nil {
			want = []string{}
		}
		if status != 200 || got.Status != "OK" || !slices.Equal(resultKeys(got), want) || got.MatchingKeysCount != int64(len(want)) ||
			got.ReturnedKeysCount != len(want) {
			t.Errorf("%s: %d %s\nwant keys %v", c.name, status, raw, want)
		}
	}

	// Sorting (ties by id, in the creation order above) and paging.
	sorts := []struct {
		field, order string
		want         []string
	}{
		{"addedDate", "descending", []string{w.busy, w.trial, w.allowed, w.expired, w.blocked, w.typed, w.plain}},
		{"installCount", "descending", []string{w.busy, w.allowed, w.trial, w.blocked, w.typed, w.expired, w.plain}},
		{"installQuota", "ascending", []string{w.blocked, w.allowed, w.trial, w.typed, w.busy, w.plain, w.expired}},
		{"overQuotaCount", "descending", []string{w.allowed, w.busy, w.trial, w.blocked, w.typed, w.expired, w.plain}},
		{"expiryDate", "ascending", []string{w.plain, w.blocked, w.allowed, w.busy, w.expired, w.trial, w.typed}},
		{"licenseType", "ascending", []string{w.trial, w.expired, w.typed, w.plain, w.blocked, w.allowed, w.busy}},
		{"autoCollected", "descending", []string{w.trial, w.busy, w.allowed, w.expired, w.blocked, w.typed, w.plain}},
	}
	for _, s := range sorts {
		_, got, raw := e.listKeys("ops@example.com", w.session, w.f.product, map[string]any{"sorting": map[string]any{"field": s.field, "order": s.order}})
		if !slices.Equal(resultKeys(got), s.want) {
			t.Errorf("sort by %s %s: %s\nwant %v", s.field, s.order, raw, s.want)
		}
		_, page, raw := e.listKeys("ops@example.com", w.session, w.f.product, map[string]any{
			"sorting": map[string]any{"field": s.field, "order": s.order}, "paging": map[string]any{"startAt": 2, "limit": 3}})
		if !slices.Equal(resultKeys(page), s.want[2:5]) || page.MatchingKeysCount != 7 || page.ReturnedKeysCount != 3 {
			t.Errorf("sort by %s %s, keys 2..4: %s\nwant %v", s.field, s.order, raw, s.want[2:5])
		}
	}
}

// TestRevulyticsFollowsWebAPI: the registry is computed from the keys, so
// Web API 3 changes show at once: a new key (with its license type and
// creator), activations, blocking, extending, notes, the machine limit.
func TestRevulyticsFollowsWebAPI(t *testing.T) {
	// Without a token cache a removed token is gone at once.
	e := newEnvWith(t, envOptions{env: map[string]string{config.EnvTokenCacheSecond: "0"}})
	f := e.setup("follow", "*")
	e.signingKey(f)
	writer := e.token(f, map[string]any{"name": "Ada Lovelace <ada@example.com>", "methods": []string{"*"}})
	w := fixture{account: f.account, product: f.product, token: writer}
	session := e.revLogin("ops", f.token)
	pid := strconv.FormatInt(f.product, 10)
	k := e.createKey(w, "LicenseType", "freeware", "MaxNoOfMachines", "2", "F1", "true", "Period", "10")
	one := func(what string) revResult {
		t.Helper()
		status, l, raw := e.listKeys("ops", session, f.product, map[string]any{"filters": map[string]any{"licenseKey": map[string]any{"type": "string", "value": k}}})
		if status != 200 || len(l.Results) != 1 {
			t.Fatalf("%s: %d %s", what, status, raw)
		}
		return l.Results[0]
	}
	r := one("created")
	if r.LicenseType != "freeware" || r.InstallQuota != 2 || r.InstallCount != 0 || r.OverQuotaCount != -2 || r.LicenseStatus.Activated ||
		r.AutoCollected || r.LastEditedDate == nil || string(r.LastEditedBy) != `{"name":"Ada","surname":"Lovelace","email":"ada@example.com"}` ||
		r.ExpiryDate == nil || *r.ExpiryDate != time.Now().UTC().Add(10*24*time.Hour).Format("2006-01-02") {
		t.Errorf("created: %+v %s", r, r.LastEditedBy)
	}
	if _, a := e.activate(f, "Key", k, "MachineCode", "m1"); a.Result != 0 {
		t.Fatal(a.Message)
	}
	if r := one("activated"); r.InstallCount != 1 || r.OverQuotaCount != -1 || !r.LicenseStatus.Activated {
		t.Errorf("after Activate: %+v", r)
	}
	if got := e.post("key/BlockKey", "token", f.token, "ProductId", pid, "Key", k); got != ok {
		t.Fatal(got)
	}
	if r := one("blocked"); !r.LicenseStatus.Blocked || r.LicenseStatus.Activated || string(r.LastEditedBy) != `{"name":"t","surname":"","email":""}` {
		t.Errorf("after BlockKey with another token: %+v %s", r, r.LastEditedBy)
	}
	for _, call := range [][]string{
		{"key/ExtendLicense", "NoOfDays", "5"}, {"key/MachineLockLimit", "NumberOfMachines", "0"}, {"key/ChangeNotes", "Notes", "edited"},
	} {
		if got := e.post(call[0], "token", writer, "ProductId", pid, "Key", k, call[1], call[2]); got != ok {
			t.Fatalf("%s = %s", call[0], got)
		}
	}
	r = one("edited")
	if *r.ExpiryDate != time.Now().UTC().Add(15*24*time.Hour).Format("2006-01-02") || r.InstallQuota != revulytics.UnlimitedQuota ||
		r.Notes == nil || *r.Notes != "edited" || string(r.LastEditedBy) != `{"name":"Ada","surname":"Lovelace","email":"ada@example.com"}` {
		t.Errorf("after ExtendLicense, MachineLockLimit 0 and ChangeNotes: %+v %s", r, r.LastEditedBy)
	}
	// A removed editor is an empty object, as the reference shows a user
	// who requested account deletion.
	id, _, _ := auth.Decode(writer)
	if code := e.admin("DELETE", "/admin/accounts/"+strconv.FormatInt(f.account, 10)+"/tokens/"+id, nil, nil); code >= 300 {
		t.Fatalf("delete token: %d", code)
	}
	if r := one("editor removed"); string(r.LastEditedBy) != `{}` {
		t.Errorf("editor removed: %s", r.LastEditedBy)
	}
}

// TestRevulyticsErrors: malformed requests are SYNTAX ERROR (400) with a
// reason, missing or wrong credentials AUTH ERROR (401 without a valid
// session, 403 for wrong credentials and refused access), never a 500.
func TestRevulyticsErrors(t *testing.T) {
	e := newEnv(t)
	w := e.newRevWorld()
	noKeys := e.token(w.f, map[string]any{"name": "no-getkeys", "methods": []string{"GetKey"}})
	other := e.setup("other", "*")
	locked := e.token(w.f, map[string]any{"name": "locked", "methods": []string{"GetKeys"}, "productLock": e.setupProduct(w.f, "second")})
	s := w.session
	pid := w.f.product
	base := map[string]any{"user": "ops@example.com", "sessionId": s, "productId": pid}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name, path string
		body       any
		status     int
		want       string // status member and the start of the reason
	}{
		{"login without password", "/auth/login", map[string]any{"user": "u"}, 400, "SYNTAX ERROR: Both user and password"},
		{"login with a wrong token", "/auth/login", map[string]any{"user": "u", "password": "bm90IGEgdG9rZW4="}, 403, "AUTH ERROR: Wrong user name"},
		{"login with a number as user", "/auth/login", `{"user":5,"password":"x"}`, 400, "SYNTAX ERROR: user has the wrong type"},
		{"login not JSON", "/auth/login", `user=u&password=p`, 400, "SYNTAX ERROR: The request body must be a JSON object."},
		{"login JSON array", "/auth/login", `[1,2]`, 400, "SYNTAX ERROR: The request body must be a JSON object."},
		{"list without session", "/licenseKeys/listKeys", map[string]any{"productId": pid}, 401, "AUTH ERROR: Not logged in"},
		{"list with session but no user", "/licenseKeys/listKeys", map[string]any{"sessionId": s, "productId": pid}, 401, "AUTH ERROR: Not logged in"},
		{"list as another user", "/licenseKeys/listKeys", with("user", "mallory"), 401, "AUTH ERROR: The session is not valid"},
		{"list with an unknown session", "/licenseKeys/listKeys", with("sessionId", "AAAAAAAAAAAAAAAAAAAAAA"), 401, "AUTH ERROR: The session is not valid"},
		{"list without GetKeys", "/licenseKeys/listKeys", map[string]any{"user": "u", "sessionId": e.revLogin("u", noKeys), "productId": pid}, 403,
			"AUTH ERROR: The access token of this session does not allow"},
		{"list another account's product", "/licenseKeys/listKeys", with("productId", other.product), 403, "AUTH ERROR: The product does not exist"},
		{"list a product outside the lock", "/licenseKeys/listKeys", map[string]any{"user": "u", "sessionId": e.revLogin("u", locked), "productId": pid}, 403,
			"AUTH ERROR: The product does not exist"},
		{"list an unknown product", "/licenseKeys/listKeys", with("productId", 999999), 403, "AUTH ERROR: The product does not exist"},
		{"list without productId", "/licenseKeys/listKeys", with("productId", nil), 400, "SYNTAX ERROR: productId must be"},
		{"list with productId text", "/licenseKeys/listKeys", with("productId", "abc"), 400, "SYNTAX ERROR: productId must be"},
		{"list with productId 1.5", "/licenseKeys/listKeys", with("productId", 1.5), 400, "SYNTAX ERROR: productId must be"},
		{"filters not an object", "/licenseKeys/listKeys", with("filters", []int{1}), 400, "SYNTAX ERROR: filters must be a JSON object."},
		{"unknown filter", "/licenseKeys/listKeys", with("filters", map[string]any{"licenceKey": 1}), 400, "SYNTAX ERROR: filters.licencekey is not a filter"},
		{"bad string filter type", "/licenseKeys/listKeys", with("filters", map[string]any{"licenseKey": map[string]any{"type": "glob", "value": "x"}}), 400,
			"SYNTAX ERROR: filters.licenseKey.type must be string, stringArray or regex."},
		{"string filter without value", "/licenseKeys/listKeys", with("filters", map[string]any{"licenseType": map[string]any{"type": "string"}}), 400,
			"SYNTAX ERROR: filters.licenseType.value is required."},
		{"bad regex", "/licenseKeys/listKeys", with("filters", map[string]any{"licenseKey": map[string]any{"type": "regex", "value": "(("}}), 400,
			"SYNTAX ERROR: filters.licenseKey.value is not a valid regular expression."},
		{"bad date", "/licenseKeys/listKeys", with("filters", map[string]any{"addedDate": map[string]any{"type": "dateRange", "min": "21/06/2017"}}), 400,
			"SYNTAX ERROR: filters.addedDate.min must be a date"},
		{"bad date type", "/licenseKeys/listKeys", with("filters", map[string]any{"expiryDate": map[string]any{"type": "range"}}), 400,
			"SYNTAX ERROR: filters.expiryDate.type must be date or dateRange."},
		{"bad number", "/licenseKeys/listKeys", with("filters", map[string]any{"overQuotaCount": map[string]any{"type": "numberRange", "min": "one"}}), 400,
			"SYNTAX ERROR: filters.overQuotaCount.min must be a number."},
		{"autoCollected not a boolean", "/licenseKeys/listKeys", with("filters", map[string]any{"autoCollected": "yes"}), 400,
			"SYNTAX ERROR: filters.autoCollected must be true or false."},
		{"status not an array", "/licenseKeys/listKeys", with("filters", map[string]any{"licenseStatus": map[string]any{"blocked": true}}), 400,
			"SYNTAX ERROR: filters.licenseStatus must be an array of objects."},
		{"unknown status flag", "/licenseKeys/listKeys", with("filters", map[string]any{"licenseStatus": []any{map[string]any{"whitelisted": true}}}), 400,
			"SYNTAX ERROR: filters.licenseStatus[0].whitelisted is not a license status flag"},
		{"bad sort field", "/licenseKeys/listKeys", with("sorting", map[string]any{"field": "notes"}), 400, "SYNTAX ERROR: sorting.field must be one of"},
		{"bad sort order", "/licenseKeys/listKeys", with("sorting", map[string]any{"field": "addedDate", "order": "up"}), 400,
			"SYNTAX ERROR: sorting.order must be ascending or descending."},
		{"limit too large", "/licenseKeys/listKeys", with("paging", map[string]any{"limit": 1001}), 400, "SYNTAX ERROR: paging.limit must be a whole number from 1 to 1000."},
		{"negative startAt", "/licenseKeys/listKeys", with("paging", map[string]any{"startAt": -1}), 400, "SYNTAX ERROR: paging.startAt must be a whole number"},
		{"unknown path", "/licenseKeys/deleteKeys", base, 404, "SYNTAX ERROR: Unknown request."},
		{"huge body", "/licenseKeys/listKeys", `{"user":"` + strings.Repeat("x", 5000) + `"}`, 400, "SYNTAX ERROR: The request body is too large"},
	}
	for _, c := range cases {
		status, body, _ := rev(t, e.url, c.path, c.body)
		var got struct{ Status, Reason string }
		_ = json.Unmarshal([]byte(body), &got)
		if status != c.status || !strings.HasPrefix(got.Status+": "+got.Reason, c.want) {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, body, c.status, c.want)
		}
	}
	req, _ := http.NewRequest("GET", e.url+"/licenseKeys/listKeys", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 || res.Header.Get("Allow") != "POST" {
		t.Errorf("GET listKeys: %d Allow %q, want 405 POST", res.StatusCode, res.Header.Get("Allow"))
	}
}

// TestRevulyticsSessions: cookie sessions, logout, and the path spellings
// the router accepts.
func TestRevulyticsSessions(t *testing.T) {
	e := newEnv(t)
	f := e.setup("cookies", "GetKeys")
	e.createKey(fixture{account: f.account, product: f.product, token: e.token(f, map[string]any{"name": "w", "methods": []string{"CreateKey"}})})
	status, body, res := rev(t, e.url, "/auth/login", map[string]any{"user": "u", "password": f.token, "useCookies": true})
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == revulytics.CookieName {
			cookie = c
		}
	}
	if status != 200 || body != `{"status":"OK"}` || cookie == nil || !cookie.HttpOnly || cookie.Value == "" {
		t.Fatalf("cookie login: %d %s %+v", status, body, cookie)
	}
	for _, path := range []string{"/licenseKeys/listKeys", "/licensekeys/listkeys", "//licenseKeys//listKeys/", "/LICENSEKEYS/LISTKEYS"} {
		status, body, _ := rev(t, e.url, path, map[string]any{"productId": f.product}, cookie)
		if status != 200 || !strings.Contains(body, `"matchingKeysCount":1`) {
			t.Errorf("%s with the cookie: %d %s", path, status, body)
		}
	}
	if status, body, _ := rev(t, e.url, "/auth/logout", map[string]any{}, cookie); status != 200 || body != `{"status":"OK"}` {
		t.Errorf("logout: %d %s", status, body)
	}
	if status, _, _ := rev(t, e.url, "/licenseKeys/listKeys", map[string]any{"productId": f.product}, cookie); status != 401 {
		t.Errorf("after logout: %d, want 401", status)
	}
}

// TestRevulyticsScopes: a product-locked token lists its product only, a
// key-locked token its key only, and a feature lock that hides the key,
// the machines, the limit or the notes empties them and refuses filters
// and sorts on them, as GetKeys masks licenses.
func TestRevulyticsScopes(t *testing.T) {
	e := newEnv(t)
	w := e.newRevWorld()
	rec := e.record(w.f, w.busy)
	keyLocked := e.token(w.f, map[string]any{"name": "kl", "methods": []string{"GetKeys"}, "productLock": w.f.product, "keyLock": rec.ID})
	s := e.revLogin("u", keyLocked)
	_, l, raw := e.listKeys("u", s, w.f.product, nil)
	if !slices.Equal(resultKeys(l), []string{w.busy}) || l.MatchingKeysCount != 1 {
		t.Errorf("key-locked token: %s", raw)
	}
	_, l, raw = e.listKeys("u", s, w.f.product, map[string]any{"filters": map[string]any{"licenseKey": map[string]any{"type": "string", "value": w.plain}}})
	if len(l.Results) != 0 || l.MatchingKeysCount != 0 {
		t.Errorf("key-locked token naming another key: %s", raw)
	}
	masked := e.token(w.f, map[string]any{"name": "fl", "methods": []string{"GetKeys"}, "featureLock": 2 | 4 | 32 | 64})
	s = e.revLogin("u", masked)
	_, l, raw = e.listKeys("u", s, w.f.product, map[string]any{"filters": map[string]any{"licenseType": map[string]any{"type": "string", "value": "purchased"}}})
	if len(l.Results) != 1 || l.Results[0].LicenseKey != "" || l.Results[0].InstallCount != 0 || l.Results[0].InstallQuota != 0 {
		t.Errorf("feature-locked token: %s", raw)
	}
	for _, req := range []map[string]any{
		{"filters": map[string]any{"licenseKey": map[string]any{"type": "string", "value": w.plain}}},
		{"filters": map[string]any{"overQuotaCount": map[string]any{"type": "number", "value": 0}}},
		{"filters": map[string]any{"licenseStatus": []any{map[string]any{"activated": true}}}},
		{"sorting": map[string]any{"field": "installCount"}},
		{"sorting": map[string]any{"field": "licenseKey"}},
	} {
		if status, l, raw := e.listKeys("u", s, w.f.product, req); status != 403 || l.Status != "AUTH ERROR" {
			t.Errorf("feature-locked token, %v: %s", req, raw)
		}
	}
	_, l, _ = e.listKeys("ops@example.com", w.session, w.f.product, map[string]any{"filters": map[string]any{"licenseKey": map[string]any{"type": "string", "value": w.plain}}})
	if len(l.Results) != 1 || l.Results[0].Notes == nil {
		t.Fatalf("notes: %+v", l)
	}
	notesHidden := e.revLogin("u", e.token(w.f, map[string]any{"name": "nh", "methods": []string{"GetKeys"}, "featureLock": 4}))
	_, l, raw = e.listKeys("u", notesHidden, w.f.product, map[string]any{"filters": map[string]any{"licenseKey": map[string]any{"type": "string", "value": w.plain}}})
	if len(l.Results) != 1 || l.Results[0].Notes != nil {
		t.Errorf("notes hidden: %s", raw)
	}
}

// TestRevulyticsIsolation: account B's session reaches nothing of account
// A's: not A's products, not A's keys named in B's product, and not A's
// sessions; A's items are unchanged.
func TestRevulyticsIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.newWorld("alpha")
	before := e.snapshot()
	b := e.newWorld("bravo")
	sa := e.revLogin("alice", a.token)
	sb := e.revLogin("bob", b.token)
	markers := []string{"alpha", a.k1, a.k2, a.k3}
	for _, pid := range []int64{a.p1, a.p2} {
		status, l, raw := e.listKeys("bob", sb, pid, nil)
		if status != 403 || l.Status != "AUTH ERROR" || len(leaks(raw, markers)) > 0 {
			t.Errorf("B listing A's product %d: %d %s", pid, status, raw)
		}
	}
	for _, filter := range []map[string]any{
		{"licenseKey": map[string]any{"type": "stringArray", "value": []string{a.k1, a.k2, a.k3}}},
		{"licenseKey": map[string]any{"type": "regex", "value": "."}},
	} {
		_, l, raw := e.listKeys("bob", sb, b.p1, map[string]any{"filters": filter})
		if l.Status != "OK" || len(leaks(raw, markers)) > 0 {
			t.Errorf("B naming A's keys in its product: %s", raw)
		}
	}
	if status, _, _ := e.listKeys("bob", sa, a.p1, nil); status != 401 {
		t.Errorf("B presenting A's session under its own user: %d, want 401", status)
	}
	if status, _, _ := e.listKeys("alice", sa, b.p1, nil); status != 403 {
		t.Errorf("A's session on B's product: %d, want 403", status)
	}
	after := e.snapshot()
	for k, v := range before {
		if globalCounter(k) {
			continue
		}
		if after[k] != v {
			t.Errorf("A's item %s changed", k)
		}
	}
}

// TestRevulyticsNeverFails: mutations of the documented request (members
// replaced by values of every JSON type, bytes cut or flipped) are
// answered with OK, SYNTAX ERROR or AUTH ERROR, never a 500.
func TestRevulyticsNeverFails(t *testing.T) {
	e := newEnv(t)
	f := e.setup("fuzz", "GetKeys")
	session := e.revLogin("u", f.token)
	doc, err := os.ReadFile(filepath.Join("testdata", "revulytics", "listKeys.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var base map[string]any
	if err := json.Unmarshal(doc, &base); err != nil {
		t.Fatal(err)
	}
	base["user"], base["sessionId"], base["productId"] = "u", session, f.product
	values := []any{nil, true, -1, 0, 1e300, "x", "", []any{}, []any{1, "a", nil}, map[string]any{}, map[string]any{"type": "regex", "value": "a"}}
	// paths to every member of the request, as key sequences.
	var paths [][]string
	var walk func(v any, p []string)
	walk = func(v any, p []string) {
		if m, ok := v.(map[string]any); ok {
			for k, c := range m {
				q := append(append([]string{}, p...), k)
				paths = append(paths, q)
				walk(c, q)
			}
		}
	}
	walk(base, nil)
	set := func(m map[string]any, p []string, v any) map[string]any {
		b, _ := json.Marshal(m)
		var c map[string]any
		_ = json.Unmarshal(b, &c)
		cur := c
		for _, k := range p[:len(p)-1] {
			next, ok := cur[k].(map[string]any)
			if !ok {
				return c
			}
			cur = next
		}
		cur[p[len(p)-1]] = v
		return c
	}
	check := func(what string, body any) {
		status, raw, _ := rev(t, e.url, "/licenseKeys/listKeys", body)
		var got struct{ Status string }
		_ = json.Unmarshal([]byte(raw), &got)
		okStatus := got.Status == "OK" && status == 200 || got.Status == "SYNTAX ERROR" && status == 400 ||
			got.Status == "AUTH ERROR" && (status == 401 || status == 403)
		if !okStatus {
			t.Errorf("%s: %d %.200s", what, status, raw)
		}
	}
	for _, p := range paths {
		for _, v := range values {
			check(fmt.Sprintf("%v = %v", p, v), set(base, p, v))
		}
	}
	raw, _ := json.Marshal(base)
	for i := 0; i < len(raw); i += 7 {
		check(fmt.Sprintf("cut at %d", i), string(raw[:i]))
		flipped := append([]byte{}, raw...)
		flipped[i] ^= 0x20
		check(fmt.Sprintf("byte %d flipped", i), string(flipped))
	}
}

// TestRevulyticsPageCost: listKeys costs what its page costs, whatever
// the product's size and the page's position, as GetKeys does: sorted by
// addedDate (the id index) a page of 10 is the session read, the product's
// key counter, one index read and one read per key; a licenseKey
// stringArray filter reads only the keys it names.
func TestRevulyticsPageCost(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	f := e.setup("cost", "GetKeys")
	counter := ddbtest.NewCounter(e.db)
	a, err := app.New(ctx, e.app.Config, nil, app.Clients{DynamoDB: counter})
	if err != nil {
		t.Fatal(err)
	}
	var recs []keys.Record
	for i := 1; i <= 400; i++ {
		recs = append(recs, keys.Record{AccountID: f.account, ProductID: f.product, ID: int64(i), GlobalID: 500000 + int64(i),
			Key: fmt.Sprintf("COST-%04d", i), Created: time.Now().UTC(), Expires: time.Now().UTC(), MaxNoOfMachines: 1,
			Nodes: machines(i%3, time.Now().UTC())})
	}
	if err := a.LicenseStore.ImportKeys(ctx, recs); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Revulytics())
	defer srv.Close()
	session := func() string {
		status, body, _ := rev(t, srv.URL, "/auth/login", map[string]any{"user": "u", "password": f.token})
		var out struct{ SessionID string }
		if err := json.Unmarshal([]byte(body), &out); err != nil || status != 200 {
			t.Fatalf("login: %d %s", status, body)
		}
		return out.SessionID
	}()
	list := func(extra map[string]any) (int64, revList) {
		t.Helper()
		body := map[string]any{"user": "u", "sessionId": session, "productId": f.product}
		for k, v := range extra {
			body[k] = v
		}
		counter.Reset()
		status, raw, _ := rev(t, srv.URL, "/licenseKeys/listKeys", body)
		var out revList
		if err := json.Unmarshal([]byte(raw), &out); err != nil || status != 200 {
			t.Fatalf("listKeys: %d %s", status, raw)
		}
		return counter.Total(), out
	}
	list(nil) // the product and the token are cached from here on, as in a warm function
	for _, start := range []int{0, 200, 390} {
		calls, out := list(map[string]any{"sorting": map[string]any{"field": "addedDate", "order": "descending"},
			"paging": map[string]any{"startAt": start, "limit": 10}})
		if out.ReturnedKeysCount != 10 || out.MatchingKeysCount != 400 || out.Results[0].LicenseKey != fmt.Sprintf("COST-%04d", 400-start) {
			t.Errorf("page at %d: %+v", start, out)
		}
		if want := int64(1 + 1 + 1 + 10); calls != want {
			t.Errorf("page at %d: %d DynamoDB calls, want %d (session, counter, index, one per key)", start, calls, want)
		}
	}
	calls, out := list(map[string]any{"filters": map[string]any{"licenseKey": map[string]any{"type": "stringArray",
		"value": []string{"COST-0007", "COST-0300", "NOPE"}}}})
	if out.MatchingKeysCount != 2 || calls != 1+3 {
		t.Errorf("named keys: %d calls, %+v; want 4 calls (session, one per name) and 2 keys", calls, out)
	}
}
