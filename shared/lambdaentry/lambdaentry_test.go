package lambdaentry_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/handlers/bytex"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/lambdaentry"
	"github.com/keyturn/keyturn/shared/licensees"
	"github.com/keyturn/keyturn/shared/messages"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/stripefake"
	"github.com/keyturn/keyturn/shared/users"
)

const (
	denied         = `{"result":1,"message":"Unable to authenticate."}`
	badInput       = `{"result":1,"message":"The input parameters were incorrect."}`
	keyNotFound    = `{"result":1,"message":"Could not find the key."}`
	customerGone   = `{"result":1,"message":"Customer not found, so current key no longer references any customer."}`
	resellerGone   = `{"result":1,"message":"The reseller was not found or the id was set to zero. The license will no longer have any reseller associated with it."}`
	notesTooLong   = `{"result":1,"message":"The notes field cannot be more than 500 characters."}`
	productMissing = `{"result":1,"message":"Could not find the product."}`
)

// expectations: every file in events/ must be listed here with the status
// and a substring (or the whole body) of the answer.
var expectations = map[string]struct {
	status int
	body   string
}{
	"admin/ListAccounts.json":                        {200, `"accounts":[`},
	"admin/ListAccounts.error.json":                  {401, `{"error":"admin credential missing or wrong"}`},
	"auth/KeyLock.json":                              {200, `"keyId":`},
	"auth/KeyLock.error.json":                        {200, `{"result":1,"message":"The Key Lock has to be set to '-1' for this method to work."}`},
	"licensetemplate/GetLicenseTemplates.json":       {200, `"licenseTemplates":[{"id":`},
	"licensetemplate/GetLicenseTemplates.error.json": {200, denied},
	"product/GetProducts.json":                       {200, `"name":"Event product"`},
	"product/GetProducts.error.json":                 {200, denied},
	"product/GetKeys.json":                           {200, `"licenseKeys":[`},
	"product/GetKeys.error.json":                     {200, `{"result":1,"message":"The search query causes problems.`},
	"key/Activate.json":                              {200, `"licenseKey":"`},
	"key/Activate.error.json":                        {200, `{"result":1,"message":"The key is blocked and cannot be accessed."}`},
	"key/GetKey.json":                                {200, `"signature":"`},
	"key/GetKey.error.json":                          {200, keyNotFound},
	"key/Deactivate.json":                            {200, `{"result":0,"message":""}`},
	"key/Deactivate.error.json":                      {200, `{"result":1,"message":"Either the machine code was never activated or key activation feature was never set up."}`},
	"key/CreateKey.json":                             {200, `{"key":"`},
	"key/CreateKey.error.json":                       {200, notesTooLong},
	"key/CreateTrialKey.json":                        {200, `{"key":"`},
	"key/CreateTrialKey.error.json":                  {200, productMissing},
	"key/CreateKeyFromTemplate.json":                 {200, `"rawResponse":"`},
	"key/CreateKeyFromTemplate.error.json":           {200, `{"result":1,"message":"Could not find the license template."}`},
	"key/BlockKey.json":                              {200, `{"result":0,"message":""}`},
	"key/BlockKey.error.json":                        {200, keyNotFound},
	"key/UnblockKey.json":                            {200, `{"result":0,"message":""}`},
	"key/UnblockKey.error.json":                      {200, badInput},
	"key/ExtendLicense.json":                         {200, `{"result":0,"message":""}`},
	"key/ExtendLicense.error.json":                   {200, badInput},
	"key/MachineLockLimit.json":                      {200, `{"result":0,"message":""}`},
	"key/MachineLockLimit.error.json":                {200, badInput},
	"key/ChangeNotes.json":                           {200, `{"result":0,"message":""}`},
	"key/ChangeNotes.error.json":                     {200, notesTooLong},
	"key/ChangeCustomer.json":                        {200, customerGone},
	"key/ChangeCustomer.error.json":                  {200, keyNotFound},
	"key/ChangeReseller.json":                        {200, resellerGone},
	"key/ChangeReseller.error.json":                  {200, keyNotFound},
	"key/TrialActivation.json":                       {200, `{"result":0,"message":""}`},
	"key/TrialActivation.error.json":                 {200, badInput},
	"key/AddFeature.json":                            {200, `{"result":0,"message":""}`},
	"key/AddFeature.error.json":                      {200, badInput},
	"key/RemoveFeature.json":                         {200, `{"result":0,"message":""}`},
	"key/RemoveFeature.error.json":                   {200, badInput},

	"customer/AddCustomer.json":                       {200, `"portalLink":"https://example.execute-api.us-east-1.amazonaws.com/portal/customer?`},
	"customer/AddCustomer.error.json":                 {200, badInput},
	"customer/EditCustomer.json":                      {200, `{"customerId":`},
	"customer/EditCustomer.error.json":                {200, `{"result":1,"message":"Customer could not be found."}`},
	"customer/GetCustomers.json":                      {200, `"maxNoOfDevices":0`},
	"customer/GetCustomers.error.json":                {200, denied},
	"customer/GetCustomerLicenses.json":               {200, `"metadata":{"`},
	"customer/GetCustomerLicenses.error.json":         {200, `{"result":1,"message":"Customer does not exist."}`},
	"customer/GetCustomerLicensesBySecret.json":       {200, `{"licenseKeys":[{"productId":`},
	"customer/GetCustomerLicensesBySecret.error.json": {200, `{"result":1,"message":"The Secret was not specified."}`},
	"customer/RemoveCustomer.json":                    {200, `{"result":0,"message":""}`},
	"customer/RemoveCustomer.error.json":              {200, `{"result":1,"message":"Customer does not exist."}`},
	"reseller/AddReseller.json":                       {200, `{"resellerId":`},
	"reseller/AddReseller.error.json":                 {200, `{"result":1,"message":"The model state is not valid. Please check the parameters."}`},
	"reseller/EditReseller.json":                      {200, `{"result":0,"message":""}`},
	"reseller/EditReseller.error.json":                {200, `{"result":1,"message":"Reseller could not be found."}`},
	"reseller/GetResellers.json":                      {200, `"name":"Event reseller"`},
	"reseller/GetResellers.error.json":                {200, denied},
	"reseller/GetResellerCustomers.json":              {200, `"customers":[{"id":`},
	"reseller/GetResellerCustomers.error.json":        {200, `{"result":1,"message":"Reseller could not be found."}`},
	"reseller/RemoveReseller.json":                    {200, `{"result":0,"message":""}`},
	"reseller/RemoveReseller.error.json":              {200, `{"result":1,"message":"Reseller could not be found. Maybe it was already removed?"}`},

	"data/AddDataObject.json":                        {200, `{"id":`},
	"data/AddDataObject.error.json":                  {200, `{"result":1,"message":"Incorrect 'ReferencerType'. It can either be 0 (for a User), 1 (for a Product) and 2 (for a Key)."}`},
	"data/AddDataObjectToKey.json":                   {200, `{"id":`},
	"data/AddDataObjectToKey.error.json":             {200, `{"result":1,"message":"Not enough permission and/or key not found."}`},
	"data/ListDataObjects.json":                      {200, `{"dataObjects":[{"referencerId":`},
	"data/ListDataObjects.error.json":                {200, `{"result":1,"message":"Not enough permission and/or product not found."}`},
	"data/IncrementIntValue.json":                    {200, `{"result":0,"message":""}`},
	"data/IncrementIntValue.error.json":              {200, `{"result":1,"message":"Cannot increment/decrement value since the limit was reached for an int32."}`},
	"data/IncrementIntValueToKey.json":               {200, `{"result":0,"message":""}`},
	"data/IncrementIntValueToKey.error.json":         {200, `{"result":1,"message":"Not enough permission."}`},
	"data/DecrementIntValue.json":                    {200, `{"result":0,"message":""}`},
	"data/DecrementIntValue.error.json":              {200, `{"result":1,"message":"Cannot increment/decrement value since the limit was reached for an int32."}`},
	"data/SetIntValue.json":                          {200, `{"result":0,"message":""}`},
	"data/SetIntValue.error.json":                    {200, `{"result":1,"message":"The input parameters were incorrect."}`},
	"data/SetStringValue.json":                       {200, `{"result":0,"message":""}`},
	"data/SetStringValue.error.json":                 {200, `{"result":1,"message":"Not enough permission."}`},
	"data/UploadValuesToKey.json":                    {200, `{"result":0,"message":""}`},
	"data/UploadValuesToKey.error.json":              {200, `{"result":1,"message":"Data parameter was empty."}`},
	"data/AddDataObjectToMachineCode.json":           {200, `{"id":`},
	"data/AddDataObjectToMachineCode.error.json":     {200, `{"result":1,"message":"Not enough permission and/or machine code not found."}`},
	"data/ListDataObjectsToKey.json":                 {200, `{"dataObjects":[{"id":`},
	"data/ListDataObjectsToKey.error.json":           {200, `{"result":1,"message":"Not enough permission and/or key not found."}`},
	"data/ListDataObjectsToMachineCode.json":         {200, `{"dataObjects":[{"id":`},
	"data/ListDataObjectsToMachineCode.error.json":   {200, `{"result":1,"message":"Not enough permission and/or machine code not found."}`},
	"data/IncrementIntValueToMachineCode.json":       {200, `{"result":0,"message":""}`},
	"data/IncrementIntValueToMachineCode.error.json": {200, `{"result":1,"message":"Not enough permission."}`},
	"data/DecrementIntValueToKey.json":               {200, `{"result":0,"message":""}`},
	"data/DecrementIntValueToKey.error.json":         {200, `{"result":1,"message":"Not enough permission."}`},
	"data/DecrementIntValueToMachineCode.json":       {200, `{"result":0,"message":""}`},
	"data/DecrementIntValueToMachineCode.error.json": {200, `{"result":1,"message":"Not enough permission."}`},
	"data/SetIntValueToKey.json":                     {200, `{"result":0,"message":""}`},
	"data/SetIntValueToKey.error.json":               {200, `{"result":1,"message":"Not enough permission and/or key not found."}`},
	"data/SetIntValueToMachineCode.json":             {200, `{"result":0,"message":""}`},
	"data/SetIntValueToMachineCode.error.json":       {200, `{"result":1,"message":"Not enough permission and/or machine code not found."}`},
	"data/SetStringValueToKey.json":                  {200, `{"result":0,"message":""}`},
	"data/SetStringValueToKey.error.json":            {200, `{"result":1,"message":"Not enough permission."}`},
	"data/SetStringValueToMachineCode.json":          {200, `{"result":0,"message":""}`},
	"data/SetStringValueToMachineCode.error.json":    {200, `{"result":1,"message":"Not enough permission."}`},
	"data/RemoveDataObject.json":                     {200, `{"result":0,"message":""}`},
	"data/RemoveDataObject.error.json":               {200, `{"result":1,"message":"Not enough permission."}`},
	"data/RemoveDataObjectToKey.json":                {200, `{"result":0,"message":""}`},
	"data/RemoveDataObjectToKey.error.json":          {200, `{"result":1,"message":"Not enough permission."}`},
	"data/RemoveDataObjectToMachineCode.json":        {200, `{"result":0,"message":""}`},
	"data/RemoveDataObjectToMachineCode.error.json":  {200, `{"result":1,"message":"Not enough permission."}`},

	"userauth/Associate.json":                {200, `{"result":0,"message":""}`},
	"userauth/Associate.error.json":          {200, `{"result":1,"message":"Customer not found."}`},
	"userauth/ChangePassword.json":           {200, `{"result":0,"message":""}`},
	"userauth/ChangePassword.error.json":     {200, `{"result":1,"message":"Could not update the password."}`},
	"userauth/Dissociate.json":               {200, `{"result":0,"message":""}`},
	"userauth/Dissociate.error.json":         {200, `{"result":1,"message":"Username does not exist."}`},
	"userauth/GetUsers.json":                 {200, `{"users":[{"username":"event-user"`},
	"userauth/GetUsers.error.json":           {200, badInput},
	"userauth/Login.json":                    {200, `{"licenseKeys":[`},
	"message/CreateMessage.json":             {200, `{"messageId":`},
	"message/CreateMessage.error.json":       {200, `{"result":1,"message":"The timestamp in the Time parameter does not have the correct format."}`},
	"message/GetMessages.json":               {200, `"content":"Event message","created":`},
	"message/GetMessages.error.json":         {200, `{"result":1,"message":"The timestamp in the Time parameter does not have the correct format."}`},
	"message/RemoveMessage.json":             {200, `{"result":0,"message":""}`},
	"message/RemoveMessage.error.json":       {200, badInput},
	"userauth/CreateLoginToken.json":         {200, `{"loginToken":"`},
	"userauth/CreateLoginToken.error.json":   {200, `{"result":1,"message":"Unable to authenticate user."}`},
	"userauth/Login.error.json":              {200, `{"result":1,"message":"Unable to authenticate user."}`},
	"userauth/Register.json":                 {200, `{"result":0,"message":""}`},
	"userauth/Register.error.json":           {200, `{"result":1,"message":"No username or password supplied."}`},
	"userauth/RemoveUser.json":               {200, `{"result":0,"message":""}`},
	"userauth/RemoveUser.error.json":         {200, `{"result":1,"message":"The user could not be found."}`},
	"userauth/ResetPasswordToken.json":       {200, `{"passwordResetToken":"`},
	"userauth/ResetPasswordToken.error.json": {200, `{"result":1,"message":"Could not generate the password reset token."}`},

	"paymentform/CreateSession.json":       {200, `{"sessionId":"`},
	"paymentform/CreateSession.error.json": {200, `{"result":1,"message":"The currency string is incorrect."}`},
	"subscription/RecordUsage.json":        {200, `{"result":0,"message":""}`},
	"subscription/RecordUsage.error.json":  {200, `{"result":1,"message":"The subscription item id could not be found."}`},
	"netlicensing/List.json":               {200, `"pagenumber":0,"itemsnumber":`},
	"netlicensing/List.error.json":         {401, `"id":"AuthenticationException","type":"ERROR"`},
	"netlicensing/Get.json":                {200, `<item type="Licensee"><property name="number">`},
	"netlicensing/Get.error.json":          {404, `{"value":"Requested licensee does not exist","id":"NotFoundException","type":"ERROR"}`},
	"netlicensing/Create.json":             {200, `{"value":"Ada Lovelace","name":"name"}`},
	"netlicensing/Create.error.json":       {400, `{"value":"Product number is not provided","id":"MalformedRequestException","type":"ERROR"}`},
	"netlicensing/Update.json":             {200, `{"value":"platinum","name":"plan"}`},
	"netlicensing/Update.error.json":       {400, `"id":"MalformedRequestException"`},
	"netlicensing/Delete.json":             {204, ``},
	"netlicensing/Delete.error.json":       {404, `"id":"NotFoundException"`},
	"netlicensing/Validate.json":           {200, `"type":"ProductModuleValidation"`},
	"netlicensing/Validate.error.json":     {404, `<info id="NotFoundException" type="ERROR">Requested licensee does not exist</info>`},
	"netlicensing/ValidateGet.json":        {200, `"id":"DeprecatedMethodWarning","type":"WARNING"`},
	"netlicensing/ValidateGet.error.json":  {401, `"id":"AuthenticationException"`},
	"netlicensing/Transfer.json":           {204, ``},
	"netlicensing/Transfer.error.json":     {400, `{"value":"Source and target licensee of a transfer must differ","id":"MalformedRequestException","type":"ERROR"}`},
	"bytex/GetProductLicenses.json":        {200, `{"errors":[],"response":{"licenses":[{"internalUserIdentifier":"K`},
	"bytex/GetProductLicenses.error.json":  {400, `{"errors":["The parameter internalUserIdentifier is required."],"response":null}`},
	"bytex/GetTokenValidity.json":          {200, `{"errors":[],"response":{"authenticatedIdentity":{"identifier":null,`},
	"bytex/GetTokenValidity.error.json":    {404, `{"errors":["The token is not valid: it is unknown, expired or was already used."],"response":null}`},
	"bytex/GetPublic.json":                 {200, `{"errors":[],"response":{"exists":true,`},
	"bytex/GetPublic.error.json":           {401, `{"errors":["The API key is missing or not valid.`},
	"bytex/Get.json":                       {200, `{"errors":[],"response":{"license":{"productSku":"`},
	"bytex/Get.error.json":                 {404, `{"errors":["No license was found for this license key."],"response":null}`},
	"bytex/Create.json":                    {200, `{"errors":[],"response":{"code":"SPRING-26"}}`},
	"bytex/Create.error.json":              {400, `{"errors":["The parameter percentage must be a number from 0.01 to 100 with at most two decimals."],"response":null}`},

	"revulytics/Login.json":          {200, `{"status":"OK","sessionId":"`},
	"revulytics/Login.error.json":    {403, `{"status":"AUTH ERROR","reason":"Wrong user name or password.`},
	"revulytics/Logout.json":         {200, `{"status":"OK"}`},
	"revulytics/Logout.error.json":   {401, `{"status":"AUTH ERROR","reason":"The session is not valid or has expired. Please log in again."}`},
	"revulytics/ListKeys.json":       {200, `{"status":"OK","returnedKeysCount":`},
	"revulytics/ListKeys.error.json": {400, `{"status":"SYNTAX ERROR","reason":"filters.overQuotaCount.min must be a number."}`},
}

