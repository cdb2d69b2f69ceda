// Package userauth implements the userauth API group of Web API 3
// (/api/userauth/*): end users who log in with a username and password to
// obtain their licenses. Handlers bind parameters, check permissions, call
// the users domain service and return the wire model.
//
// Permissions: Login, CreateLoginToken and ChangePassword (with an old
// password or a reset token) accept a token with UserAuthNormal or
// UserAuthAdmin; they are registered without a webapi permission and check
// either one themselves. Every other method, and ChangePassword and
// CreateLoginToken with AdminMode=true, needs UserAuthAdmin. Those administer the account's users, which belong to no
// product or key, so a token with a product or key lock is refused by them.
//
// Parameters follow the protocol's rules (package webapi): the literals
// None, null and undefined and the empty string mean "not given", for
// passwords too, so such a password can never be set. Login lists only the
// licenses the token's product lock and key lock allow.
package userauth

import (
	"context"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// The permissions of the group.
const (
	PermNormal = "UserAuthNormal"
	PermAdmin  = "UserAuthAdmin"
)

// Deps are the userauth group's dependencies.
type Deps struct {
	Users *users.Service
}

type handlers struct{ d Deps }

// Group returns the userauth API group.
func Group(d Deps) webapi.Group {
	h := handlers{d: d}
	return webapi.Group{Name: "userauth", Methods: []webapi.Method{
		// Login and ChangePassword accept either permission (checked by the
		// handler; see userOrAdmin).
		{Name: "Login", Handle: h.login},
		{Name: "ChangePassword", Handle: h.changePassword},
		// Keyturn's own: a one-time login token (checked like Login).
		{Name: "CreateLoginToken", Handle: h.createLoginToken},
		{Name: "Register", Permission: PermAdmin, Handle: accountWide(h.register)},
		{Name: "Associate", Permission: PermAdmin, Handle: accountWide(h.associate)},
		{Name: "Dissociate", Permission: PermAdmin, Handle: accountWide(h.dissociate)},
		{Name: "GetUsers", Permission: PermAdmin, Handle: accountWide(h.getUsers)},
		{Name: "ResetPasswordToken", Permission: PermAdmin, Handle: accountWide(h.resetPasswordToken)},
		{Name: "RemoveUser", Permission: PermAdmin, Handle: accountWide(h.removeUser)},
	}}
}

// accountWide refuses a token with a product or key lock
// (apierr.AccessDenied) before f: the admin methods manage the account's
// users, which belong to no product or key.
func accountWide(f webapi.HandlerFunc) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		if err := c.Principal.Scope.RequireAccountWide(); err != nil {
			return nil, err
		}
		return f(ctx, c)
	}
}

// userOrAdmin returns apierr.AccessDenied unless the token has
// UserAuthNormal or UserAuthAdmin.
func userOrAdmin(s auth.Scope) error {
	if s.Allows(PermNormal) || s.Allows(PermAdmin) {
		return nil
	}
	return apierr.AccessDenied
}

// text returns a string parameter ("" when absent).
func text(c *webapi.Call, name string) string {
	v, _ := c.Params.String(name)
	return v
}

// customerID binds the optional CustomerId (0 when absent).
func customerID(c *webapi.Call) (int64, error) {
	id, err := c.Params.Int32("CustomerId", 0)
	if err != nil || id < 0 {
		return 0, apierr.BadInput
	}
	return id, nil
}

// login implements Login: the Basic License Key model of every license of
// the user's customer that the token's product and key locks allow, masked
// by a non-zero feature lock as GetKey's licenses are.
func (h handlers) login(ctx context.Context, c *webapi.Call) (any, error) {
	if err := userOrAdmin(c.Principal.Scope); err != nil {
		return nil, err
	}
	recs, err := h.d.Users.Login(ctx, c.Principal.AccountID, text(c, "Username"), text(c, "Password"))
	if err != nil {
		return nil, err
	}
	out := wire.LoginResult{LicenseKeys: make([]wire.BasicLicense, 0, len(recs))}
	for _, r := range recs {
		if c.Principal.Scope.CheckKey(r.ProductID, r.ID) != nil {
			continue
		}
		out.LicenseKeys = append(out.LicenseKeys, license.MaskBasic(license.Basic(r), c.Principal.Scope.FeatureLock))
	}
	return out, nil
}

