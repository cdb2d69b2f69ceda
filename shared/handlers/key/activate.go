package key

import (
	"context"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/webapi"
)

// maxFloatingInterval bounds FloatingTimeInterval (seconds): a seat held
// longer than a year is not floating.
const maxFloatingInterval = 365 * 24 * 3600

// activate implements key/Activate.
func (h handlers) activate(ctx context.Context, c *webapi.Call) (any, error) {
	o, err := bindRender(c)
	if err != nil {
		return nil, err
	}
	interval, err := c.Params.Int32("FloatingTimeInterval", 0)
	if err != nil || interval < 0 || interval > maxFloatingInterval {
		return nil, apierr.BadInput
	}
	overdraft, err := c.Params.Int32("MaxOverdraft", 0)
	if err != nil || overdraft < 0 {
		return nil, apierr.BadInput
	}
	p, k, err := h.target(ctx, c)
	if err != nil {
		return nil, err
	}
	mid, _ := c.Params.String("MachineCode")
	if err := license.CheckMachineCode(mid); err != nil {
		return nil, err
	}
	fn, _ := c.Params.String("FriendlyName")
	osInfo, _ := c.Params.String("OSInfo")
	r, err := h.d.Licenses.Activate(ctx, keys.ActivateInput{
		AccountID: c.Principal.AccountID, ProductID: p.ID, Key: k, MachineCode: mid, FriendlyName: fn, IP: c.RemoteIP, OSInfo: osInfo,
		FloatingInterval: time.Duration(interval) * time.Second, MaxOverdraft: overdraft,
	})
	if err != nil {
		return nil, err
	}
	now := h.d.Now()
	floatingMid := ""
	activating := mid
	if interval > 0 {
		floatingMid = mid
		for _, s := range r.ActiveSeats(now) {
			if s.Mid == mid {
				activating = wireMid(s)
			}
		}
	}
	l, err := h.licenseOf(ctx, c.Principal.AccountID, r, now, o.model, floatingMid)
	if err != nil {
		return nil, err
	}
	return h.render(ctx, c.Principal.AccountID, p, l, activating, o, now)
}

// getKey implements key/GetKey (read only: one read of the key).
func (h handlers) getKey(ctx context.Context, c *webapi.Call) (any, error) {
	o, err := bindRender(c)
	if err != nil {
		return nil, err
	}
	if _, err := c.Params.Int32("FloatingTimeInterval", 0); err != nil {
		return nil, err
	}
	p, k, err := h.target(ctx, c)
	if err != nil {
		return nil, err
	}
	r, err := h.d.Licenses.Get(ctx, c.Principal.AccountID, p.ID, k)
	if err != nil {
		return nil, err
	}
	if err := c.Principal.Scope.CheckKey(r.ProductID, r.ID); err != nil {
		return nil, err
	}
	now := h.d.Now()
	l, err := h.licenseOf(ctx, c.Principal.AccountID, r, now, o.model, "")
	if err != nil {
		return nil, err
	}
	return h.render(ctx, c.Principal.AccountID, p, l, "", o, now)
}

// wireMid is a floating seat's machine code as clients see it.
func wireMid(s keys.Seat) string {
	if s.Overdraft {
		return "floating-overdraft:" + s.Mid
	}
	return "floating:" + s.Mid
}
