// Package product implements the product API group of Web API 3
// (/api/product/*). Handlers are thin: bind parameters, call the domain,
// return the wire model.
package product

import (
	"context"
	"sync"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Products lists an account's products and their data objects.
type Products interface {
	ListProducts(ctx context.Context, accountID int64) ([]catalog.Product, error)
	ProductDataObjects(ctx context.Context, accountID, productID int64) ([]dataobj.Object, error)
}

// Group returns the product API group: GetProducts plus the extra methods
// given (product/GetKeys, which lives with the key handlers).
func Group(products Products, extra ...webapi.Method) webapi.Group {
	h := handlers{products: products}
	return webapi.Group{Name: "product", Methods: append([]webapi.Method{
		{Name: "GetProducts", Permission: "GetProducts", Handle: h.getProducts},
	}, extra...)}
}

type handlers struct {
	products Products
}

type getProductsResult struct {
	Products []wire.Product `json:"products"`
}

// getProducts implements product/GetProducts: the account's products with
// their data objects (one Query for the products, then one per product,
// in parallel); a token with a product lock sees only that product. A
// key-locked token sees its product without the product's data objects,
// which the data object rules do not let it read either.
func (h handlers) getProducts(ctx context.Context, c *webapi.Call) (any, error) {
	list, err := h.products.ListProducts(ctx, c.Principal.AccountID)
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
			found, err := h.products.ProductDataObjects(ctx, c.Principal.AccountID, p.ID)
			objs[i], errs[i] = make([]wire.DataObject, len(found)), err
			for j, o := range found {
				objs[i][j] = wire.DataObject{ID: o.ID, Name: o.Name, StringValue: o.StringValue, IntValue: int64(o.IntValue)}
			}
		}()
	}
	wg.Wait()
	out := getProductsResult{Products: make([]wire.Product, 0, len(visible))}
	for i, p := range visible {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out.Products = append(out.Products, wire.NewProduct(p, objs[i]))
	}
	return out, nil
}
