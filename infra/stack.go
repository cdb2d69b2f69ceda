package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/deploy"
	"github.com/keyturn/keyturn/shared/schema"
)

// Props configure the stack. The zero value of every option is the
// pay-per-request default; each paid extra is opt-in.
type Props struct {
	awscdk.StackProps
	// Stage names the deployment ("prod" keeps data on deletion and its
	// logs longer).
	Stage string
	// SigningMode is envelope (default) or kms.
	SigningMode string
	// AssetDir holds dist/<group>/ with each function's bootstrap.
	AssetDir string
	// Groups are the functions (default deploy.Groups).
	Groups []deploy.Group

	// CloudFront puts a distribution in front of the HTTP API (custom
	// domain, WAF, edge caching): $1/M requests more. DomainName with
	// CertificateArn (an ACM certificate in us-east-1) gives it a custom
	// domain; WebACLArn attaches a WAF web ACL (CLOUDFRONT scope).
	CloudFront     bool
	DomainName     string
	CertificateArn string
	WebACLArn      string
	// AccessLog adds the HTTP API access log; the functions already log
	// one line per request.
	AccessLog bool
	// PlatformLogs lowers the functions' system log level to INFO, so
	// Lambda's START/END/REPORT lines are ingested (debugging).
	PlatformLogs bool
	// Tracing turns X-Ray active tracing on for every function.
	Tracing bool
	// LogRetentionDays is how long log groups keep events (default 90 in
	// prod, 14 elsewhere).
	LogRetentionDays int
}

// Context keys read by PropsFromContext (cdk -c key=value).
const (
	ctxStage        = "stage"
	ctxSigningMode  = "signingMode"
	ctxCloudFront   = "cloudfront"
	ctxDomainName   = "domainName"
	ctxCertificate  = "certificateArn"
	ctxWebACL       = "webAclArn"
	ctxAccessLog    = "accessLog"
	ctxPlatformLogs = "platformLogs"
	ctxTracing      = "tracing"
	ctxLogRetention = "logRetentionDays"
)

// PropsFromContext reads the options from the CDK context and the asset
// directory from KEYTURN_DIST (default ../dist).
func PropsFromContext(app awscdk.App) Props {
	str := func(k string) string {
		switch v := app.Node().TryGetContext(jsii.String(k)).(type) {
		case string:
			return v
		case bool:
			return strconv.FormatBool(v)
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
	flag := func(k string) bool {
		v, err := strconv.ParseBool(str(k))
		if str(k) != "" && err != nil {
			panic(fmt.Sprintf("context %s must be true or false, not %q", k, str(k)))
		}
		return v
	}
	p := Props{Stage: "dev", SigningMode: config.SigningEnvelope, AssetDir: filepath.Join("..", "dist"),
		CloudFront: flag(ctxCloudFront), DomainName: str(ctxDomainName), CertificateArn: str(ctxCertificate),
		WebACLArn: str(ctxWebACL), AccessLog: flag(ctxAccessLog), PlatformLogs: flag(ctxPlatformLogs), Tracing: flag(ctxTracing)}
	if v := str(ctxStage); v != "" {
		p.Stage = v
	}
	if v := str(ctxSigningMode); v != "" {
		p.SigningMode = v
	}
	if v := str(ctxLogRetention); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			panic(fmt.Sprintf("context %s must be a number of days, not %q", ctxLogRetention, v))
		}
		p.LogRetentionDays = n
	}
	if v := os.Getenv("KEYTURN_DIST"); v != "" {
		p.AssetDir = v
	}
	return p
}

// retentionDays are the retention periods CloudWatch Logs offers.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
}

// Retention per stage (days) unless LogRetentionDays says otherwise.
const (
	prodLogRetentionDays  = 90
	otherLogRetentionDays = 14
	throttleRate          = 2000
	throttleBurst         = 1000
)

