package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/stripefake"
)

// payEnv is a service whose Stripe is a stripefake server, with an account
// whose Stripe keys are set and whose Stripe webhook points at the
// service.
type payEnv struct {
	*env
	stripe *stripefake.Server
	f      fixture
	base   string // /admin/accounts/<id>
}

func newPayEnv(t *testing.T) *payEnv {
	t.Helper()
	return newPayEnvWith(t, nil)
}

// newPayEnvWith is newPayEnv with more environment variables.
func newPayEnvWith(t *testing.T, vars map[string]string) *payEnv {
	t.Helper()
	s := stripefake.New(t)
	env := map[string]string{config.EnvStripeEndpoint: s.URL}
	maps.Copy(env, vars)
	e := newEnvWith(t, envOptions{env: env})
	p := &payEnv{env: e, stripe: s, f: e.setup("shop", "*")}
	p.base = "/admin/accounts/" + strconv.FormatInt(p.f.account, 10)
	var info struct {
		Configured bool
		WebhookURL string
	}
	e.mustAdmin("PUT", p.base+"/stripe", map[string]any{"secretKey": s.SecretKey, "webhookSecret": s.WebhookSecret}, &info)
	if !info.Configured || !strings.HasSuffix(info.WebhookURL, "/paymentform/stripe/webhook/"+strconv.FormatInt(p.f.account, 10)) {
		t.Fatalf("stripe settings = %+v", info)
	}
	s.SetWebhook(e.url + "/paymentform/stripe/webhook/" + strconv.FormatInt(p.f.account, 10))
	return p
}

// receiver is a vendor's webhook endpoint that records what it gets and
// refuses the first fail requests.
type receiver struct {
	mu     sync.Mutex
	fail   int
	bodies [][]byte
	sigs   []string
	url    string
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.bodies = append(r.bodies, b)
		r.sigs = append(r.sigs, req.Header.Get(payments.SignatureHeader))
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hooks/keyturn"
	return r
}

func (r *receiver) got() ([][]byte, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), append([]string(nil), r.sigs...)
}

// page requests a payment page without following redirects.
func (p *payEnv) page(method, path string, form url.Values) (int, string, string) {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, p.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

// form creates a payment form through the admin API.
func (p *payEnv) form(in map[string]any) (id int64, webhookSecret string) {
	p.t.Helper()
	var out struct {
		ID            int64
		WebhookSecret string
	}
	p.mustAdmin("POST", p.base+"/payment-forms", in, &out)
	return out.ID, out.WebhookSecret
}

// session calls paymentform/CreateSession and returns the session id.
func (p *payEnv) session(formID int64, kv ...string) string {
	p.t.Helper()
	body := p.post("paymentform/CreateSession", append([]string{"token", p.f.token, "PaymentFormId", strconv.FormatInt(formID, 10),
		"Currency", "USD", "Expires", "3600"}, kv...)...)
	var r struct {
		SessionID string `json:"sessionId"`
		Result    int    `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 || r.SessionID == "" || !strings.HasSuffix(body, `"result":0,"message":""}`) {
		p.t.Fatalf("CreateSession = %s", body)
	}
	return r.SessionID
}

// checkout starts paying session id and returns the Stripe checkout id.
func (p *payEnv) checkout(id, code string) string {
	p.t.Helper()
	status, loc, body := p.page("POST", "/paymentform/session", url.Values{"id": {id}, "code": {code}})
	prefix := p.stripe.URL + "/checkout/"
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		p.t.Fatalf("start checkout = %d %s %.300s", status, loc, body)
	}
	return strings.TrimPrefix(loc, prefix)
}

// productKeys lists the product's keys.
func (p *payEnv) productKeys() []map[string]any {
	p.t.Helper()
	body := p.post("product/GetKeys", "token", p.f.token, "ProductId", strconv.FormatInt(p.f.product, 10))
	var r struct {
		LicenseKeys []map[string]any `json:"licenseKeys"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		p.t.Fatalf("GetKeys = %s", body)
	}
	return r.LicenseKeys
}

