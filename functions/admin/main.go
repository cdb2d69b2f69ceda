// Command admin is the Lambda of the management API (/admin/*).
package main

import (
	"net/http"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/lambdaentry"
)

func main() {
	lambdaentry.Start(func(a *app.App) (http.Handler, error) {
		if err := a.Config.RequireAdmin(); err != nil {
			return nil, err
		}
		return a.Admin(), nil
	})
}
