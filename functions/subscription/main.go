// Command subscription is the Lambda of the subscription API group (see shared/deploy).
package main

import (
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/wiring/payment"
)

func main() { lambdaentry.Start(payment.SubscriptionFunction) }
