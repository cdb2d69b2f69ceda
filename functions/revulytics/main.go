// Command revulytics is the Lambda of the Revulytics key registry API
// (POST /auth/login, /auth/logout, /licenseKeys/listKeys; see
// shared/deploy and shared/handlers/revulytics).
package main

import (
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/wiring"
)

func main() { lambdaentry.Start(wiring.RevulyticsFunction) }
