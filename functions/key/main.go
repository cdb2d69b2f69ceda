// Command key is the Lambda of the key API group (/api/key/*).
package main

import (
	"net/http"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/handlers/key"
	"github.com/keyturn/keyturn/shared/lambdaentry"
)

func main() {
	lambdaentry.Start(func(a *app.App) (http.Handler, error) {
		return a.WebAPI(key.Group(a.KeyDeps())), nil
	})
}
