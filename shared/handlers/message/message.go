// Package message implements the message API group of Web API 3
// (/api/message/*): CreateMessage, GetMessages and RemoveMessage. Creating
// and removing need the "Edit Messages" permission (EditMessages) and a
// token without product or key lock (messages belong to the account, not
// to a product); reading needs GetMessages and works with any lock, so the
// product-locked tokens apps carry can read their vendor's messages.
// Handlers bind parameters and call the messages service, where every rule
// lives.
package message

import (
	"context"
	"strconv"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/messages"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// EditPermission is the permission the reference calls "Edit Messages".
const EditPermission = "EditMessages"

// Deps are the message group's dependencies.
type Deps struct {
	// Messages is the message service.
	Messages *messages.Service
}

// Group returns the message API group.
func Group(d Deps) webapi.Group {
	h := handlers{svc: d.Messages}
	return webapi.Group{Name: "message", Methods: []webapi.Method{
		{Name: "CreateMessage", Permission: EditPermission, Handle: accountWide(h.create)},
		{Name: "GetMessages", Permission: "GetMessages", Handle: h.list},
		{Name: "RemoveMessage", Permission: EditPermission, Handle: accountWide(h.remove)},
	}}
}

type handlers struct{ svc *messages.Service }

// accountWide refuses a token with a product or key lock
// (auth.Scope.RequireAccountWide): messages reach every user of the
// account's products.
func accountWide(f webapi.HandlerFunc) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		if err := c.Principal.Scope.RequireAccountWide(); err != nil {
			return nil, err
		}
		return f(ctx, c)
	}
}

// text returns an optional text parameter (nil when absent, empty, or
// one of the literals clients send for "not set").
func text(c *webapi.Call, name string) *string {
	if v, ok := c.Params.String(name); ok {
		return &v
	}
	return nil
}

// unixTime binds the Time parameter: a base-10 unix timestamp, or
// apierr.MessageTimeFormat.
func unixTime(c *webapi.Call) (*int64, error) {
	v, ok := c.Params.String("Time")
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return nil, apierr.MessageTimeFormat.Wrap(err)
	}
	return &n, nil
}

type createResult struct {
	MessageID int64 `json:"messageId"`
}

func (h handlers) create(ctx context.Context, c *webapi.Call) (any, error) {
	t, err := unixTime(c)
	if err != nil {
		return nil, err
	}
	m, err := h.svc.Create(ctx, c.Principal.AccountID, messages.New{Content: text(c, "Content"), Channel: text(c, "Channel"), Time: t})
	if err != nil {
		return nil, err
	}
	return createResult{MessageID: m.ID}, nil
}

type listResult struct {
	Messages []wire.Message `json:"messages"`
}

func (h handlers) list(ctx context.Context, c *webapi.Call) (any, error) {
	t, err := unixTime(c)
	if err != nil {
		return nil, err
	}
	ms, err := h.svc.List(ctx, c.Principal.AccountID, messages.Filter{Channel: text(c, "Channel"), After: t})
	if err != nil {
		return nil, err
	}
	out := listResult{Messages: make([]wire.Message, len(ms))}
	for i, m := range ms {
		out.Messages[i] = wire.Message{ID: m.ID, Content: m.Content, Created: m.Created.Unix(), Channel: m.Channel}
	}
	return out, nil
}

func (h handlers) remove(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int("Id", 0)
	if err != nil {
		return nil, err
	}
	return nil, h.svc.Remove(ctx, c.Principal.AccountID, id)
}
