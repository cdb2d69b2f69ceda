// Package product implements the product API group of Web API 3
// (/api/product/*). Handlers are thin: bind parameters, call the domain,
// return the wire model.
package product

import (
	"context"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Products lists an account's products.
type Products interface {
	ListProducts(ctx context.Context, accountID int64) ([]catalog.Product, error)
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

// getProducts implements product/GetProducts: the account's products; a
// token with a product lock sees only that product.
func (h handlers) getProducts(ctx context.Context, c *webapi.Call) (any, error) {
	list, err := h.products.ListProducts(ctx, c.Principal.AccountID)
	if err != nil {
		return nil, err
	}
	out := getProductsResult{Products: make([]wire.Product, 0, len(list))}
	for _, p := range list {
		if c.Principal.Scope.CheckProduct(p.ID) != nil {
			continue
		}
		out.Products = append(out.Products, wire.NewProduct(p, nil))
	}
	return out, nil
}
