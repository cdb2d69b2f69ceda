// Command fallback is the Lambda behind the HTTP API's $default route: it
// serves every Web API group, whatever the path spelling (see
// shared/deploy).
package main

import (
	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/lambdaentry"
)

func main() { lambdaentry.Start(app.FallbackFunction) }
