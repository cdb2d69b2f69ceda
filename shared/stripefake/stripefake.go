// Package stripefake is an in-process Stripe for tests: an httptest
// server speaking the Stripe HTTP API for the calls Keyturn makes, so the
// official stripe-go client (through its backend URL) is exercised on the
// real wire format: form-encoded requests with bracketed names, Bearer
// secret-key authentication, Idempotency-Key replay (the same key with
// other parameters is an idempotency_error), JSON objects, and errors as
// {"error":{"type","code","message","param"}} with Stripe's status codes.
//
// Implemented endpoints:
//
//	POST /v1/checkout/sessions         mode=payment with one price_data line item
//	GET  /v1/checkout/sessions/{id}
//	GET  /v1/subscription_items/{id}   items made by AddMeteredItem
//	GET  /v1/subscriptions/{id}
//	GET  /v1/billing/meters/{id}
//	POST /v1/billing/meter_events      the event name must be an active meter's
//	                                   and the payload must name a known customer;
//	                                   a repeated identifier is refused
//
// and the hosted checkout page (GET /checkout/{id} shows it; POST pays
// it, as Pay does). Paying, expiring or failing a checkout sends the
// matching checkout.session.* event to the webhook URL (SetWebhook),
// signed like Stripe (Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of
// "<t>.<payload>" under the webhook secret>). Deliveries are kept and can
// be sent again (Redeliver) or with another timestamp (DeliverAt).
// FailNext injects an error answer. Safe for concurrent use.
package stripefake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// APIVersion is the version the fake stamps on events (stripe-go v82's).
const APIVersion = "2025-08-27.basil"

// Operation names for Calls and FailNext.
const (
	OpCreateCheckout    = "POST /v1/checkout/sessions"
	OpGetCheckout       = "GET /v1/checkout/sessions"
	OpGetItem           = "GET /v1/subscription_items"
	OpGetSubscription   = "GET /v1/subscriptions"
	OpGetMeter          = "GET /v1/billing/meters"
	OpCreateMeterEvent  = "POST /v1/billing/meter_events"
	checkoutPagePrefix  = "/checkout/"
	maxRequestBodyBytes = 1 << 20
)

// Server is a fake Stripe account reachable over HTTP.
type Server struct {
	// URL is the API base URL to configure the client with.
	URL string
	// SecretKey is the only API key the server accepts; WebhookSecret
	// signs the events it sends.
	SecretKey     string
	WebhookSecret string

	srv *httptest.Server
	now func() time.Time

	mu          sync.Mutex
	seq         int
	checkouts   map[string]*checkout
	items       map[string]item
	subs        map[string]string // subscription -> customer
	meters      map[string]*Meter
	customers   map[string]bool
	events      []MeterEvent
	identifiers map[string]bool
	idem        map[string]replay
	calls       map[string]int
	requests    []Request
	failures    map[string][]failure
	webhook     string
	deliveries  []Delivery
}

// Request is one API request the server received.
type Request struct {
	Op             string
	IdempotencyKey string
	StripeVersion  string
	Form           url.Values
}

// Meter is a billing meter.
type Meter struct {
	ID          string
	EventName   string
	CustomerKey string
	ValueKey    string
	Formula     string // "sum", "count" or "last"
	Active      bool
}

// MeterEvent is a meter event the server accepted.
type MeterEvent struct {
	EventName  string
	Identifier string
	Payload    map[string]string
	Timestamp  int64
}

// Delivery is one webhook delivery.
type Delivery struct {
	EventID string
	Type    string
	Payload []byte
	Header  string
	Status  int
	Err     error
}

type checkout struct {
	obj map[string]any
}

type item struct {
	id, subscription, price, meter string
}

type replay struct {
	form   url.Values
	status int
	body   []byte
}

type failure struct {
	status        int
	typ, code, mg string
}

// New starts a server with fresh keys; it stops when the test ends.
func New(t testing.TB) *Server {
	s := Start()
	t.Cleanup(s.Close)
	return s
}

