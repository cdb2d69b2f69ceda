// Package bind holds the parameter binding that several Web API groups
// share: a product named by ProductId (with the token's product lock), a
// license key string, and the customer fields of AddCustomer, EditCustomer
// and CreateKey. Handler packages use it instead of importing each other.
package bind

import (
	"context"
	"errors"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Product binds the required ProductId, applies the token's product lock
// and checks that the product exists in the account. Errors:
// apierr.BadInput, apierr.AccessDenied, apierr.ProductNotFound.
func Product(ctx context.Context, c *webapi.Call, products catalog.ProductReader) (catalog.Product, error) {
	pid, err := c.Params.Int32("ProductId", 0)
	if err != nil || pid <= 0 {
		return catalog.Product{}, apierr.BadInput
	}
	if err := c.Principal.Scope.CheckProduct(pid); err != nil {
		return catalog.Product{}, err
	}
	p, err := products.GetProduct(ctx, c.Principal.AccountID, pid)
	if errors.Is(err, apierr.NotFound) {
		return catalog.Product{}, apierr.ProductNotFound
	}
	return p, err
}

// Key binds the required Key parameter: trimmed, and answered with
// apierr.KeyNotFound when no key can have it (too long), before any
// storage call. Errors: apierr.BadInput, apierr.KeyNotFound.
func Key(c *webapi.Call) (string, error) {
	k, ok := c.Params.String("Key")
	if !ok {
		return "", apierr.BadInput
	}
	k = strings.TrimSpace(k)
	if !keys.CanNameKey(k) {
		return "", apierr.KeyNotFound
	}
	return k, nil
}

// CustomerFields binds the AddCustomer / EditCustomer parameters
// (absent parameters stay nil).
func CustomerFields(p webapi.Params) (customers.CustomerFields, error) {
	var f customers.CustomerFields
	str := func(name string) *string {
		if v, ok := p.String(name); ok {
			return &v
		}
		return nil
	}
	f.Name, f.Email, f.CompanyName, f.Notes = str("Name"), str("Email"), str("CompanyName"), str("Notes")
	boolean := func(name string, dst **bool) error {
		if _, ok := p.String(name); !ok {
			return nil
		}
		v, err := p.Bool(name, false)
		*dst = &v
		return err
	}
	for name, dst := range map[string]**bool{
		"EnableCustomerAssociation":    &f.EnableCustomerAssociation,
		"AllowActivationManagement":    &f.AllowActivationManagement,
		"AllowMultipleUserAssociation": &f.AllowMultipleUserAssociation,
	} {
		if err := boolean(name, dst); err != nil {
			return f, err
		}
	}
	if _, ok := p.String("MaxNoOfDevices"); ok {
		v, err := p.Int32("MaxNoOfDevices", 0)
		if err != nil {
			return f, err
		}
		f.MaxNoOfDevices = &v
	}
	return f, nil
}
