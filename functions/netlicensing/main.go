// Command netlicensing is the Lambda of the NetLicensing licensee API
// (/core/v2/rest/licensee..., see shared/deploy).
package main

import (
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/wiring"
)

func main() { lambdaentry.Start(wiring.NetLicensingFunction) }