// Start starts a server with fresh keys (outside tests: benchmarks);
// Close stops it.
func Start() *Server {
	s := &Server{SecretKey: "sk_test_fake" + randHex(12), WebhookSecret: "whsec_fake" + randHex(16), now: time.Now,
		checkouts: map[string]*checkout{}, items: map[string]item{}, subs: map[string]string{}, meters: map[string]*Meter{},
		customers: map[string]bool{}, identifiers: map[string]bool{}, idem: map[string]replay{}, calls: map[string]int{},
		failures: map[string][]failure{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// id returns a new object id with Stripe's prefix.
func (s *Server) id(prefix string) string {
	s.seq++
	return prefix + "_test_" + strconv.Itoa(s.seq) + randHex(6)
}

// SetWebhook sets the endpoint events are delivered to.
func (s *Server) SetWebhook(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = endpoint
}

// AddMeteredItem creates a customer, a billing meter with the event name
// (sum, active, default payload keys), a metered price on it, a
// subscription of the customer and its item, and returns the item's and
// the customer's ids.
func (s *Server) AddMeteredItem(eventName string) (itemID, customerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	customerID = s.id("cus")
	s.customers[customerID] = true
	m := &Meter{ID: s.id("mtr"), EventName: eventName, CustomerKey: "stripe_customer_id", ValueKey: "value", Formula: "sum", Active: true}
	s.meters[m.ID] = m
	sub := s.id("sub")
	s.subs[sub] = customerID
	itemID = s.id("si")
	s.items[itemID] = item{id: itemID, subscription: sub, price: s.id("price"), meter: m.ID}
	return itemID, customerID
}

// UpdateMeter changes the meter of an item (formula, activity, keys).
func (s *Server) UpdateMeter(itemID string, change func(*Meter)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.meters[s.items[itemID].meter])
}

// DeleteCustomer removes a customer (its meter events are then refused).
func (s *Server) DeleteCustomer(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.customers, id)
}

// MeterEvents returns the meter events accepted, in order.
func (s *Server) MeterEvents() []MeterEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MeterEvent(nil), s.events...)
}

// Calls returns how many requests of op the server answered (replays and
// injected failures included).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Requests returns every API request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// FailNext makes the next request of op fail with status and a Stripe
// error of the type, code and message.
func (s *Server) FailNext(op string, status int, typ, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[op] = append(s.failures[op], failure{status, typ, code, message})
}

// Checkout returns a copy of a checkout session object.
func (s *Server) Checkout(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.checkouts[id]
	if !ok {
		return nil, false
	}
	return clone(c.obj), true
}

// CheckoutIDs returns the ids of every checkout session, oldest first.
func (s *Server) CheckoutIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.checkouts {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		return s.checkouts[ids[i]].obj["created"].(int64) < s.checkouts[ids[j]].obj["created"].(int64) || ids[i] < ids[j]
	})
	return ids
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// stripeError writes Stripe's error envelope.
func stripeError(w http.ResponseWriter, status int, typ, code, msg, param string) {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_"+randHex(8))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// recorder captures a response for idempotent replay.
type recorder struct {
	status int
	buf    bytes.Buffer
	h      http.Header
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, checkoutPagePrefix) {
		s.page(w, r)
		return
	}
	op, id := route(r.Method, r.URL.Path)
	if op == "" {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+").", "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBodyBytes))
	if err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "unreadable body", "")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "malformed form body", "")
		return
	}
	idemKey := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	s.requests = append(s.requests, Request{Op: op, IdempotencyKey: idemKey, StripeVersion: r.Header.Get("Stripe-Version"), Form: form})
	if key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || key != s.SecretKey {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided: "+mask(key), "")
		return
	}
	if fs := s.failures[op]; len(fs) > 0 {
		f := fs[0]
		s.failures[op] = fs[1:]
		stripeError(w, f.status, f.typ, f.code, f.mg, "")
		return
	}
	if r.Method == http.MethodPost && idemKey != "" {
		if rp, ok := s.idem[idemKey]; ok {
			if !sameForm(rp.form, form) {
				stripeError(w, http.StatusBadRequest, "idempotency_error", "",
					"Keys for idempotent requests can only be used with the same parameters they were first used with.", "")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(rp.status)
			_, _ = w.Write(rp.body)
			return
		}
		rec := &recorder{status: http.StatusOK, h: w.Header()}
		s.handle(rec, op, id, form)
		if rec.status < 500 {
			s.idem[idemKey] = replay{form: form, status: rec.status, body: rec.buf.Bytes()}
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.buf.Bytes())
		return
	}
	s.handle(w, op, id, form)
}

