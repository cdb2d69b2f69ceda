package apierr

// Bytex vendor API (/API/Public/v1/...). The reference shows the
// {"errors":[...],"response":...} envelope but documents no error texts;
// these are Keyturn's own. Texts about one parameter are built by the
// handler with Newf and name it.
var (
	BytexNoAPIKey          = New("The API key is missing or not valid. Send a Keyturn access token as the apiKey parameter, the X-Api-Key header or Authorization: Bearer.")
	BytexAccessDenied      = New("The API key does not allow this request.")
	BytexUnknownEndpoint   = New("Unknown endpoint.")
	BytexMethod            = New("Use GET or POST.")
	BytexProductNotFound   = New("The product was not found.")
	BytexAccountNotFound   = New("The account was not found.")
	BytexLicenseNotFound   = New("No license was found for this license key.")
	BytexTokenInvalid      = New("The token is not valid: it is unknown, expired or was already used.")
	BytexDiscountsOff      = New("Discounts are not available on this service yet.")
	BytexDiscountCodeTaken = New("A discount with this code exists already.")
	BytexInternal          = New("An internal error occurred. Please try again later.")
)
