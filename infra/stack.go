package main

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/deploy"
	"github.com/keyturn/keyturn/shared/schema"
)

//go:embed cf/normalize.js
var normalizeJS string

// Props configure the stack.
type Props struct {
	awscdk.StackProps
	// Stage names the deployment ("prod" keeps data on deletion).
	Stage string
	// SigningMode is envelope (default) or kms.
	SigningMode string
	// AssetDir holds dist/<group>/ with each function's bootstrap.
	AssetDir string
}

// PropsFromContext reads stage and signingMode from the CDK context and
// the asset directory from KEYTURN_DIST (default ../dist).
func PropsFromContext(app awscdk.App) Props {
	p := Props{Stage: "dev", SigningMode: config.SigningEnvelope, AssetDir: filepath.Join("..", "dist")}
	if v, ok := app.Node().TryGetContext(jsii.String("stage")).(string); ok && v != "" {
		p.Stage = v
	}
	if v, ok := app.Node().TryGetContext(jsii.String("signingMode")).(string); ok && v != "" {
		p.SigningMode = v
	}
	if v := os.Getenv("KEYTURN_DIST"); v != "" {
		p.AssetDir = v
	}
	return p
}

// Function sizing. Signing groups sign each response with RSA-2048
// (~1.6 ms of CPU on one core, see scripts/bench); Lambda CPU scales with
// memory, and 1024 MB arm64 keeps signing fast at ~2x the price of 512 MB
// per ms. Read-only groups are I/O bound and get 512 MB. Timeouts stay
// short: a Web API call is one or two DynamoDB round trips; the admin API
// may generate RSA keys.
const (
	signingMemoryMB = 1024
	defaultMemoryMB = 512
	apiTimeout      = 10
	adminTimeout    = 30
	logRetention    = awslogs.RetentionDays_ONE_MONTH
	throttleRate    = 2000
	throttleBurst   = 1000
)

// Table actions per kind of function: the calls shared/store makes
// (transactions are authorized per item as PutItem/UpdateItem/
// ConditionCheckItem).
var (
	readActions  = []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
	writeActions = append(append([]string{}, readActions...),
		"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem")
)

func toStrings(ss []string) []*string {
	out := make([]*string, len(ss))
	for i, s := range ss {
		out[i] = jsii.String(s)
	}
	return out
}