func mask(key string) string {
	if len(key) <= 4 {
		return "****"
	}
	return "sk_****" + key[len(key)-4:]
}

func sameForm(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

// route names the operation of a request and the object id in its path.
func route(method, path string) (op, id string) {
	for _, r := range []struct{ op, prefix string }{
		{OpCreateCheckout, "/v1/checkout/sessions"}, {OpGetCheckout, "/v1/checkout/sessions/"},
		{OpGetItem, "/v1/subscription_items/"}, {OpGetSubscription, "/v1/subscriptions/"},
		{OpGetMeter, "/v1/billing/meters/"}, {OpCreateMeterEvent, "/v1/billing/meter_events"},
	} {
		verb, _, _ := strings.Cut(r.op, " ")
		if verb != method {
			continue
		}
		if strings.HasSuffix(r.prefix, "/") {
			if rest, ok := strings.CutPrefix(path, r.prefix); ok && rest != "" && !strings.Contains(rest, "/") {
				return r.op, rest
			}
		} else if path == r.prefix {
			return r.op, ""
		}
	}
	return "", ""
}

// handle runs one operation (s.mu held).
func (s *Server) handle(w http.ResponseWriter, op, id string, f url.Values) {
	missing := func(kind, id string) {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such "+kind+": '"+id+"'", "id")
	}
	switch op {
	case OpCreateCheckout:
		s.createCheckout(w, f)
	case OpGetCheckout:
		c, ok := s.checkouts[id]
		if !ok {
			missing("checkout.session", id)
			return
		}
		writeJSON(w, http.StatusOK, c.obj)
	case OpGetItem:
		it, ok := s.items[id]
		if !ok {
			missing("subscription_item", id)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": it.id, "object": "subscription_item", "subscription": it.subscription,
			"quantity": nil, "metadata": map[string]string{},
			"price": map[string]any{"id": it.price, "object": "price", "type": "recurring", "currency": "usd",
				"recurring": map[string]any{"interval": "month", "interval_count": 1, "meter": it.meter, "usage_type": "metered"}}})
	case OpGetSubscription:
		cus, ok := s.subs[id]
		if !ok {
			missing("subscription", id)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "subscription", "customer": cus, "status": "active"})
	case OpGetMeter:
		m, ok := s.meters[id]
		if !ok {
			missing("billing.meter", id)
			return
		}
		writeJSON(w, http.StatusOK, meterObject(m))
	case OpCreateMeterEvent:
		s.createMeterEvent(w, f)
	}
}

func meterObject(m *Meter) map[string]any {
	status := "inactive"
	if m.Active {
		status = "active"
	}
	return map[string]any{"id": m.ID, "object": "billing.meter", "event_name": m.EventName, "status": status,
		"customer_mapping":    map[string]any{"type": "by_id", "event_payload_key": m.CustomerKey},
		"value_settings":      map[string]any{"event_payload_key": m.ValueKey},
		"default_aggregation": map[string]any{"formula": m.Formula}}
}