// TestPaymentFlowEndToEnd: CreateSession -> hosted page -> Stripe Checkout
// (stripefake, through stripe-go) -> signed webhook -> one key with a
// customer for the buyer, shown on the success page and sent once to the
// vendor's signed webhook. Delivering the webhook again (one by one and
// ten at once) still leaves one key and one vendor notification; a
// captured delivery replayed later, and a forged one, are refused.
func TestPaymentFlowEndToEnd(t *testing.T) {
	ctx := context.Background()
	p := newPayEnv(t)
	vendor := newReceiver(t, 0)
	var tpl struct{ ID int64 }
	p.mustAdmin("POST", p.base+"/license-templates", map[string]any{"name": "pro", "productId": p.f.product, "period": 365, "f1": true}, &tpl)
	formID, whSecret := p.form(map[string]any{"name": "Pro", "heading": "Buy Pro", "productName": "Pro licence (1 year)",
		"price": "19.99", "currency": "usd", "templateId": tpl.ID, "newCustomer": true, "webhookUrl": vendor.url})
	if !strings.HasPrefix(whSecret, "ktwh_") {
		t.Fatalf("form webhook secret %q", whSecret)
	}
	// The admin API never shows Stripe keys or the webhook secret again.
	for _, path := range []string{p.base + "/stripe", p.base + "/payment-forms", p.base + "/payment-forms/" + strconv.FormatInt(formID, 10)} {
		_, body := p.adminRaw("GET", path, nil)
		for _, secret := range []string{p.stripe.SecretKey, p.stripe.WebhookSecret, whSecret} {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s shows a secret: %s", path, body)
			}
		}
	}

	id := p.session(formID, "CustomField", "seat=7", "Metadata", "crm:42")
	status, _, body := p.page("GET", "/paymentform/session?id="+url.QueryEscape(id), nil)
	if status != 200 || !strings.Contains(body, "Buy Pro") || !strings.Contains(body, "19.99 USD") || !strings.Contains(body, "Pro licence (1 year)") {
		t.Fatalf("payment page = %d %.500s", status, body)
	}
	// Opening the page starts nothing; paying starts one checkout, and
	// paying again returns to it.
	if n := len(p.stripe.CheckoutIDs()); n != 0 {
		t.Fatalf("%d checkouts after viewing the page", n)
	}
	cs := p.checkout(id, "")
	if again := p.checkout(id, ""); again != cs || len(p.stripe.CheckoutIDs()) != 1 {
		t.Fatalf("second start = %s (first %s), %d checkouts", again, cs, len(p.stripe.CheckoutIDs()))
	}
	obj, _ := p.stripe.Checkout(cs)
	if obj["amount_total"] != float64(1999) || obj["currency"] != "usd" {
		t.Errorf("checkout = %v", obj)
	}
	// The buyer returns before paying: the order waits.
	successPath := "/paymentform/session/success?id=" + url.QueryEscape(id)
	if status, _, body := p.page("GET", successPath, nil); status != 200 || !strings.Contains(body, "Waiting for the payment") || strings.Contains(body, "license key") {
		t.Errorf("success page before paying = %d %.300s", status, body)
	}

	success, d, err := p.stripe.Pay(cs, stripefake.Buyer{Email: "ada@example.com", Name: "Ada Lovelace"})
	if err != nil || d.Status != 200 || d.Err != nil {
		t.Fatalf("pay: %v, delivery %d %v", err, d.Status, d.Err)
	}
	if !strings.HasSuffix(success, successPath) {
		t.Errorf("success URL %s, want ...%s", success, successPath)
	}
	lics := p.productKeys()
	if len(lics) != 1 {
		t.Fatalf("%d keys after the payment, want 1", len(lics))
	}
	key := lics[0]["key"].(string)
	rec := p.record(p.f, key)
	if rec.Period != 365 || !rec.Features[0] || rec.CustomerID == 0 {
		t.Errorf("key = %+v, want the template's with a customer", rec)
	}
	cust, err := p.app.Customers.Customer(ctx, p.f.account, rec.CustomerID)
	if err != nil || cust.Email == nil || *cust.Email != "ada@example.com" || cust.Name != "Ada Lovelace" {
		t.Errorf("customer = %+v, %v", cust, err)
	}
	status, _, body = p.page("GET", successPath, nil)
	if status != 200 || !strings.Contains(body, key) || !strings.Contains(body, "ada@example.com") {
		t.Errorf("success page = %d %.500s", status, body)
	}
	// Paying again sends the buyer to the success page.
	if status, loc, _ := p.page("POST", "/paymentform/session", url.Values{"id": {id}}); status != http.StatusSeeOther || !strings.HasSuffix(loc, successPath) {
		t.Errorf("start after paying = %d %s", status, loc)
	}

	// Stripe delivers again, once and then ten times at once.
	if r := p.stripe.Redeliver(0); r.Status != 200 {
		t.Errorf("redelivery = %d %v", r.Status, r.Err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := p.stripe.Redeliver(0); r.Status != 200 {
				t.Errorf("concurrent redelivery = %d %v", r.Status, r.Err)
			}
		}()
	}
	wg.Wait()
	if n := len(p.productKeys()); n != 1 {
		t.Errorf("%d keys after 12 deliveries, want 1", n)
	}
	bodies, sigs := vendor.got()
	if len(bodies) != 1 {
		t.Fatalf("vendor webhook called %d times, want 1", len(bodies))
	}
	if err := payments.VerifyNotification(whSecret, sigs[0], bodies[0], time.Now(), 5*time.Minute); err != nil {
		t.Errorf("vendor webhook signature: %v", err)
	}
	var order payments.Order
	if err := json.Unmarshal(bodies[0], &order); err != nil || order.Type != "payment.completed" || order.Key != key ||
		order.KeyID != rec.ID || order.ProductID != p.f.product || order.Amount != 1999 || order.Price != "19.99" ||
		order.Currency != "usd" || order.Email != "ada@example.com" || order.CustomField != "seat=7" || order.Metadata != "crm:42" ||
		order.CustomerID != rec.CustomerID || order.StripeCheckout != cs || order.PaymentFormID != formID {
		t.Errorf("vendor got %s (%v)", bodies[0], err)
	}

	// A captured delivery replayed outside the tolerance, and forged ones.
	if r := p.stripe.DeliverAt(0, time.Now().Add(-10*time.Minute)); r.Status != http.StatusBadRequest {
		t.Errorf("replay signed 10 minutes ago = %d, want 400", r.Status)
	}
	hook := p.url + "/paymentform/stripe/webhook/" + strconv.FormatInt(p.f.account, 10)
	first := p.stripe.Deliveries()[0]
	forged := strings.Replace(string(first.Payload), `"amount_total":1999`, `"amount_total":1`, 1)
	if status, _ := stripefake.Post(hook, []byte(forged), first.Header); status != http.StatusBadRequest {
		t.Errorf("tampered payload = %d, want 400", status)
	}
	if status, _ := stripefake.Post(hook, []byte(forged), ""); status != http.StatusBadRequest {
		t.Errorf("unsigned payload = %d, want 400", status)
	}
	if n := len(p.productKeys()); n != 1 {
		t.Errorf("%d keys after the replays, want 1", n)
	}
}

