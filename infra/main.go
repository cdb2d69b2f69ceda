// Command infra is Keyturn's CDK app: one stack with the DynamoDB table
// (from shared/schema), KMS keys, one Lambda per API group (from
// shared/deploy), an HTTP API, a CloudFront distribution that normalizes
// Cryptolens path spellings, alarms and outputs.
//
//	cdk synth -c stage=prod -c signingMode=kms
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	props := PropsFromContext(app)
	NewKeyturnStack(app, "Keyturn-"+props.Stage, props)
	app.Synth(nil)
}
