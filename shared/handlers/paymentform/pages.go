package paymentform

import (
	"context"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Page and endpoint paths (see the package documentation).
const (
	SessionPath     = "/paymentform/session"
	SuccessPath     = "/paymentform/session/success"
	WebhookPrefix   = "/paymentform/stripe/webhook/"
	maxWebhookBytes = 256 << 10
)

// PagesDeps are the pages' dependencies.
type PagesDeps struct {
	Payments *payments.Service
	// PublicURL is the base URL buyers reach the service at, for Stripe's
	// return URLs (KEYTURN_PUBLIC_URL); without it no checkout starts.
	PublicURL string
	Logger    *slog.Logger
	// MetricNamespace and FailureMetric name the metric a failed Stripe
	// webhook delivery emits (CloudWatch embedded metric format); empty:
	// none.
	MetricNamespace, FailureMetric string
	// Now is the clock.
	Now func() time.Time
}

// Pages returns the handler of the payment pages and of Stripe's webhook.
func Pages(d PagesDeps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &pages{d: d}
}

type pages struct{ d PagesDeps }

// statusWriter remembers the status for the request's log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func (p *pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	path := webapi.CleanPath(r.URL.Path)
	attrs := []any{"method", r.Method, "path", path}
	switch {
	case path == SessionPath && r.Method == http.MethodGet:
		p.payPage(sw, r, "", "")
	case path == SessionPath && r.Method == http.MethodPost:
		p.startCheckout(sw, r)
	case path == SuccessPath && r.Method == http.MethodGet:
		p.successPage(sw, r)
	case strings.HasPrefix(path, WebhookPrefix) && r.Method == http.MethodPost:
		acc, err := strconv.ParseInt(strings.TrimPrefix(path, WebhookPrefix), 10, 64)
		if err != nil || acc <= 0 {
			http.NotFound(sw, r)
			break
		}
		attrs = append(attrs, "accountId", acc)
		attrs = append(attrs, p.webhook(sw, r, acc)...)
	default:
		http.NotFound(sw, r)
	}
	attrs = append(attrs, "status", sw.status, "ms", time.Since(start).Milliseconds())
	level := slog.LevelInfo
	if sw.status >= 500 {
		level = slog.LevelError
	}
	p.d.Logger.Log(r.Context(), level, "payment request", attrs...)
}

// view is what the page template renders.
type view struct {
	Title   string
	Heading string
	Error   string
	Message string
	Refresh bool
	Pay     *payView
	Done    *doneView
}

type payView struct {
	ID, ProductName, Price, Code string
	// Started: the checkout was started (the buyer came back from it);
	// the price is what it charges and the code can no longer change.
	Started bool
}