// Table actions per kind of function: the calls shared/store makes
// (transactions are authorized per item as PutItem/UpdateItem/
// ConditionCheckItem).
var (
	readActions  = []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
	writeActions = append(append([]string{}, readActions...),
		"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem")
	// tableOperations are the DynamoDB operations the code issues: the
	// SystemErrors metric exists per table and operation.
	tableOperations = []string{"GetItem", "Query", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}
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
	if p.Groups == nil {
		p.Groups = deploy.Groups
	}
	prod := p.Stage == "prod"
	days := p.LogRetentionDays
	if days == 0 {
		days = otherLogRetentionDays
		if prod {
			days = prodLogRetentionDays
		}
	}
	retention, ok := retentionDays[days]
	if !ok {
		valid := make([]int, 0, len(retentionDays))
		for d := range retentionDays {
			valid = append(valid, d)
		}
		sort.Ints(valid)
		panic(fmt.Sprintf("logRetentionDays %d is not one of %v", days, valid))
	}
	if (p.DomainName != "") != (p.CertificateArn != "") || ((p.DomainName != "" || p.WebACLArn != "") && !p.CloudFront) {
		panic("domainName needs certificateArn and both (and webAclArn) need cloudfront=true")
	}
	stack := awscdk.NewStack(scope, &id, &p.StackProps)
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
		suppress(signKey, "AwsSolutions-KMS5", "KMS cannot rotate asymmetric keys; the public key is pinned in client apps, so rotation is a new key and a client release")
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
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(throttleRate), BurstLimit: jsii.Number(throttleBurst)},
	})
	if p.AccessLog {
		accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
			Retention: retention, RemovalPolicy: removal,
		})
		stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
			DestinationArn: accessLogs.LogGroupArn(),
			Format: jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","method":"$context.httpMethod",` +
				`"path":"$context.path","status":"$context.status","latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage"}`),
		})
	} else {
		suppress(stage, "AwsSolutions-APIG1", "each function logs one structured line per request; the access log would ingest every request twice (opt-in: -c accessLog=true)")
	}

	// Clients address the API directly, or the distribution when there is one.
	serviceURL := api.ApiEndpoint()
	if p.CloudFront {
		serviceURL = newDistribution(stack, api, p)
	}
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

	systemLogLevel := awslambda.SystemLogLevel_WARN
	if p.PlatformLogs {
		systemLogLevel = awslambda.SystemLogLevel_INFO
	}
	tracing := awslambda.Tracing_DISABLED
	if p.Tracing {
		tracing = awslambda.Tracing_ACTIVE
	}
	for _, g := range p.Groups {
		name := "Fn-" + g.Name
		logs := awslogs.NewLogGroup(stack, jsii.String(name+"-Logs"), &awslogs.LogGroupProps{Retention: retention, RemovalPolicy: removal})
		// The role may write the function's own log group and nothing else
		// (no AWSLambdaBasicExecutionRole, which allows every log group).
		role := awsiam.NewRole(stack, jsii.String(name+"-Role"), &awsiam.RoleProps{
			AssumedBy: awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		})
		logs.GrantWrite(role)
		fn := awslambda.NewFunction(stack, jsii.String(name), &awslambda.FunctionProps{
			Runtime:          awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:     awslambda.Architecture_ARM_64(),
			Handler:          jsii.String("bootstrap"),
			Code:             awslambda.Code_FromAsset(jsii.String(filepath.Join(p.AssetDir, g.Name)), nil),
			MemorySize:       jsii.Number(float64(g.MemoryMB)),
			Timeout:          awscdk.Duration_Seconds(jsii.Number(float64(g.TimeoutSeconds))),
			Environment:      env(g),
			Role:             role,
			LoggingFormat:    awslambda.LoggingFormat_JSON,
			SystemLogLevelV2: systemLogLevel,
			LogGroup:         logs,
			Tracing:          tracing,
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
		case g.Signs || g.Secrets:
			// Envelope: unwrap the account key once per cold start; open
			// the accounts' sealed secrets (Stripe keys).
			allowKeyUse(wrapKey, fn, "kms:Decrypt")
		}
		if signKey != nil && g.Signs {
			allowKeyUse(signKey, fn, "kms:Sign", "kms:GetPublicKey")
		}
		if signKey != nil && g.Admin {
			allowKeyUse(signKey, fn, "kms:GetPublicKey")
		}
		suppress(role, "AwsSolutions-IAM5", "queries use the table's indexes (<table>/index/*); only the actions the code issues are granted",
			`/^Resource::<Table[0-9A-F]{8}\.Arn>\/index\/\*$/`)
		if p.Tracing {
			suppress(role, "AwsSolutions-IAM5", "X-Ray accepts trace segments only on Resource *", "Resource::*")
		}
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(name+"-Integration"), fn, nil)
		if g.Default {
			awsapigatewayv2.NewHttpRoute(api, jsii.String(name+"-DefaultRoute"), &awsapigatewayv2.HttpRouteProps{
				HttpApi: api, RouteKey: awsapigatewayv2.HttpRouteKey_DEFAULT(), Integration: integration,
			})
		}
		for _, r := range g.Routes {
			api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
				Path:        jsii.String(r),
				Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
				Integration: integration,
			})
		}
	}
	for _, r := range *api.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if _, ok := r.(awsapigatewayv2.CfnRoute); ok {
			suppress(r, "AwsSolutions-APIG4", "the Web API authenticates the access token in each request, the admin API a bearer secret; an API Gateway authorizer would be a second paid call per request")
		}
	}

	newAlarms(stack, p, api, table)

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
	return stack
}

