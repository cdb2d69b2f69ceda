// Command subscription is the Lambda of the subscription API group
// (metered billing; see shared/deploy).
package main

import "github.com/keyturn/keyturn/shared/lambdaentry"

func main() { lambdaentry.Start("subscription") }