func (s *Server) createCheckout(w http.ResponseWriter, f url.Values) {
	bad := func(param, msg string) {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_empty", msg, param)
	}
	if f.Get("mode") != "payment" {
		bad("mode", "The fake supports mode=payment only.")
		return
	}
	cur := f.Get("line_items[0][price_data][currency]")
	amount, err := strconv.ParseInt(f.Get("line_items[0][price_data][unit_amount]"), 10, 64)
	switch {
	case cur == "" || len(cur) != 3:
		bad("line_items[0][price_data][currency]", "Missing or invalid currency.")
		return
	case err != nil || amount < 1 || amount > 99999999:
		bad("line_items[0][price_data][unit_amount]", "Invalid unit_amount.")
		return
	case f.Get("line_items[0][price_data][product_data][name]") == "":
		bad("line_items[0][price_data][product_data][name]", "Missing product name.")
		return
	case f.Get("line_items[0][quantity]") != "1":
		bad("line_items[0][quantity]", "The fake supports quantity 1.")
		return
	case f.Get("success_url") == "" || f.Get("cancel_url") == "":
		bad("success_url", "Missing success_url or cancel_url.")
		return
	case f.Has("line_items[1][quantity]"):
		bad("line_items", "The fake supports one line item.")
		return
	}
	now := s.now().Unix()
	expires := now + 24*3600
	if v := f.Get("expires_at"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < now+30*60-5 || n > now+24*3600+5 {
			bad("expires_at", "expires_at must be 30 minutes to 24 hours from now.")
			return
		}
		expires = n
	}
	meta := map[string]string{}
	for k, v := range f {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(name, "]") {
			meta[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	id := s.id("cs")
	obj := map[string]any{"id": id, "object": "checkout.session", "mode": "payment", "status": "open",
		"payment_status": "unpaid", "amount_total": amount, "amount_subtotal": amount, "currency": cur,
		"client_reference_id": f.Get("client_reference_id"), "metadata": meta, "success_url": f.Get("success_url"),
		"cancel_url": f.Get("cancel_url"), "url": s.URL + checkoutPagePrefix + id, "expires_at": expires, "created": now,
		"customer_details": nil, "payment_intent": nil, "livemode": false,
		"product_name": f.Get("line_items[0][price_data][product_data][name]")}
	s.checkouts[id] = &checkout{obj: obj}
	writeJSON(w, http.StatusOK, obj)
}

func (s *Server) createMeterEvent(w http.ResponseWriter, f url.Values) {
	name := f.Get("event_name")
	var meter *Meter
	for _, m := range s.meters {
		if m.EventName == name && m.Active {
			meter = m
		}
	}
	if meter == nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "No active meter found with event_name '"+name+"'.", "event_name")
		return
	}
	payload := map[string]string{}
	for k, v := range f {
		if key, ok := strings.CutPrefix(k, "payload["); ok && strings.HasSuffix(key, "]") {
			payload[strings.TrimSuffix(key, "]")] = v[0]
		}
	}
	if cus := payload[meter.CustomerKey]; !s.customers[cus] {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "No such customer: '"+cus+"'", "payload["+meter.CustomerKey+"]")
		return
	}
	if _, err := strconv.ParseInt(payload[meter.ValueKey], 10, 64); err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "The payload value must be a whole number.", "payload["+meter.ValueKey+"]")
		return
	}
	ident := f.Get("identifier")
	if ident == "" {
		ident = "auto_" + randHex(8)
	}
	if s.identifiers[ident] {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "An event already exists with identifier "+ident+".", "identifier")
		return
	}
	ts, err := strconv.ParseInt(f.Get("timestamp"), 10, 64)
	if err != nil {
		ts = s.now().Unix()
	}
	s.identifiers[ident] = true
	s.events = append(s.events, MeterEvent{EventName: name, Identifier: ident, Payload: payload, Timestamp: ts})
	writeJSON(w, http.StatusOK, map[string]any{"object": "billing.meter_event", "event_name": name, "identifier": ident,
		"payload": payload, "timestamp": ts, "created": s.now().Unix(), "livemode": false})
}

// Buyer is who pays at the hosted checkout.
type Buyer struct {
	Email, Name string
}

// Pay completes checkout id as paid by buyer and delivers
// checkout.session.completed; it returns the checkout's success URL and
// the delivery. A checkout that is not open is refused.
func (s *Server) Pay(id string, b Buyer) (string, Delivery, error) {
	s.mu.Lock()
	c, ok := s.checkouts[id]
	if !ok || c.obj["status"] != "open" {
		s.mu.Unlock()
		return "", Delivery{}, fmt.Errorf("stripefake: checkout %s is not open", id)
	}
	c.obj["status"], c.obj["payment_status"] = "complete", "paid"
	c.obj["customer_details"] = map[string]any{"email": b.Email, "name": b.Name}
	c.obj["payment_intent"] = s.id("pi")
	success := c.obj["success_url"].(string)
	ev := s.event("checkout.session.completed", c.obj)
	s.mu.Unlock()
	return success, s.deliver(ev, s.now()), nil
}

