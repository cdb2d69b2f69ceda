// Command infra is Keyturn's CDK app: one stack with the DynamoDB table
// (from shared/schema), KMS keys, one Lambda per API group (from
// shared/deploy), an HTTP API with a route per group spelling and a
// $default fallback, alarms to an SNS topic and outputs; CloudFront, the
// access log, platform log lines and X-Ray are opt-in (see README.md).
//
//	cdk synth -c stage=prod -c signingMode=kms -c cloudfront=true
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
