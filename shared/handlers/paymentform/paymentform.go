// Package paymentform implements the paymentform API group of Web API 3
// (/api/paymentform/CreateSession) and the pages and endpoint of payment
// forms outside it (Pages):
//
//	GET  /paymentform/session?id=<session id>          the payment page
//	POST /paymentform/session (id, code)               start paying: 303 to Stripe Checkout
//	GET  /paymentform/session/success?id=<session id>  the order's state; the key once paid
//	POST /paymentform/stripe/webhook/<account>         Stripe's webhook for the account
//
// The session id is the one CreateSession returned (query-escaped). The
// handlers bind and render; payments.Service does the work.
package paymentform

import (
	"context"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Group returns the paymentform API group.
func Group(svc *payments.Service) webapi.Group {
	h := handlers{svc: svc}
	return webapi.Group{Name: "paymentform", Methods: []webapi.Method{
		{Name: "CreateSession", Permission: "CreateSession", Handle: h.createSession},
	}}
}

type handlers struct{ svc *payments.Service }

// SessionResult is CreateSession's answer.
type SessionResult struct {
	SessionID string `json:"sessionId"`
}

// createSession implements paymentform/CreateSession. A form that creates
// keys of a product needs a token that reaches the product (product lock)
// and is not locked to one key; a form without a product (webhook only)
// needs a token without product or key lock.
func (h handlers) createSession(ctx context.Context, c *webapi.Call) (any, error) {
	formID, err := c.Params.Int("PaymentFormId", 0)
	if err != nil || formID <= 0 {
		return nil, apierr.BadInput
	}
	str := func(name string) string { v, _ := c.Params.String(name); return v }
	opt := func(name string) *string {
		if v, ok := c.Params.String(name); ok {
			return &v
		}
		return nil
	}
	in := payments.SessionInput{Price: str("Price"), Currency: str("Currency"), Heading: opt("Heading"),
		ProductName: opt("ProductName"), CustomField: str("CustomField"), Metadata: str("Metadata")}
	if _, ok := c.Params.String("Expires"); !ok {
		return nil, apierr.BadInput
	}
	if in.Expires, err = c.Params.Int("Expires", 0); err != nil {
		return nil, apierr.BadInput
	}
	if p := strings.TrimSpace(in.Price); strings.HasPrefix(p, "-") {
		return nil, apierr.BadInput
	}
	if err := payments.ValidateSession(in); err != nil {
		return nil, err
	}
	f, err := h.svc.Form(ctx, c.Principal.AccountID, formID)
	if err != nil {
		return nil, err
	}
	scope := c.Principal.Scope
	if f.ProductID != 0 {
		if err := scope.CheckProduct(f.ProductID); err != nil {
			return nil, err
		}
		if err := scope.RequireUnlockedKey(); err != nil {
			return nil, err
		}
	} else if err := scope.RequireAccountWide(); err != nil {
		return nil, err
	}
	id, _, err := h.svc.CreateSession(ctx, f, in)
	if err != nil {
		return nil, err
	}
	return SessionResult{SessionID: id}, nil
}