type doneView struct {
	Key, Email, Price string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">{{if .Refresh}}<meta http-equiv="refresh" content="3">{{end}}
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;background:#f6f7f9;margin:0}main{max-width:28rem;margin:3rem auto;background:#fff;
padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0002}h1{font-size:1.4rem}.price{font-size:1.8rem;font-weight:600}
.error{color:#b00020}.key{font-size:1.2rem;background:#eef;padding:.6rem;border-radius:4px;word-break:break-all}
label{display:block;margin:1rem 0}input{width:100%;padding:.5rem;box-sizing:border-box}
button{width:100%;padding:.7rem;font-size:1rem;background:#234;color:#fff;border:0;border-radius:4px;cursor:pointer}</style>
</head><body><main>
{{if .Heading}}<h1>{{.Heading}}</h1>{{end}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{with .Pay}}<p class="item">{{.ProductName}}</p><p class="price">{{.Price}}</p>
<form method="post" action="/paymentform/session"><input type="hidden" name="id" value="{{.ID}}">
{{if .Started}}<button type="submit">Continue to payment</button>{{else}}
<label>Discount code <input name="code" value="{{.Code}}" maxlength="32" autocomplete="off"></label>
<button type="submit">Pay {{.Price}}</button>{{end}}</form>{{end}}
{{with .Done}}<p>Thank you for your purchase{{if .Price}} ({{.Price}}){{end}}.</p>
{{if .Key}}<p>Your license key:</p><p class="key"><code>{{.Key}}</code></p>{{end}}
{{if .Email}}<p>The order is registered to {{.Email}}.</p>{{end}}{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
</main></body></html>
`))

// render writes a page with the headers every payment page carries: no
// caching (the pages show keys), no framing, no referrer (the URL holds
// the session id), nothing loaded from elsewhere.
func render(w http.ResponseWriter, status int, v view) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' https://checkout.stripe.com")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, v)
}

// Buyer-facing messages.
const (
	msgNotFound      = "This payment link is not valid."
	msgExpired       = "This payment link has expired. Please ask the seller for a new one."
	msgUsed          = "This payment link has already been used."
	msgNotConfigured = "Payments are not available at the moment. Please try again later."
	msgBusy          = "Your payment is being prepared. Please reload this page in a moment."
	msgFailed        = "The payment could not be started. Please try again."
)

// sessionMessage is the page for a session error.
func sessionMessage(err error) (int, string) {
	switch {
	case errors.Is(err, payments.ErrSessionNotFound):
		return http.StatusNotFound, msgNotFound
	case errors.Is(err, payments.ErrSessionExpired):
		return http.StatusGone, msgExpired
	case errors.Is(err, payments.ErrSessionUsed):
		return http.StatusGone, msgUsed
	case errors.Is(err, payments.ErrNotConfigured):
		return http.StatusServiceUnavailable, msgNotConfigured
	case errors.Is(err, payments.ErrCheckoutBusy):
		return http.StatusConflict, msgBusy
	}
	return http.StatusInternalServerError, msgFailed
}

// discountMessage is the buyer-facing text of a discount error ("" when
// err is not one).
func discountMessage(err error) string {
	switch {
	case errors.Is(err, payments.ErrDiscountNotFound):
		return "This discount code is not valid."
	case errors.Is(err, payments.ErrDiscountUnavailable):
		return "This discount code has expired or has been used up."
	case errors.Is(err, payments.ErrDiscountNotForUse):
		return "This discount code does not apply to this purchase."
	}
	return ""
}

// payPage shows the session's payment page (GET has no effect).
func (p *pages) payPage(w http.ResponseWriter, r *http.Request, code, problem string) {
	id := r.FormValue("id")
	s, err := p.d.Payments.Session(r.Context(), id)
	if err != nil {
		status, msg := sessionMessage(err)
		render(w, status, view{Title: "Payment", Error: msg})
		return
	}
	switch s.Status {
	case payments.StatusCompleting, payments.StatusCompleted:
		http.Redirect(w, r, SuccessPath+"?id="+url.QueryEscape(id), http.StatusSeeOther)
		return
	case payments.StatusCancelled:
		render(w, http.StatusGone, view{Title: "Payment", Heading: s.Heading, Error: msgUsed})
		return
	case payments.StatusOpen:
		if !p.d.Now().Before(s.Expires) {
			render(w, http.StatusGone, view{Title: "Payment", Heading: s.Heading, Error: msgExpired})
			return
		}
	}
	title := s.Heading
	if title == "" {
		title = "Payment"
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	pay := &payView{ID: id, ProductName: s.ProductName, Price: payments.FormatAmount(s.Amount, s.Currency), Code: code}
	if s.Status == payments.StatusCheckout {
		pay.Started, pay.Price = true, payments.FormatAmount(s.Charged, s.Currency)
	}
	render(w, status, view{Title: title, Heading: s.Heading, Error: problem, Pay: pay})
}

// startCheckout starts (or resumes) the session's checkout and sends the
// buyer there.
func (p *pages) startCheckout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, view{Title: "Payment", Error: msgNotFound})
		return
	}
	id, code := r.PostFormValue("id"), strings.TrimSpace(r.PostFormValue("code"))
	if len(code) > 64 {
		code = code[:64]
	}
	// Stripe sends the buyer back to these pages with the session id, which
	// shows the key: they are built from the configured URL, never from
	// request headers a client could set.
	base := p.d.PublicURL
	if base == "" {
		p.d.Logger.Error("start checkout: KEYTURN_PUBLIC_URL is not set; payment pages need it for Stripe's return URLs")
		render(w, http.StatusServiceUnavailable, view{Title: "Payment", Error: msgNotConfigured})
		return
	}
	escaped := url.QueryEscape(id)
	target, err := p.d.Payments.StartCheckout(r.Context(), id, code, payments.Pages{
		Success: base + SuccessPath + "?id=" + escaped, Cancel: base + SessionPath + "?id=" + escaped})
	if err == nil {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	if msg := discountMessage(err); msg != "" {
		p.payPage(w, r, code, msg)
		return
	}
	status, msg := sessionMessage(err)
	if status == http.StatusInternalServerError {
		p.d.Logger.Error("start checkout", "error", err.Error())
	}
	render(w, status, view{Title: "Payment", Error: msg})
}

// successPage shows the order: the key once paid, a waiting page (that
// reloads itself) until the payment is confirmed.
func (p *pages) successPage(w http.ResponseWriter, r *http.Request) {
	s, err := p.d.Payments.Session(r.Context(), r.FormValue("id"))
	if err != nil {
		status, msg := sessionMessage(err)
		render(w, status, view{Title: "Order", Error: msg})
		return
	}
	switch s.Status {
	case payments.StatusCompleted:
		d := &doneView{Email: s.BuyerEmail, Price: payments.FormatAmount(s.Charged, s.Currency)}
		if s.KeyID != 0 {
			d.Key = s.Key
		}
		render(w, http.StatusOK, view{Title: "Thank you", Heading: s.Heading, Done: d})
	case payments.StatusCancelled:
		render(w, http.StatusOK, view{Title: "Order", Heading: s.Heading, Error: "The payment did not complete. Nothing was charged."})
	case payments.StatusOpen:
		render(w, http.StatusOK, view{Title: "Order", Heading: s.Heading, Message: "No payment has been made for this order yet."})
	default:
		render(w, http.StatusOK, view{Title: "Order", Heading: s.Heading, Refresh: true,
			Message: "Waiting for the payment to be confirmed. This page reloads by itself."})
	}
}

// webhook handles one Stripe webhook delivery and returns log attributes.
// Stripe retries deliveries that are not answered 2xx (for 3 days), so
// failures that a retry can fix answer 5xx (or 409 while another
// delivery completes the order); a signature that does not verify is
// 400. Failures other than the order being busy emit the failure metric.
func (p *pages) webhook(w http.ResponseWriter, r *http.Request, accountID int64) []any {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBytes+1))
	if err != nil || len(body) > maxWebhookBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, `{"error":"body too large"}`)
		return []any{"webhook", "too large"}
	}
	res, err := p.d.Payments.HandleWebhook(r.Context(), accountID, body, r.Header.Get("Stripe-Signature"))
	var rejected *payments.RejectedError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, `{"received":true}`)
		return []any{"webhook", [...]string{"handled", "duplicate", "ignored"}[res]}
	case errors.Is(err, payments.ErrOrderBusy):
		writeJSON(w, http.StatusConflict, `{"error":"order in progress, retry later"}`)
		return []any{"webhook", "busy"}
	case errors.Is(err, payments.ErrBadSignature), errors.Is(err, payments.ErrNotConfigured):
		p.failure(r.Context(), accountID, err)
		writeJSON(w, http.StatusBadRequest, `{"error":"signature not verified"}`)
		return []any{"webhook", "refused"}
	case errors.As(err, &rejected):
		// Nothing a redelivery could change: acknowledge, alarm.
		p.failure(r.Context(), accountID, err)
		writeJSON(w, http.StatusOK, `{"received":true,"rejected":true}`)
		return []any{"webhook", "rejected"}
	}
	p.failure(r.Context(), accountID, err)
	writeJSON(w, http.StatusInternalServerError, `{"error":"internal error, retry later"}`)
	return []any{"webhook", "failed"}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// failure logs a webhook failure as one JSON line in CloudWatch's
// embedded metric format, so the log line itself publishes the failure
// metric (namespace and name from the deployment, no dimensions).
func (p *pages) failure(ctx context.Context, accountID int64, err error) {
	attrs := []slog.Attr{slog.Int64("accountId", accountID), slog.String("error", err.Error())}
	if p.d.FailureMetric != "" {
		attrs = append(attrs, slog.Any("_aws", map[string]any{
			"Timestamp": p.d.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  p.d.MetricNamespace,
				"Dimensions": [][]string{{}},
				"Metrics":    []any{map[string]any{"Name": p.d.FailureMetric, "Unit": "Count"}},
			}},
		}), slog.Int(p.d.FailureMetric, 1))
	}
	p.d.Logger.LogAttrs(ctx, slog.LevelError, "payment webhook failed", attrs...)
}
