// Command customer is the Lambda of the customer API group (see shared/deploy).
package main

import (
	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/lambdaentry"
)

func main() { lambdaentry.Start(app.CustomerFunction) }
