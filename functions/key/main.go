// Command key is the Lambda of the key API group (see shared/deploy).
package main

import (
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/wiring/signed"
)

func main() { lambdaentry.Start(signed.KeyFunction) }
