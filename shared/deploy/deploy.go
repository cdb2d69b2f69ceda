// Package deploy is the one list of Keyturn's functions as deployed: each
// group is one Lambda (functions/<Name>) behind its HTTP API routes, with
// the permissions and memory it needs. Infra builds functions, routes,
// grants and alarms from this list; adding a group is one line here (and
// its functions/<Name>/main.go).
package deploy

import "strings"

// Group describes one function.
type Group struct {
	// Name is the directory under functions/ (and, for Web API groups, the
	// lower-case group segment of /api/<group>/<method>).
	Name string
	// Routes are the HTTP API route paths (method ANY) that reach the
	// function, e.g. WebAPI("key", "Key") or an exact path such as
	// "/auth/login". HTTP API matches paths case-sensitively, so each
	// spelling clients send gets its own route; any other spelling falls
	// to the Default function.
	Routes []string
	// Default marks the function behind the $default route: it serves
	// every Web API group with the same handlers and normalizes the path
	// itself, so a spelling no route matches (//api//key/activate/,
	// /API/KEY/ACTIVATE ...) still reaches its method, never a 404 or a
	// redirect. Its permissions are the union of the Web API groups'.
	Default bool
	// Writes is true when the function writes the table (else read-only).
	Writes bool
	// Signs is true when the function signs responses with the account key
	// (KMS Decrypt of the wrapped key in envelope mode, KMS Sign in kms mode).
	Signs bool
	// Secrets is true when the function opens account secrets sealed
	// under the wrapping key (accounts' Stripe keys, payment form webhook
	// secrets): KMS Decrypt on that key, in every signing mode.
	Secrets bool
	// Admin marks the management API: it creates signing keys (KMS
	// GenerateDataKey / GetPublicKey) and receives the admin credential hash.
	Admin bool
	// MemoryMB is the function's memory (Lambda CPU scales with it: 1769 MB
	// is one vCPU). Chosen by cost at an acceptable latency from the CPU
	// time per request measured by scripts/bench; see infra/README.md.
	MemoryMB int
	// TimeoutSeconds is the function's timeout.
	TimeoutSeconds int
	// FailureMetric names a metric (namespace MetricNamespace, Sum) the
	// function emits when a call it must not lose failed, e.g. a payment
	// webhook; infra alarms on it (>= 1 in 5 minutes). Empty: none.
	FailureMetric string
}

// MetricNamespace is the CloudWatch namespace of the metrics functions
// emit themselves (FailureMetric).
const MetricNamespace = "Keyturn"

// WebAPI returns the routes of a Web API group: /api/<spelling>/{proxy+}
// for each spelling of the group segment that clients send (the first is
// the group's name).
func WebAPI(spellings ...string) []string {
	out := make([]string, len(spellings))
	for i, s := range spellings {
		out[i] = Prefix("/api/" + s)
	}
	return out
}

// Prefix returns the route of every path under p: p/{proxy+}.
func Prefix(p string) string { return strings.TrimSuffix(p, "/") + "/{proxy+}" }

// Groups is every deployed function. Memory follows the rule and the
// measurements in infra/README.md ("Function memory", from ./scripts/cost):
// the I/O-bound groups spend under a millisecond of CPU per request and
// take the smallest size; key signs every response (RSA-2048);
// revulytics reads a page of licenses with their activations (a call per
// key) and renders them; userauth
// verifies argon2id hashes (CPU-bound: one full vCPU); the fallback serves
// mostly mis-spelled key calls and is sized like key; admin (operators
// only) generates RSA keys. paymentform also serves the hosted payment
// pages and Stripe's webhook (/paymentform/...) and reports failed
// webhook deliveries; paymentform and subscription call Stripe with the
// account's sealed keys.
var Groups = []Group{
	{Name: "admin", Routes: []string{Prefix("/admin")}, Writes: true, Admin: true, MemoryMB: 1024, TimeoutSeconds: 30},
	{Name: "auth", Routes: WebAPI("auth", "Auth"), Writes: true, MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "bytex", Routes: []string{Prefix("/API/Public/v1")}, Writes: true, MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "customer", Routes: WebAPI("customer", "Customer"), Writes: true, MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "data", Routes: WebAPI("data", "Data"), Writes: true, MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "fallback", Default: true, Writes: true, Signs: true, Secrets: true, MemoryMB: 512, TimeoutSeconds: 10},
	{Name: "key", Routes: WebAPI("key", "Key"), Writes: true, Signs: true, MemoryMB: 512, TimeoutSeconds: 10},
	{Name: "licensetemplate", Routes: WebAPI("licensetemplate", "LicenseTemplate"), MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "message", Routes: WebAPI("message", "Message"), Writes: true, MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "netlicensing", Routes: []string{Prefix("/core/v2/rest")}, Writes: true, MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "paymentform", Routes: append(WebAPI("paymentform", "PaymentForm"), Prefix("/paymentform")), Writes: true, Secrets: true,
		MemoryMB: 128, TimeoutSeconds: 15, FailureMetric: "PaymentWebhookFailures"},
	{Name: "product", Routes: WebAPI("product", "Product"), MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "reseller", Routes: WebAPI("reseller", "Reseller"), Writes: true, MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "revulytics", Routes: []string{"/auth/login", "/auth/logout", Prefix("/licenseKeys")}, Writes: true, MemoryMB: 512, TimeoutSeconds: 10},
	{Name: "subscription", Routes: WebAPI("subscription", "Subscription"), Secrets: true, MemoryMB: 128, TimeoutSeconds: 10},
	{Name: "userauth", Routes: WebAPI("userauth", "UserAuth"), Writes: true, MemoryMB: 1769, TimeoutSeconds: 10},
}

// Lookup returns the group named name.
func Lookup(name string) (Group, bool) {
	for _, g := range Groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}
