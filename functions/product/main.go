// Command product is the Lambda of the product API group (/api/product/*).
package main

import (
	"net/http"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/handlers/key"
	"github.com/keyturn/keyturn/shared/handlers/product"
	"github.com/keyturn/keyturn/shared/lambdaentry"
)

func main() {
	lambdaentry.Start(func(a *app.App) (http.Handler, error) {
		return a.WebAPI(product.Group(a.Store, key.ProductKeysMethod(a.KeyDeps()))), nil
	})
}
