// Command bytex is the Lambda of the Bytex vendor API (/API/Public/v1/...;
// see shared/deploy and shared/handlers/bytex).
package main

import (
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/wiring"
)

func main() { lambdaentry.Start(wiring.BytexFunction) }
