// Command hello is the reference for ./scripts/coldstart: the smallest
// aws-lambda-go function, built the same way as Keyturn's functions.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "hello", nil })
}