// TestPaymentDiscounts: a code redeemed at checkout lowers the amount
// Stripe charges; a code with one redemption left serves one buyer; an
// expired checkout gives the redemption back, so the next buyer can use
// it; codes of another product or currency do not apply.
func TestPaymentDiscounts(t *testing.T) {
	p := newPayEnv(t)
	var tpl struct{ ID int64 }
	p.mustAdmin("POST", p.base+"/license-templates", map[string]any{"name": "std", "productId": p.f.product, "period": 30}, &tpl)
	formID, _ := p.form(map[string]any{"name": "Std", "price": "40.00", "currency": "usd", "templateId": tpl.ID})
	var code struct{ Code string }
	p.mustAdmin("POST", p.base+"/discounts", map[string]any{"code": "launch25", "percentOff": 25, "maxRedemptions": 1}, &code)
	p.mustAdmin("POST", p.base+"/discounts", map[string]any{"code": "EUR5", "amountOff": "5.00", "currency": "eur"}, nil)
	p.mustAdmin("POST", p.base+"/discounts", map[string]any{"code": "OTHERPROD", "percentOff": 10, "productId": p.setupProduct(p.f, "other")}, nil)
	if code.Code != "LAUNCH25" {
		t.Errorf("code stored as %q", code.Code)
	}
	first, second := p.session(formID), p.session(formID)
	for c, want := range map[string]string{"EUR5": "does not apply", "OTHERPROD": "does not apply", "NOSUCH": "not valid", "bad code!": "not valid"} {
		status, _, body := p.page("POST", "/paymentform/session", url.Values{"id": {first}, "code": {c}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, want) || !strings.Contains(body, "40.00 USD") {
			t.Errorf("code %s = %d %.400s, want 422 with %q", c, status, body, want)
		}
	}
	cs := p.checkout(first, "launch25")
	if obj, _ := p.stripe.Checkout(cs); obj["amount_total"] != float64(3000) {
		t.Errorf("checkout with 25%% off = %v, want 3000", obj["amount_total"])
	}
	// Back from Stripe (its cancel URL): the page offers the same checkout
	// at the discounted price, without a code field.
	if status, _, body := p.page("GET", "/paymentform/session?id="+url.QueryEscape(first), nil); status != 200 ||
		!strings.Contains(body, "30.00 USD") || !strings.Contains(body, "Continue to payment") || strings.Contains(body, `name="code"`) {
		t.Errorf("page after starting the checkout = %d %.500s", status, body)
	}
	status, _, body := p.page("POST", "/paymentform/session", url.Values{"id": {second}, "code": {"LAUNCH25"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "used up") {
		t.Errorf("second buyer, used-up code = %d %.300s", status, body)
	}
	// The first checkout expires: the redemption comes back, the first
	// session is spent.
	if d, err := p.stripe.Expire(cs); err != nil || d.Status != 200 {
		t.Fatalf("expire: %v %d", err, d.Status)
	}
	if status, _, body := p.page("POST", "/paymentform/session", url.Values{"id": {first}}); status != http.StatusGone || !strings.Contains(body, "already been used") {
		t.Errorf("expired checkout's session = %d %.300s", status, body)
	}
	cs2 := p.checkout(second, "launch25")
	if obj, _ := p.stripe.Checkout(cs2); obj["amount_total"] != float64(3000) {
		t.Errorf("second buyer's checkout = %v, want 3000", obj["amount_total"])
	}
	if _, d, err := p.stripe.Pay(cs2, stripefake.Buyer{Email: "b@example.com"}); err != nil || d.Status != 200 {
		t.Fatalf("pay: %v %d", err, d.Status)
	}
	var got struct{ Redeemed int64 }
	p.mustAdmin("GET", p.base+"/discounts/LAUNCH25", nil, &got)
	if got.Redeemed != 1 {
		t.Errorf("LAUNCH25 redeemed %d times, want 1", got.Redeemed)
	}
	if n := len(p.productKeys()); n != 1 {
		t.Errorf("%d keys, want 1", n)
	}
}

// TestCreateSessionErrors: the reference's documented errors and the
// form's product lock.
func TestCreateSessionErrors(t *testing.T) {
	p := newPayEnv(t)
	var tpl struct{ ID int64 }
	p.mustAdmin("POST", p.base+"/license-templates", map[string]any{"name": "std", "productId": p.f.product, "period": 30}, &tpl)
	formID, _ := p.form(map[string]any{"name": "Std", "price": "40.00", "currency": "usd", "templateId": tpl.ID})
	noPrice, _ := p.form(map[string]any{"name": "Free price", "templateId": tpl.ID})
	fid := strconv.FormatInt(formID, 10)
	other := p.setupProduct(p.f, "other")
	locked := p.token(p.f, map[string]any{"methods": []string{"CreateSession"}, "productLock": other})
	tests := []struct {
		name string
		kv   []string
		want string
	}{
		{"unknown form", []string{"PaymentFormId", "999", "Currency", "USD", "Expires", "60"}, errBody(apierr.PaymentFormNotFound)},
		{"bad currency", []string{"PaymentFormId", fid, "Currency", "ZZZ", "Expires", "60"}, errBody(apierr.PaymentCurrency)},
		{"no currency", []string{"PaymentFormId", fid, "Expires", "60"}, errBody(apierr.BadInput)},
		{"no expiry", []string{"PaymentFormId", fid, "Currency", "USD"}, errBody(apierr.BadInput)},
		{"negative price", []string{"PaymentFormId", fid, "Currency", "USD", "Expires", "60", "Price", "-1"}, errBody(apierr.BadInput)},
		{"heading too long", []string{"PaymentFormId", fid, "Currency", "USD", "Expires", "60", "Heading", strings.Repeat("h", 101)}, errBody(apierr.BadInput)},
		{"form price in another currency", []string{"PaymentFormId", fid, "Currency", "EUR", "Expires", "60"}, errBody(apierr.BadInput)},
		{"form without price, none given", []string{"PaymentFormId", strconv.FormatInt(noPrice, 10), "Currency", "USD", "Expires", "60"}, errBody(apierr.BadInput)},
	}
	for _, tt := range tests {
		if got := p.post("paymentform/CreateSession", append([]string{"token", p.f.token}, tt.kv...)...); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := p.post("paymentform/CreateSession", "token", locked, "PaymentFormId", fid, "Currency", "USD", "Expires", "60"); got != deniedBody {
		t.Errorf("token locked to another product: %s", got)
	}
	// A session price in another currency is fine; Heading overrides.
	id := p.session(noPrice, "Price", "12.5", "Currency", "EUR", "Heading", "<b>Special</b>")
	status, _, body := p.page("GET", "/paymentform/session?id="+url.QueryEscape(id), nil)
	if status != 200 || !strings.Contains(body, "12.50 EUR") || strings.Contains(body, "<b>Special") || !strings.Contains(body, "&lt;b&gt;Special") {
		t.Errorf("page = %d %.600s, want the escaped heading and 12.50 EUR", status, body)
	}
	// An unknown or altered session id is not found; an expired one is gone.
	bad := strings.Replace(id, id[10:14], "AAAA", 1)
	if status, _, _ := p.page("GET", "/paymentform/session?id="+url.QueryEscape(bad), nil); status != http.StatusNotFound {
		t.Errorf("altered id: %d, want 404", status)
	}
	short := p.session(formID, "Expires", "1")
	time.Sleep(1100 * time.Millisecond)
	if status, _, body := p.page("POST", "/paymentform/session", url.Values{"id": {short}}); status != http.StatusGone || !strings.Contains(body, "expired") {
		t.Errorf("expired session = %d %.300s", status, body)
	}
}

// TestRecordUsage: subscription/RecordUsage against stripefake through
// stripe-go: each documented error, then usage recorded as one meter event
// of the key's subscription item, once per request even when the request
// is repeated with the same request id.
func TestRecordUsage(t *testing.T) {
	s := stripefake.New(t)
	e := newEnvWith(t, envOptions{env: map[string]string{config.EnvStripeEndpoint: s.URL}})
	f := e.setup("metered", "*")
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)
	k := e.createKey(f)
	pid := strconv.FormatInt(f.product, 10)
	usage := func(kv ...string) string {
		return e.post("subscription/RecordUsage", append([]string{"token", f.token, "ProductId", pid, "Key", k}, kv...)...)
	}
	if got := usage("Amount", "5"); got != errBody(apierr.NoPaymentProcessor) {
		t.Errorf("no Stripe keys: %s", got)
	}
	e.mustAdmin("PUT", base+"/stripe", map[string]any{"secretKey": s.SecretKey}, nil)
	if got := usage("Amount", "5"); got != errBody(apierr.SubscriptionItemNotFound) {
		t.Errorf("no subscription item: %s", got)
	}
	subPath := base + "/products/" + pid + "/keys/" + k + "/subscription"
	if code, body := e.adminRaw("PUT", subPath, map[string]any{"subscriptionItemId": "si_unknown"}); code != 400 || !strings.Contains(body, apierr.SubscriptionItemNotFound.Message) {
		t.Errorf("link an unknown item: %d %s", code, body)
	}
	item, customer := s.AddMeteredItem("api_calls")
	// Only an active meter that sums its events can bill RecordUsage.
	for _, tt := range []struct {
		formula string
		active  bool
		want    string
	}{{"count", true, "sums its events"}, {"sum", false, "not active"}} {
		s.UpdateMeter(item, func(m *stripefake.Meter) { m.Formula, m.Active = tt.formula, tt.active })
		if code, body := e.adminRaw("PUT", subPath, map[string]any{"subscriptionItemId": item}); code != 400 || !strings.Contains(body, tt.want) {
			t.Errorf("link to a %s meter (active %v): %d %s", tt.formula, tt.active, code, body)
		}
	}
	s.UpdateMeter(item, func(m *stripefake.Meter) { m.Formula, m.Active = "sum", true })
	var link struct{ CustomerID, EventName string }
	e.mustAdmin("PUT", subPath, map[string]any{"subscriptionItemId": item}, &link)
	if link.CustomerID != customer || link.EventName != "api_calls" {
		t.Errorf("link = %+v", link)
	}
	if got := usage("Amount", "5"); got != ok {
		t.Fatalf("RecordUsage = %s", got)
	}
	if got := usage(); got != ok {
		t.Fatalf("RecordUsage without Amount = %s", got)
	}
	ev := s.MeterEvents()
	if len(ev) != 2 || ev[0].EventName != "api_calls" || ev[0].Payload["stripe_customer_id"] != customer || ev[0].Payload["value"] != "5" ||
		ev[1].Payload["value"] != "0" || ev[0].Identifier == ev[1].Identifier {
		t.Errorf("meter events = %+v", ev)
	}
	// The same request (same request id) twice: one event, the second
	// answer replayed by Stripe's idempotency.
	params := url.Values{"token": {f.token}, "ProductId": {pid}, "Key": {k}, "Amount": {"3"}}
	for range 2 {
		if _, body := e.call("POST", "/api/subscription/RecordUsage", params, "X-Request-Id", "req-usage-1"); body != ok {
			t.Errorf("repeated request = %s", body)
		}
	}
	if n := len(s.MeterEvents()); n != 3 {
		t.Errorf("%d meter events after a repeated request, want 3", n)
	}
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.IdempotencyKey == "" || last.IdempotencyKey != last.Form.Get("identifier") {
		t.Errorf("meter event request: idempotency key %q, identifier %q", last.IdempotencyKey, last.Form.Get("identifier"))
	}
	// Stripe failing, and the customer gone.
	s.FailNext(stripefake.OpCreateMeterEvent, 500, "api_error", "", "down")
	if got := usage("Amount", "1"); got != errBody(apierr.UsageNotIncremented) {
		t.Errorf("Stripe down: %s", got)
	}
	s.DeleteCustomer(customer)
	if got := usage("Amount", "1"); got != errBody(apierr.SubscriptionItemNotFound) {
		t.Errorf("customer gone: %s", got)
	}
	for name, tc := range map[string]struct{ kv []string }{
		"negative amount":  {[]string{"Amount", "-1"}},
		"malformed amount": {[]string{"Amount", "1.5"}},
	} {
		if got := usage(tc.kv...); got != errBody(apierr.BadInput) {
			t.Errorf("%s: %s", name, got)
		}
	}
	if got := e.post("subscription/RecordUsage", "token", f.token, "ProductId", "999", "Key", k); got != errBody(apierr.ProductNotFound) {
		t.Errorf("unknown product: %s", got)
	}
	if got := e.post("subscription/RecordUsage", "token", f.token, "ProductId", pid, "Key", "AAAAA-AAAAA-AAAAA-AAAAA"); got != errBody(apierr.KeyNotFound) {
		t.Errorf("unknown key: %s", got)
	}
	if n := len(s.MeterEvents()); n != 3 {
		t.Errorf("%d meter events after the failures, want 3", n)
	}
}

// TestPaymentAdminValidation: the admin API refuses malformed Stripe keys,
// forms without an action, invalid discount codes and links of keys the
// account does not have, with its clear messages; GET shows an account
// without keys as not configured.
func TestPaymentAdminValidation(t *testing.T) {
	e := newEnv(t)
	f := e.setup("adm", "*")
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)
	var info struct{ Configured bool }
	e.mustAdmin("GET", base+"/stripe", nil, &info)
	if info.Configured {
		t.Error("a new account shows Stripe as configured")
	}
	tests := []struct {
		method, path string
		body         map[string]any
		status       int
		want         string
	}{
		{"PUT", "/stripe", map[string]any{"secretKey": "pk_live_publishable0000"}, 400, "secretKey must be a Stripe secret key"},
		{"PUT", "/stripe", map[string]any{"secretKey": "sk_test_ok000000000", "webhookSecret": "nope"}, 400, "webhookSecret must be"},
		{"PUT", "/stripe", map[string]any{"secretKey": "sk_test_ok00 00000000"}, 400, "secretKey must be"},
		{"POST", "/payment-forms", map[string]any{"name": "f", "price": "10", "currency": "usd"}, 400, "needs an action"},
		{"POST", "/payment-forms", map[string]any{"name": "f", "templateId": 999}, 400, "license template this account does not have"},
		{"POST", "/payment-forms", map[string]any{"name": "f", "webhookUrl": "http://vendor.example/h"}, 400, "https URL"},
		{"POST", "/payment-forms", map[string]any{"name": "f", "webhookUrl": "https://v.example/h", "price": "1.001", "currency": "usd"}, 400, "price must be"},
		{"POST", "/payment-forms", map[string]any{"name": "", "webhookUrl": "https://v.example/h"}, 400, "name must be"},
		{"POST", "/discounts", map[string]any{"code": "x y", "percentOff": 5}, 400, "discount code must be"},
		{"POST", "/discounts", map[string]any{"code": "BOTH", "percentOff": 5, "amountOff": "1.00", "currency": "usd"}, 400, "either percentOff"},
		{"POST", "/discounts", map[string]any{"code": "CUR", "amountOff": "1.00", "currency": "xxx"}, 400, "currency"},
		{"GET", "/discounts/NOSUCH", nil, 404, "not found"},
		{"GET", "/payment-forms/77", nil, 404, "not found"},
		{"PUT", "/products/" + strconv.FormatInt(f.product, 10) + "/keys/AAAAA-AAAAA-AAAAA-AAAAA/subscription", map[string]any{"subscriptionItemId": "si_1"}, 404, "not found"},
	}
	for _, tt := range tests {
		var body any
		if tt.body != nil {
			body = tt.body
		}
		code, got := e.adminRaw(tt.method, base+tt.path, body)
		if code != tt.status || !strings.Contains(got, tt.want) {
			t.Errorf("%s %s %v = %d %s, want %d with %q", tt.method, tt.path, tt.body, code, got, tt.status, tt.want)
		}
	}
	// A key of the account, but no Stripe keys yet.
	k := e.createKey(f)
	code, got := e.adminRaw("PUT", base+"/products/"+strconv.FormatInt(f.product, 10)+"/keys/"+k+"/subscription", map[string]any{"subscriptionItemId": "si_1234567890"})
	if code != 400 || !strings.Contains(got, apierr.NoPaymentProcessor.Message) {
		t.Errorf("link without Stripe keys = %d %s", code, got)
	}
}

// TestPaymentPagesNeedPublicURL: Stripe returns the buyer to a page that
// shows the key, so its URL comes from KEYTURN_PUBLIC_URL and never from
// request headers; without it no checkout starts (nothing is redeemed or
// sent to Stripe) and the admin API shows the webhook path alone.
func TestPaymentPagesNeedPublicURL(t *testing.T) {
	p := newPayEnvWith(t, map[string]string{config.EnvPublicURL: ""})
	var info struct{ WebhookURL string }
	p.mustAdmin("GET", p.base+"/stripe", nil, &info)
	if want := "/paymentform/stripe/webhook/" + strconv.FormatInt(p.f.account, 10); info.WebhookURL != want {
		t.Errorf("webhook URL = %q, want %q", info.WebhookURL, want)
	}
	var tpl struct{ ID int64 }
	p.mustAdmin("POST", p.base+"/license-templates", map[string]any{"name": "t", "productId": p.f.product, "period": 30}, &tpl)
	formID, _ := p.form(map[string]any{"name": "f", "price": "5.00", "currency": "usd", "templateId": tpl.ID})
	id := p.session(formID)
	form := url.Values{"id": {id}}
	req, _ := http.NewRequest("POST", p.url+"/paymentform/session", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Host", "attacker.example")
	req.Host = "attacker.example"
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Location") != "" || strings.Contains(string(body), "attacker") {
		t.Errorf("checkout without a public URL = %d %q %.200s", res.StatusCode, res.Header.Get("Location"), body)
	}
	if n := len(p.stripe.CheckoutIDs()); n != 0 {
		t.Errorf("%d Stripe checkouts created without a public URL", n)
	}
}

// TestPaymentLogs: the payment pages and webhook log one JSON line per
// request without secrets (Stripe keys, the session id); a webhook that
// does not verify logs the failure in CloudWatch's embedded metric format,
// which publishes PaymentWebhookFailures.
func TestPaymentLogs(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	s := stripefake.New(t)
	db, table := ddbtest.NewTable(t)
	sum := sha256.Sum256([]byte(adminSecret))
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvTable: table, config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(t.TempDir(), "kek"), config.EnvAdminSecretHash: hex.EncodeToString(sum[:]),
			config.EnvStripeEndpoint: s.URL, config.EnvPublicURL: testPublicURL}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.NewLogger("info", lockedWriter{&mu, &logs}), app.Clients{DynamoDB: db})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Pages(app.Router(a.WebAPI(app.Groups(a)...), a.Admin())))
	t.Cleanup(srv.Close)
	e := &env{t: t, app: a, db: db, table: table, url: srv.URL, http: srv.Client()}
	p := &payEnv{env: e, stripe: s, f: e.setup("logs", "*")}
	p.base = "/admin/accounts/" + strconv.FormatInt(p.f.account, 10)
	e.mustAdmin("PUT", p.base+"/stripe", map[string]any{"secretKey": s.SecretKey, "webhookSecret": s.WebhookSecret}, nil)
	hook := srv.URL + "/paymentform/stripe/webhook/" + strconv.FormatInt(p.f.account, 10)
	s.SetWebhook(hook)
	var tpl struct{ ID int64 }
	e.mustAdmin("POST", p.base+"/license-templates", map[string]any{"name": "t", "productId": p.f.product, "period": 30}, &tpl)
	formID, _ := p.form(map[string]any{"name": "f", "price": "5.00", "currency": "usd", "templateId": tpl.ID})
	id := p.session(formID)
	p.page("GET", "/paymentform/session?id="+url.QueryEscape(id), nil)
	cs := p.checkout(id, "")
	if _, d, err := s.Pay(cs, stripefake.Buyer{Email: "l@example.com"}); err != nil || d.Status != 200 {
		t.Fatalf("pay: %v %d", err, d.Status)
	}
	if status, _ := stripefake.Post(hook, []byte(`{"id":"evt_forged"}`), "t=1,v1=00"); status != http.StatusBadRequest {
		t.Errorf("forged delivery = %d", status)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	var parts []string
	raw, _ := base64.StdEncoding.DecodeString(id)
	_ = json.Unmarshal(raw, &parts)
	for _, leak := range []string{s.SecretKey, s.WebhookSecret, id, url.QueryEscape(id), parts[1]} {
		if strings.Contains(out, leak) {
			t.Errorf("the logs contain a secret (%.12s...)", leak)
		}
	}
	var pages, failures int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %s", line)
			continue
		}
		switch m["msg"] {
		case "payment request":
			pages++
		case "payment webhook failed":
			failures++
			aws, _ := m["_aws"].(map[string]any)
			metrics, _ := aws["CloudWatchMetrics"].([]any)
			if len(metrics) != 1 || m["PaymentWebhookFailures"] != float64(1) || !strings.Contains(line, `"Namespace":"Keyturn"`) ||
				!strings.Contains(line, `"Name":"PaymentWebhookFailures"`) {
				t.Errorf("failure line is not an embedded metric: %s", line)
			}
		}
	}
	// GET page, POST checkout, the paid webhook, the forged webhook.
	if pages != 4 || failures != 1 {
		t.Errorf("%d payment request lines and %d failure lines, want 4 and 1:\n%s", pages, failures, out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