// register implements Register.
func (h handlers) register(ctx context.Context, c *webapi.Call) (any, error) {
	cid, err := customerID(c)
	if err != nil {
		return nil, err
	}
	_, err = h.d.Users.Register(ctx, c.Principal.AccountID, users.Registration{
		Username: text(c, "Username"), Password: text(c, "Password"), Email: text(c, "Email"), CustomerID: cid,
	})
	return nil, err
}

// associate implements Associate.
func (h handlers) associate(ctx context.Context, c *webapi.Call) (any, error) {
	cid, err := customerID(c)
	if err != nil {
		return nil, err
	}
	return nil, h.d.Users.Associate(ctx, c.Principal.AccountID, text(c, "Username"), cid)
}

// dissociate implements Dissociate.
func (h handlers) dissociate(ctx context.Context, c *webapi.Call) (any, error) {
	return nil, h.d.Users.Dissociate(ctx, c.Principal.AccountID, text(c, "Username"))
}

// getUsers implements GetUsers (optionally only the users of CustomerId).
func (h handlers) getUsers(ctx context.Context, c *webapi.Call) (any, error) {
	cid, err := customerID(c)
	if err != nil {
		return nil, err
	}
	us, err := h.d.Users.List(ctx, c.Principal.AccountID, cid)
	if err != nil {
		return nil, err
	}
	out := wire.GetUsersResult{Users: make([]wire.User, 0, len(us))}
	for _, u := range us {
		out.Users = append(out.Users, wire.User{Username: u.Username, Email: u.Email, Created: wire.ISOTime(u.Created), CustomerID: u.CustomerID})
	}
	return out, nil
}

// changePassword implements ChangePassword; AdminMode=true needs
// UserAuthAdmin.
func (h handlers) changePassword(ctx context.Context, c *webapi.Call) (any, error) {
	if err := userOrAdmin(c.Principal.Scope); err != nil {
		return nil, err
	}
	admin, err := c.Params.Bool("AdminMode", false)
	if err != nil {
		return nil, apierr.BadInput
	}
	if admin && (!c.Principal.Scope.Allows(PermAdmin) || c.Principal.Scope.RequireAccountWide() != nil) {
		return nil, apierr.AccessDenied
	}
	return nil, h.d.Users.ChangePassword(ctx, c.Principal.AccountID, users.PasswordChange{
		Username: text(c, "Username"), NewPassword: text(c, "NewPassword"), OldPassword: text(c, "OldPassword"),
		ResetToken: text(c, "PasswordResetToken"), AdminMode: admin,
	})
}

// createLoginToken implements CreateLoginToken, Keyturn's own method (the
// reference has none): a one-time login token for an end user, which the
// vendor's service validates once with its own access token (Bytex
// Authentication/r1/GetTokenValidity). With Username and Password the user
// is authenticated exactly as Login does (UserAuthNormal or
// UserAuthAdmin, the same attempt limit and answers); with AdminMode=true
// no password is checked, which needs UserAuthAdmin and a token without
// product or key lock (as ChangePassword's AdminMode). The token lasts 5
// minutes and is used up by its first validation.
func (h handlers) createLoginToken(ctx context.Context, c *webapi.Call) (any, error) {
	if err := userOrAdmin(c.Principal.Scope); err != nil {
		return nil, err
	}
	admin, err := c.Params.Bool("AdminMode", false)
	if err != nil {
		return nil, apierr.BadInput
	}
	var tok string
	var exp time.Time
	if admin {
		if !c.Principal.Scope.Allows(PermAdmin) || c.Principal.Scope.RequireAccountWide() != nil {
			return nil, apierr.AccessDenied
		}
		tok, exp, err = h.d.Users.LoginTokenFor(ctx, c.Principal.AccountID, text(c, "Username"))
	} else {
		tok, exp, err = h.d.Users.CreateLoginToken(ctx, c.Principal.AccountID, text(c, "Username"), text(c, "Password"))
	}
	if err != nil {
		return nil, err
	}
	return wire.LoginTokenResult{LoginToken: tok, Expires: exp.Unix()}, nil
}

// resetPasswordToken implements ResetPasswordToken.
func (h handlers) resetPasswordToken(ctx context.Context, c *webapi.Call) (any, error) {
	tok, err := h.d.Users.ResetToken(ctx, c.Principal.AccountID, text(c, "Username"))
	if err != nil {
		return nil, err
	}
	return wire.ResetPasswordTokenResult{PasswordResetToken: tok}, nil
}

// removeUser implements RemoveUser.
func (h handlers) removeUser(ctx context.Context, c *webapi.Call) (any, error) {
	return nil, h.d.Users.Remove(ctx, c.Principal.AccountID, text(c, "Username"))
}
