// Command admin is the Lambda of the admin API group (see shared/deploy).
package main

import (
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/wiring/payment"
)

func main() { lambdaentry.Start(payment.AdminFunction) }
