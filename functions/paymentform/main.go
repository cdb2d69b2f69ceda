// Command paymentform is the Lambda of the paymentform API group, the
// hosted payment pages and Stripe's webhook (see shared/deploy).
package main

import "github.com/keyturn/keyturn/shared/lambdaentry"

func main() { lambdaentry.Start("paymentform") }