// TestEventsThroughLambdaHandler feeds every sample API Gateway v2 event in
// events/<group>/ through the real Lambda entry of that group (the
// httpadapter handler the function's main starts), on DynamoDB Local.
func TestEventsThroughLambdaHandler(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	sum := sha256.Sum256([]byte("event-admin"))
	stripe := stripefake.New(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			config.EnvTable: table, config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(t.TempDir(), "kek"), config.EnvAdminSecretHash: hex.EncodeToString(sum[:]),
			config.EnvPublicURL:      "https://example.execute-api.us-east-1.amazonaws.com",
			config.EnvStripeEndpoint: stripe.URL,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, cfg, nil, app.Clients{DynamoDB: db})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := a.Catalog.CreateAccount(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "Event product"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SigningKeys.Create(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	token, _, err := a.Tokens.Issue(ctx, acc.ID, "events", auth.Scope{Methods: auth.Permissions()}, "")
	if err != nil {
		t.Fatal(err)
	}
	klToken, _, err := a.Tokens.Issue(ctx, acc.ID, "keylock", auth.Scope{Methods: []string{"GetKey"}, KeyLock: -1}, "")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := a.LicenseStore.CreateTemplate(ctx, keys.Template{AccountID: acc.ID, ProductID: p.ID, Name: "events", Spec: keys.Spec{Period: 30}})
	if err != nil {
		t.Fatal(err)
	}
	doKey, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30}, 1)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := a.DataObjects.Add(ctx, dataobj.Caller{AccountID: acc.ID},
		dataobj.Where{Variant: dataobj.ToKey, ProductID: p.ID, Key: doKey[0].Key}, dataobj.NewObject{Name: "uses"})
	if err != nil {
		t.Fatal(err)
	}
	// A machine on the data object key, with objects for the machine-code
	// variants, and objects that the Remove events delete.
	if _, err := a.Licenses.Activate(ctx, keys.ActivateInput{AccountID: acc.ID, ProductID: p.ID, Key: doKey[0].Key, MachineCode: "evt-machine"}); err != nil {
		t.Fatal(err)
	}
	owner := dataobj.Caller{AccountID: acc.ID}
	onMachine := dataobj.Where{Variant: dataobj.ToMachineCode, ProductID: p.ID, Key: doKey[0].Key, MachineCode: "evt-machine"}
	for _, name := range []string{"mc", "rm"} {
		if _, err := a.DataObjects.Add(ctx, owner, onMachine, dataobj.NewObject{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.DataObjects.Add(ctx, owner, dataobj.Where{Variant: dataobj.ToKey, ProductID: p.ID, Key: doKey[0].Key}, dataobj.NewObject{Name: "rmkey"}); err != nil {
		t.Fatal(err)
	}
	rmObj, err := a.DataObjects.Add(ctx, owner, dataobj.Where{RefType: dataobj.User}, dataobj.NewObject{Name: "rmuser"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Users.Register(ctx, acc.ID, users.Registration{Username: "event-user", Password: "event-password"}); err != nil {
		t.Fatal(err)
	}
	blocked, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Block: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Payments: Stripe keys, a payment form, a key billed by a meter.
	if _, err := a.StripeSettings.Set(ctx, acc.ID, payments.StripeKeys{SecretKey: stripe.SecretKey, WebhookSecret: stripe.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	form, _, err := a.Payments.CreateForm(ctx, acc.ID, payments.FormInput{Name: "events", TemplateID: tpl.ID})
	if err != nil {
		t.Fatal(err)
	}
	metered, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30}, 1)
	if err != nil {
		t.Fatal(err)
	}
	item, _ := stripe.AddMeteredItem("events")
	if _, err := a.Metering.Link(ctx, acc.ID, p.ID, metered[0].Key, item); err != nil {
		t.Fatal(err)
	}

	files, err := filepath.Glob(filepath.Join("..", "..", "events", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	sort.Strings(files)
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(f)), filepath.Base(f)))
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := expectations[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			name := "Event customer"
			cust, err := a.Customers.AddCustomer(ctx, acc.ID, customers.CustomerFields{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			rname := "Event reseller"
			rsl, err := a.Customers.AddReseller(ctx, acc.ID, customers.ResellerFields{Name: &rname})
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{Period: 30, MaxNoOfMachines: 5, CustomerID: cust.ID, ResellerID: rsl.ID}, 1)
			if err != nil {
				t.Fatal(err)
			}
			content, channel := "Event message", "stable"
			msg, err := a.Messages.Create(ctx, acc.ID, messages.New{Content: &content, Channel: &channel})
			if err != nil {
				t.Fatal(err)
			}
			// A licensee (the customer above within the product) and a
			// licensee marked for transfer.
			lic, err := a.Licensees.Create(ctx, acc.ID, p.ID, licensees.Fields{}, cust.ID, licensees.Limits{AccountWide: true})
			if err != nil {
				t.Fatal(err)
			}
			marked := true
			src, err := a.Licensees.Create(ctx, acc.ID, p.ID, licensees.Fields{MarkedForTransfer: &marked}, 0, licensees.Limits{AccountWide: true})
			if err != nil {
				t.Fatal(err)
			}
			session, _, err := a.Sessions.Login(ctx, "event-user@example.com", token)
			if err != nil {
				t.Fatal(err)
			}
			var loginToken string
			if strings.Contains(string(raw), "{{logintoken}}") {
				if loginToken, _, err = a.Users.CreateLoginToken(ctx, acc.ID, "event-user", "event-password"); err != nil {
					t.Fatal(err)
				}
			}
			repl := strings.NewReplacer("{{token}}", url.QueryEscape(token), "{{rawtoken}}", token, "{{session}}", session,
				"{{logintoken}}", loginToken, "{{customerident}}", bytex.CustomerIdentifier(cust.ID), "{{keylock_token}}", url.QueryEscape(klToken),
				"{{product}}", strconv.FormatInt(p.ID, 10), "{{key}}", fresh[0].Key, "{{blocked}}", blocked[0].Key,
				"{{template}}", strconv.FormatInt(tpl.ID, 10), "{{admin}}", "event-admin",
				"{{customer}}", strconv.FormatInt(cust.ID, 10), "{{secret}}", url.QueryEscape(cust.Secret), "{{reseller}}", strconv.FormatInt(rsl.ID, 10),
				"{{dokey}}", doKey[0].Key, "{{dataobject}}", strconv.FormatInt(obj.ID, 10), "{{rmobject}}", strconv.FormatInt(rmObj.ID, 10),
				"{{message}}", strconv.FormatInt(msg.ID, 10),
				"{{paymentform}}", strconv.FormatInt(form.ID, 10), "{{metered}}", metered[0].Key,
				"{{licensee}}", lic.Number, "{{source}}", src.Number,
				"{{basic}}", base64.StdEncoding.EncodeToString([]byte("apiKey:"+token)))
			ev.Body = repl.Replace(ev.Body)
			ev.RawPath = repl.Replace(ev.RawPath)
			ev.RequestContext.HTTP.Path = repl.Replace(ev.RequestContext.HTTP.Path)
			ev.RawQueryString = repl.Replace(ev.RawQueryString)
			for k, v := range ev.Headers {
				ev.Headers[k] = repl.Replace(v)
			}
			h, err := a.Handler(filepath.Base(filepath.Dir(f)))
			if err != nil {
				t.Fatal(err)
			}
			res, err := lambdaentry.Handler(h)(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != want.status || !strings.Contains(res.Body, want.body) {
				t.Errorf("got %d %.400s\nwant %d containing %s", res.StatusCode, res.Body, want.status, want.body)
			}
			if strings.HasPrefix(filepath.Base(filepath.Dir(f)), "admin") {
				return
			}
			if got := res.Headers["X-Request-Id"]; got != ev.RequestContext.RequestID {
				t.Errorf("X-Request-Id = %q, want the API Gateway request id %q", got, ev.RequestContext.RequestID)
			}
			if want.status == 200 && !strings.HasSuffix(res.Body, `"message":""}`) && strings.Contains(res.Body, `"result":0`) &&
				strings.HasPrefix(ev.RawPath, "/api/") {
				t.Errorf("success body does not end with the envelope: %s", res.Body)
			}
		})
	}
	for name := range expectations {
		if !seen[name] {
			t.Errorf("expectation for %s but no such event file", name)
		}
	}
}

// TestClientIPIsSourceIP: in Lambda the activation IP is API Gateway's
// requestContext.http.sourceIp, whatever X-Forwarded-For the client sent.
func TestClientIPIsSourceIP(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvTable: table, config.EnvSigningMode: config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(t.TempDir(), "kek")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, cfg, nil, app.Clients{DynamoDB: db})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := a.Catalog.CreateAccount(ctx, "ip")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SigningKeys.Create(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	token, _, err := a.Tokens.Issue(ctx, acc.ID, "ip", auth.Scope{Methods: []string{"Activate"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	k, err := a.Licenses.Create(ctx, acc.ID, p.ID, keys.Spec{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.Handler("key")
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: "/api/key/Activate",
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "9.9.9.9, 8.8.8.8"},
		Body: url.Values{"token": {token}, "ProductId": {strconv.FormatInt(p.ID, 10)}, "Key": {k[0].Key},
			"MachineCode": {"m1"}, "Sign": {"true"}, "SignMethod": {"1"}}.Encode(),
	}
	ev.RequestContext.RequestID = "ip-test"
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.HTTP.Path = "/api/key/Activate"
	ev.RequestContext.HTTP.SourceIP = "192.0.2.10"
	res, err := lambdaentry.Handler(h)(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ LicenseKey string }
	_ = json.Unmarshal([]byte(res.Body), &r)
	js, _ := base64.StdEncoding.DecodeString(r.LicenseKey)
	var lic struct{ ActivatedMachines []struct{ IP string } }
	if err := json.Unmarshal(js, &lic); err != nil || len(lic.ActivatedMachines) != 1 {
		t.Fatalf("Activate = %d %s", res.StatusCode, res.Body)
	}
	if got := lic.ActivatedMachines[0].IP; got != "192.0.2.10" {
		t.Errorf("activation IP = %q, want API Gateway's source IP 192.0.2.10", got)
	}
}
