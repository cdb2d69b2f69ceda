// Package product implements the product API group of Web API 3
// (/api/product/*): GetProducts and GetKeys. Handlers are thin: bind
// parameters, call the domain, return the wire model.
package product

import (
	"context"
	"sync"
	"time"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Deps are the product group's dependencies.
type Deps struct {
	// Catalog lists the account's products.
	Catalog *catalog.Service
	// Products gives the product a call names (a cache).
	Products catalog.ProductReader
	// DataObjects gives a product's data objects.
	DataObjects *dataobj.Service
	// Listing pages through a product's keys.
	Listing *keys.Listing
	// Assembler adds a license's customer, reseller and data objects.
	Assembler *license.Assembler
	// Now is the clock.
	Now func() time.Time
}

// Group returns the product API group: GetProducts and GetKeys.
func Group(d Deps) webapi.Group {
	h := handlers{d: d}
	return webapi.Group{Name: "product", Methods: []webapi.Method{
		{Name: "GetProducts", Permission: "GetProducts", Handle: h.getProducts},
		{Name: "GetKeys", Permission: "GetKeys", Handle: h.getKeys},
	}}
}

type handlers struct{ d Deps }

// getProducts implements product/GetProducts: the account's products with
// their data objects (one Query for the products, then one per product,
// in parallel); a token with a product lock sees only that product. A
// key-locked token sees its product without the product's data objects,
// which the data object rules do not let it read either.
func (h handlers) getProducts(ctx context.Context, c *webapi.Call) (any, error) {
	list, err := h.d.Catalog.Products(ctx, c.Principal.AccountID)
	if err != nil {
		return nil, err
	}
	visible := list[:0]
	for _, p := range list {
		if c.Principal.Scope.CheckProduct(p.ID) == nil {
			visible = append(visible, p)
		}
	}
	objs := make([][]wire.DataObject, len(visible))
	errs := make([]error, len(visible))
	var wg sync.WaitGroup
	for i, p := range visible {
		if c.Principal.Scope.LocksKey() {
			objs[i] = []wire.DataObject{}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			found, err := h.d.DataObjects.ProductObjects(ctx, c.Principal.AccountID, p.ID)
			objs[i], errs[i] = make([]wire.DataObject, len(found)), err
			for j, o := range found {
				objs[i][j] = wire.DataObject{ID: o.ID, Name: o.Name, StringValue: o.StringValue, IntValue: int64(o.IntValue)}
			}
		}()
	}
	wg.Wait()
	out := wire.GetProductsResult{Products: make([]wire.Product, 0, len(visible))}
	for i, p := range visible {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out.Products = append(out.Products, wire.NewProduct(p, objs[i]))
	}
	return out, nil
}
