// Command licensetemplate is the Lambda of the licensetemplate API group
// (/api/licensetemplate/*).
package main

import (
	"net/http"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/handlers/licensetemplate"
	"github.com/keyturn/keyturn/shared/lambdaentry"
)

func main() {
	lambdaentry.Start(func(a *app.App) (http.Handler, error) {
		return a.WebAPI(licensetemplate.Group(a.Store)), nil
	})
}