// Expire expires open checkout id and delivers checkout.session.expired.
func (s *Server) Expire(id string) (Delivery, error) {
	s.mu.Lock()
	c, ok := s.checkouts[id]
	if !ok || c.obj["status"] != "open" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("stripefake: checkout %s is not open", id)
	}
	c.obj["status"] = "expired"
	ev := s.event("checkout.session.expired", c.obj)
	s.mu.Unlock()
	return s.deliver(ev, s.now()), nil
}

// SendEvent delivers an event of type typ whose object is checkout id's
// after change edits a copy of it (events with wrong amounts, unknown
// references ...).
func (s *Server) SendEvent(typ, id string, change func(obj map[string]any)) (Delivery, error) {
	s.mu.Lock()
	c, ok := s.checkouts[id]
	if !ok {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("stripefake: no checkout %s", id)
	}
	obj := clone(c.obj)
	if change != nil {
		change(obj)
	}
	ev := s.event(typ, obj)
	s.mu.Unlock()
	return s.deliver(ev, s.now()), nil
}

// event builds an event (s.mu held).
func (s *Server) event(typ string, obj map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": s.id("evt"), "object": "event", "api_version": APIVersion,
		"created": s.now().Unix(), "type": typ, "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil}, "data": map[string]any{"object": obj}})
	return b
}

// Sign returns the Stripe-Signature header of payload signed at t with
// the webhook secret.
func (s *Server) Sign(payload []byte, t time.Time) string {
	m := hmac.New(sha256.New, []byte(s.WebhookSecret))
	m.Write([]byte(strconv.FormatInt(t.Unix(), 10) + "."))
	m.Write(payload)
	return "t=" + strconv.FormatInt(t.Unix(), 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// deliver POSTs payload to the webhook signed at t and records it.
func (s *Server) deliver(payload []byte, t time.Time) Delivery {
	var head struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	_ = json.Unmarshal(payload, &head)
	d := Delivery{EventID: head.ID, Type: head.Type, Payload: payload, Header: s.Sign(payload, t)}
	s.mu.Lock()
	endpoint := s.webhook
	s.mu.Unlock()
	if endpoint == "" {
		d.Err = fmt.Errorf("stripefake: no webhook endpoint set")
	} else {
		d.Status, d.Err = Post(endpoint, payload, d.Header)
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d
}

// Post sends one webhook request as Stripe does and returns its status.
func Post(endpoint string, payload []byte, signature string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", signature)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// Deliveries returns every webhook delivery, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Redeliver sends delivery i again as Stripe retries: the same event
// (payload), signed anew at the current time.
func (s *Server) Redeliver(i int) Delivery {
	s.mu.Lock()
	payload := s.deliveries[i].Payload
	s.mu.Unlock()
	return s.deliver(payload, s.now())
}

// DeliverAt sends delivery i's payload signed at t (a replay of a
// captured delivery when t is its old timestamp).
func (s *Server) DeliverAt(i int, t time.Time) Delivery {
	s.mu.Lock()
	payload := s.deliveries[i].Payload
	s.mu.Unlock()
	return s.deliver(payload, t)
}

var pageTmpl = template.Must(template.New("checkout").Parse(`<!doctype html>
<title>Fake Stripe Checkout</title>
<h1>{{.name}}</h1>
<p>{{.amount}} {{.currency}}</p>
<form method="post"><input name="email" value="buyer@example.com"><input name="name" value="Buyer"><button>Pay</button></form>`))

// page serves the hosted checkout: GET shows it, POST pays it and
// redirects to the success URL.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, checkoutPagePrefix)
	c, ok := s.Checkout(id)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodPost {
		success, _, err := s.Pay(id, Buyer{Email: r.FormValue("email"), Name: r.FormValue("name")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		http.Redirect(w, r, success, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, map[string]any{"name": c["product_name"], "amount": c["amount_total"], "currency": c["currency"]})
}