// NewKeyturnStack builds the stack.
func NewKeyturnStack(scope constructs.Construct, id string, p Props) awscdk.Stack {
	if p.SigningMode != config.SigningEnvelope && p.SigningMode != config.SigningKMS {
		panic(fmt.Sprintf("signingMode must be %s or %s, not %q", config.SigningEnvelope, config.SigningKMS, p.SigningMode))
	}
	stack := awscdk.NewStack(scope, &id, &p.StackProps)
	prod := p.Stage == "prod"
	removal := awscdk.RemovalPolicy_DESTROY
	if prod {
		removal = awscdk.RemovalPolicy_RETAIN
	}

	d := schema.Definition
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(d.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String(d.SortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(d.TTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(prod),
		RemovalPolicy:      removal,
	})
	for _, g := range d.GSIs {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(g.Name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(g.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(g.SortKey), Type: awsdynamodb.AttributeType_STRING},
			ProjectionType: awsdynamodb.ProjectionType(g.Projection),
		})
	}

	// The symmetric key wraps the accounts' private signing keys (envelope).
	// Key policies: the account administers the keys but cannot use them
	// through IAM; each function that uses a key is named in its policy
	// with exactly its actions (see allowKeyUse).
	wrapKey := awskms.NewKey(stack, jsii.String("SigningWrapKey"), &awskms.KeyProps{
		Description:       jsii.String("Keyturn: wraps account signing keys (envelope mode)"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removal,
		Policy:            keyAdminPolicy(),
	})
	var signKey awskms.Key
	if p.SigningMode == config.SigningKMS {
		signKey = awskms.NewKey(stack, jsii.String("SigningKey"), &awskms.KeyProps{
			Description:   jsii.String("Keyturn: RSA-2048 license signing key (kms mode)"),
			KeySpec:       awskms.KeySpec_RSA_2048,
			KeyUsage:      awskms.KeyUsage_SIGN_VERIFY,
			RemovalPolicy: removal,
			Policy:        keyAdminPolicy(),
		})
	}

	adminHash := awscdk.NewCfnParameter(stack, jsii.String("AdminSecretSha256"), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		NoEcho:         jsii.Bool(true),
		AllowedPattern: jsii.String("^[0-9a-f]{64}$"),
		Description:    jsii.String("Hex SHA-256 of the admin API bearer secret"),
	})

	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String("keyturn-" + p.Stage),
		CreateDefaultStage: jsii.Bool(false),
	})
	normalize := awscloudfront.NewFunction(stack, jsii.String("NormalizePath"), &awscloudfront.FunctionProps{
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(normalizeJS)),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
	})
	apiDomain := awscdk.Fn_Join(jsii.String(""), &[]*string{api.ApiId(), jsii.String(".execute-api."), stack.Region(), jsii.String(".amazonaws.com")})
	dist := awscloudfront.NewDistribution(stack, jsii.String("Distribution"), &awscloudfront.DistributionProps{
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:               awscloudfrontorigins.NewHttpOrigin(apiDomain, &awscloudfrontorigins.HttpOriginProps{ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTPS_ONLY}),
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
			CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
			OriginRequestPolicy:  awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
				Function: normalize, EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
			}},
		},
	})

	serviceURL := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), dist.DistributionDomainName()})
	// Environment variables, from one place.
	env := func(g deploy.Group) *map[string]*string {
		m := map[string]*string{
			config.EnvTable:       table.TableName(),
			config.EnvSigningMode: jsii.String(p.SigningMode),
			config.EnvKMSKeyID:    wrapKey.KeyArn(),
			config.EnvLogLevel:    jsii.String("info"),
			config.EnvPublicURL:   serviceURL,
		}
		if signKey != nil {
			m[config.EnvKMSSigningKeyID] = signKey.KeyArn()
		}
		if g.Admin {
			m[config.EnvAdminSecretHash] = adminHash.ValueAsString()
		}
		return &m
	}

	accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: logRetention, RemovalPolicy: removal,
	})
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(throttleRate), BurstLimit: jsii.Number(throttleBurst)},
	})
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.AddPropertyOverride(jsii.String("AccessLogSettings"), map[string]any{
		"DestinationArn": accessLogs.LogGroupArn(),
		"Format": `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","method":"$context.httpMethod",` +
			`"path":"$context.path","status":"$context.status","latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage"}`,
	})

	var alarms []awscloudwatch.Alarm
	alarm := func(id string, m awscloudwatch.IMetric, threshold float64) {
		alarms = append(alarms, awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			Metric: m, Threshold: jsii.Number(threshold), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}))
	}

	for _, g := range deploy.Groups {
		name := "Fn-" + g.Name
		memory, timeout := defaultMemoryMB, apiTimeout
		if g.Signs {
			memory = signingMemoryMB
		}
		if g.Admin {
			memory, timeout = signingMemoryMB, adminTimeout
		}
		if g.MemoryMB != 0 {
			memory = g.MemoryMB
		}
		logs := awslogs.NewLogGroup(stack, jsii.String(name+"-Logs"), &awslogs.LogGroupProps{Retention: logRetention, RemovalPolicy: removal})
		fn := awslambda.NewFunction(stack, jsii.String(name), &awslambda.FunctionProps{
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(p.AssetDir, g.Name)), nil),
			MemorySize:    jsii.Number(float64(memory)),
			Timeout:       awscdk.Duration_Seconds(jsii.Number(float64(timeout))),
			Environment:   env(g),
			LoggingFormat: awslambda.LoggingFormat_JSON,
			LogGroup:      logs,
			Tracing:       awslambda.Tracing_ACTIVE,
		})
		// Exactly the table actions the code issues (shared/store).
		if g.Writes {
			table.Grant(fn, toStrings(writeActions)...)
		} else {
			table.Grant(fn, toStrings(readActions)...)
		}
		switch {
		case g.Admin:
			// Wraps new account keys and reads them back.
			allowKeyUse(wrapKey, fn, "kms:Decrypt", "kms:GenerateDataKey")
		case g.Signs:
			// Envelope: unwrap the account key once per cold start.
			allowKeyUse(wrapKey, fn, "kms:Decrypt")
		}
		if signKey != nil && g.Signs {
			allowKeyUse(signKey, fn, "kms:Sign", "kms:GetPublicKey")
		}
		if signKey != nil && g.Admin {
			allowKeyUse(signKey, fn, "kms:GetPublicKey")
		}
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(name+"-Integration"), fn, nil)
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(g.Route + "/{proxy+}"),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
			Integration: integration,
		})
		alarm(name+"-Errors", fn.MetricErrors(nil), 5)
		alarm(name+"-Throttles", fn.MetricThrottles(nil), 1)
	}
	alarm("Api-5xx", api.MetricServerError(nil), 5)
	for _, m := range []string{"ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors"} {
		alarm("Table-"+m, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(m),
			DimensionsMap: &map[string]*string{"TableName": table.TableName()}, Statistic: jsii.String("Sum"),
		}), 1)
	}

	out := func(id string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v})
	}
	out("ApiUrl", api.ApiEndpoint())
	out("ServiceUrl", serviceURL)
	out("TableName", table.TableName())
	out("WrapKeyArn", wrapKey.KeyArn())
	if signKey != nil {
		out("SigningKeyArn", signKey.KeyArn())
	}
	_ = alarms
	return stack
}

// keyAdminActions are what the account (its IAM administrators and the
// CloudFormation deployment) may do with a key: manage it, never use it.
var keyAdminActions = []string{
	"kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
	"kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
	"kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
	"kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant",
	"kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
	"kms:UpdateKeyDescription",
}

// keyAdminPolicy is the base key policy: the account may administer the
// key (keyAdminActions) through IAM; use is granted per function.
func keyAdminPolicy() awsiam.PolicyDocument {
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AccountAdministersTheKey"),
			Actions:    jsii.Strings(keyAdminActions...),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
			Resources:  jsii.Strings("*"),
		})},
	})
}

// allowKeyUse lets fn call actions on key: in fn's IAM policy and, since
// the key policy does not delegate use to IAM, in the key policy naming
// fn's role.
func allowKeyUse(key awskms.Key, fn awslambda.Function, actions ...string) {
	key.Grant(fn, *jsii.Strings(actions...)...)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings(actions...),
		Principals: &[]awsiam.IPrincipal{fn.Role()},
		Resources:  jsii.Strings("*"),
	}), jsii.Bool(false))
}
