// Package deploy is the one list of Keyturn's API groups as deployed: each
// group is one Lambda (functions/<Name>) behind its route prefix, with the
// permissions it needs. Infra builds functions, routes and grants from this
// list; adding a group is one line here (and its functions/<Name>/main.go).
package deploy

// Group describes one API group's function.
type Group struct {
	// Name is the directory under functions/ and the route segment.
	Name string
	// Route is the HTTP API route path prefix served by the function.
	Route string
	// Writes is true when the function writes the table (else read-only).
	Writes bool
	// Signs is true when the function signs responses with the account key
	// (KMS Decrypt of the wrapped key in envelope mode, KMS Sign in kms mode).
	Signs bool
	// Admin marks the management API: it creates signing keys (KMS
	// GenerateDataKey / GetPublicKey) and receives the admin credential hash.
	Admin bool
	// MemoryMB overrides the function's memory (0: the default for its
	// kind). CPU-bound groups get a full vCPU (1769 MB).
	MemoryMB int
}

// Groups is every deployed group.
var Groups = []Group{
	{Name: "admin", Route: "/admin", Writes: true, Admin: true},
	{Name: "auth", Route: "/api/auth", Writes: true},
	{Name: "customer", Route: "/api/customer", Writes: true},
	{Name: "data", Route: "/api/data", Writes: true},
	{Name: "key", Route: "/api/key", Writes: true, Signs: true},
	{Name: "licensetemplate", Route: "/api/licensetemplate"},
	{Name: "product", Route: "/api/product"},
	{Name: "reseller", Route: "/api/reseller", Writes: true},
	// userauth verifies argon2id password hashes: CPU-bound.
	{Name: "userauth", Route: "/api/userauth", Writes: true, MemoryMB: 1769},
}
