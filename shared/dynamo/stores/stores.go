// Package stores builds every DynamoDB adapter on one table: what a
// process (or a test) that needs several features wires up.
package stores

import (
	"context"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/catalogstore"
	"github.com/keyturn/keyturn/shared/dynamo/customerstore"
	"github.com/keyturn/keyturn/shared/dynamo/datastore"
	"github.com/keyturn/keyturn/shared/dynamo/licenseestore"
	"github.com/keyturn/keyturn/shared/dynamo/licensestore"
	"github.com/keyturn/keyturn/shared/dynamo/messagestore"
	"github.com/keyturn/keyturn/shared/dynamo/paymentstore"
	"github.com/keyturn/keyturn/shared/dynamo/userstore"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/users"
)

// Stores are the adapters of one table.
type Stores struct {
	Table     *dynamo.Table
	Catalog   *catalogstore.Store
	Licenses  *licensestore.Store
	Customers *customerstore.Store
	Users     *userstore.Store
	Data      *datastore.Store
	Messages  *messagestore.Store
	Payments  *paymentstore.Store
	Licensees *licenseestore.Store
}

// New returns every adapter on the named table.
func New(db dynamo.API, table string) *Stores {
	t := dynamo.New(db, table)
	return &Stores{
		Table: t, Catalog: catalogstore.New(t), Licenses: licensestore.New(t), Customers: customerstore.New(t),
		Users: userstore.New(t), Data: datastore.New(t), Messages: messagestore.New(t),
		Payments: paymentstore.New(t), Licensees: licenseestore.New(t),
	}
}

// CustomerLicenses gives the customer domain the licenses that point at
// customers and resellers; removing a customer also forgets its licensees.
func (s *Stores) CustomerLicenses() customers.Licenses {
	return customerLicenses{s.Licenses, s.Licensees}
}

type customerLicenses struct {
	*licensestore.Store
	licensees *licenseestore.Store
}

// DissociateCustomer dissociates the customer's licenses, then deletes its
// licensees (a licensee is a customer within a product).
func (c customerLicenses) DissociateCustomer(ctx context.Context, accountID, customerID int64) error {
	if err := c.Store.DissociateCustomer(ctx, accountID, customerID); err != nil {
		return err
	}
	return c.licensees.ForgetCustomer(ctx, accountID, customerID)
}

// UserCustomers gives the user domain the customers and their licenses.
func (s *Stores) UserCustomers() users.Customers { return userCustomers{s} }

type userCustomers struct{ s *Stores }

func (u userCustomers) CustomerExists(ctx context.Context, accountID, customerID int64) error {
	_, err := u.s.Customers.GetCustomer(ctx, accountID, customerID)
	return err
}

func (u userCustomers) CustomerKeys(ctx context.Context, accountID, customerID int64) ([]keys.Record, error) {
	return u.s.Licenses.CustomerKeys(ctx, accountID, customerID, false)
}

// LicenseSources reads what licenses show besides their key items.
func (s *Stores) LicenseSources() license.Sources { return licenseSources{s} }

type licenseSources struct{ s *Stores }

func (l licenseSources) CustomersByID(ctx context.Context, accountID int64, ids []int64) ([]customers.Customer, error) {
	return l.s.Customers.CustomersByID(ctx, accountID, ids)
}

func (l licenseSources) ResellersByID(ctx context.Context, accountID int64, ids []int64) ([]customers.Reseller, error) {
	return l.s.Customers.ResellersByID(ctx, accountID, ids)
}

func (l licenseSources) KeyDataObjects(ctx context.Context, accountID, globalID int64) ([]dataobj.Object, error) {
	return l.s.Data.KeyDataObjects(ctx, accountID, globalID)
}

// Products lists an account's products and their data objects
// (product/GetProducts).
func (s *Stores) Products() ProductSource { return products{s} }

// ProductSource lists products and their data objects.
type ProductSource interface {
	ListProducts(ctx context.Context, accountID int64) ([]catalog.Product, error)
	ProductDataObjects(ctx context.Context, accountID, productID int64) ([]dataobj.Object, error)
}

type products struct{ s *Stores }

func (p products) ListProducts(ctx context.Context, accountID int64) ([]catalog.Product, error) {
	return p.s.Catalog.ListProducts(ctx, accountID)
}

func (p products) ProductDataObjects(ctx context.Context, accountID, productID int64) ([]dataobj.Object, error) {
	return p.s.Data.ProductDataObjects(ctx, accountID, productID)
}
