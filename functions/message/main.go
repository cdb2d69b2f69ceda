// Command message is the Lambda of the message API group (see shared/deploy).
package main

import (
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/wiring"
)

func main() { lambdaentry.Start(wiring.MessageFunction) }