// newDistribution puts CloudFront in front of the API (opt-in) and returns
// the URL clients use. Caching stays off: every answer depends on the
// request's token and parameters.
func newDistribution(stack awscdk.Stack, api awsapigatewayv2.HttpApi, p Props) *string {
	apiDomain := awscdk.Fn_Join(jsii.String(""), &[]*string{api.ApiId(), jsii.String(".execute-api."), stack.Region(), jsii.String(".amazonaws.com")})
	props := &awscloudfront.DistributionProps{
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:               awscloudfrontorigins.NewHttpOrigin(apiDomain, &awscloudfrontorigins.HttpOriginProps{ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTPS_ONLY}),
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
			CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
			OriginRequestPolicy:  awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
		},
		MinimumProtocolVersion: awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021,
	}
	if p.DomainName != "" {
		props.DomainNames = jsii.Strings(p.DomainName)
		props.Certificate = awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Certificate"), jsii.String(p.CertificateArn))
	}
	if p.WebACLArn != "" {
		props.WebAclId = jsii.String(p.WebACLArn)
	}
	dist := awscloudfront.NewDistribution(stack, jsii.String("Distribution"), props)
	suppress(dist, "AwsSolutions-CFR1", "licensing clients run worldwide; a geo restriction is the vendor's choice")
	if p.WebACLArn == "" {
		suppress(dist, "AwsSolutions-CFR2", "WAF is opt-in (-c webAclArn=...): a web ACL costs $5/month plus $0.60/M requests")
	}
	suppress(dist, "AwsSolutions-CFR3", "the functions log every request; CloudFront access logs would need an S3 bucket and duplicate them")
	if p.DomainName == "" {
		suppress(dist, "AwsSolutions-CFR4", "without a custom domain CloudFront serves its default certificate, which allows TLSv1; set domainName/certificateArn for TLSv1.2_2021")
	}
	if p.DomainName != "" {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), jsii.String(p.DomainName)})
	}
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), dist.DistributionDomainName()})
}

// Alarm thresholds (5-minute periods).
const (
	alarmPeriodMinutes = 5
	// api5xxPercent and api5xxMinimum: alarm when at least that share of
	// requests, and at least that many, failed with a 5xx.
	api5xxPercent = 5
	api5xxMinimum = 5
	lambdaErrors  = 5
)

