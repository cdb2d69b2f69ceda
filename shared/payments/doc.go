// Package payments runs payment forms (paymentform/CreateSession, the
// hosted payment page and Stripe's webhook), discount codes and metered
// billing (subscription/RecordUsage) with each vendor's own Stripe
// account. It imports nothing from AWS or Stripe: the processor is the
// Processor interface (package stripepay implements it with the official
// stripe-go client), storage the Store interfaces (package
// dynamo/paymentstore).
//
// # Model
//
// A Form (admin API) says what a buyer pays (a default price, currency,
// heading and item name) and what happens once the payment succeeded:
// create a key from a license template, optionally with a customer for
// the buyer (found by e-mail or created), and/or POST the order to the
// vendor's webhook URL, signed with the form's webhook secret
// (SignatureHeader; VerifyNotification checks it).
//
// CreateSession makes a Session for one buyer: a single-use id
// (base64 of ["<form id>","<secret>"]; only the secret's SHA-256 is
// stored) that expires after Expires seconds, with the price, heading and
// item name the call gives (or the form's). The buyer opens the hosted
// page of the session, may enter a discount code and starts paying:
// StartCheckout moves the session from open to checkout in one
// conditional write (redeeming the code in the same transaction) and
// creates a Stripe Checkout Session (idempotency key per session and
// attempt), to which the buyer is redirected. A session starts one
// checkout; opening the page again returns to the same checkout.
//
// Stripe's webhook (one endpoint per account, signed with the account's
// webhook secret) completes the order: HandleWebhook verifies the
// signature and refuses timestamps more than WebhookTolerance from now,
// records the event id with a conditional write (a duplicate delivery
// does nothing), checks that the checkout is the order's and that the
// amount and currency paid are the order's, then claims the order with a
// conditional write (checkout -> completing, with a lease and a reserved
// key string) and runs the form's actions; the key is created under the
// reserved string (keys.Service.CreateOnce), so a delivery that takes
// over an order whose first delivery crashed cannot create a second key.
// The order then becomes completed and the buyer's success page shows
// the key. An expired or failed checkout cancels the order and gives the
// discount redemption back.
//
// Stripe keys (secret key and webhook secret) are per account, sealed
// together under the envelope key (signing.SecretWrapper: KMS data key or
// the local key file), set through the admin API and never returned or
// logged (Settings).
//
// Metering reports usage to Stripe billing meters; see its documentation
// for the mapping from the reference's usage records.
package payments