// newAlarms creates the SNS topic (with an optional e-mail subscription,
// the AlarmEmail deploy parameter) and the alarms that notify it. Alarms
// are billed per metric they read ($0.10 each), so they watch aggregates:
// the API's 5xx rate, account-level Lambda errors and throttles, the
// table's throttles and system errors, and each group's failure signal
// (deploy.Group.FailureMetric, e.g. the payment webhook).
func newAlarms(stack awscdk.Stack, p Props, api awsapigatewayv2.HttpApi, table awsdynamodb.Table) {
	email := awscdk.NewCfnParameter(stack, jsii.String("AlarmEmail"), &awscdk.CfnParameterProps{
		Type:        jsii.String("String"),
		Default:     jsii.String(""),
		Description: jsii.String("E-mail address that receives alarm notifications (empty: none; subscribe to the AlarmTopic output yourself)"),
	})
	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Keyturn " + p.Stage + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	suppress(topic, "AwsSolutions-SNS2", "alarm notifications carry no secrets; CloudWatch cannot publish with the AWS-managed SNS key and a customer-managed key costs $1/month")
	hasEmail := awscdk.NewCfnCondition(stack, jsii.String("HasAlarmEmail"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(email.ValueAsString(), jsii.String(""))),
	})
	sub := awssns.NewCfnSubscription(stack, jsii.String("AlarmEmailSubscription"), &awssns.CfnSubscriptionProps{
		TopicArn: topic.TopicArn(), Protocol: jsii.String("email"), Endpoint: email.ValueAsString(),
	})
	sub.CfnOptions().SetCondition(hasEmail)
	awscdk.NewCfnOutput(stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{Value: topic.TopicArn()})

	action := awscloudwatchactions.NewSnsAction(topic)
	period := awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes))
	alarm := func(id, description string, m awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String(description),
			Metric:           m, Threshold: jsii.Number(threshold), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	sum := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}

	alarm("Api5xxRate", fmt.Sprintf("At least %d%% (and %d) of the API's requests failed with a 5xx (function errors, timeouts, throttles or DynamoDB failures)", api5xxPercent, api5xxMinimum),
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf("IF(FILL(errors, 0) >= %d, 100 * FILL(errors, 0) / FILL(requests, 1), 0)", api5xxMinimum)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"errors": api.MetricServerError(sum), "requests": api.MetricCount(sum),
			},
			Period: period,
			Label:  jsii.String("5xx %"),
		}), api5xxPercent)
	// Account-level (all functions in this account and region): one
	// metric however many functions the stack has.
	alarm("LambdaErrors", "Lambda functions in this account and region failed (crash, timeout or out of memory)",
		awslambda.Function_MetricAllErrors(sum), lambdaErrors)
	alarm("LambdaThrottles", "Lambda throttled invocations in this account and region (concurrency limit reached)",
		awslambda.Function_MetricAllThrottles(sum), 1)
	alarm("TableThrottles", "DynamoDB throttled reads or writes on the table",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("FILL(reads, 0) + FILL(writes, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"reads":  table.Metric(jsii.String("ReadThrottleEvents"), sum),
				"writes": table.Metric(jsii.String("WriteThrottleEvents"), sum),
			},
			Period: period,
		}), 1)
	// SystemErrors exists per table and operation; FILL keeps the sum
	// defined when only some operations report in a period.
	systemErrors := map[string]awscloudwatch.IMetric{}
	var terms []string
	for _, op := range tableOperations {
		id := strings.ToLower(op)
		systemErrors[id] = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String("SystemErrors"), Period: period, Statistic: jsii.String("Sum"),
			DimensionsMap: &map[string]*string{"TableName": table.TableName(), "Operation": jsii.String(op)},
		})
		terms = append(terms, "FILL("+id+", 0)")
	}
	alarm("TableSystemErrors", "DynamoDB answered with internal errors (5xx) on the table",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(strings.Join(terms, " + ")), UsingMetrics: &systemErrors, Period: period,
		}), 1)
	for _, g := range p.Groups {
		if g.FailureMetric != "" {
			alarm("Fn-"+g.Name+"-"+g.FailureMetric, g.Name+": "+g.FailureMetric+" (a call the group must not lose failed)",
				awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
					Namespace: jsii.String(deploy.MetricNamespace), MetricName: jsii.String(g.FailureMetric),
					Period: period, Statistic: jsii.String("Sum"),
				}), 1)
		}
	}
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
