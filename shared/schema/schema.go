// Package schema defines the single DynamoDB table of Keyturn: key attributes,
// global secondary indexes and the TTL attribute. It is pure data with no AWS
// dependency so that the CDK app (infra), the DynamoDB adapter, the local
// development stack and the tests all build the table from one definition.
package schema

// Attribute names shared by every item.
const (
	// PK is the partition key attribute (string).
	PK = "pk"
	// SK is the sort key attribute (string).
	SK = "sk"
	// TTL is the attribute holding an item's expiry as unix seconds. DynamoDB
	// deletes expired items lazily (possibly days later), so code that reads
	// expiring items must still check this value itself.
	TTL = "ttl"
)

// GSI describes one global secondary index with string keys.
type GSI struct {
	Name         string
	PartitionKey string
	SortKey      string
	// Projection is KeysOnly or All. Indexes project keys only unless a
	// listing must filter or read whole items from the index itself; an
	// index that projects attributes is rewritten (and billed) whenever
	// they change, so only items that change rarely are projected.
	Projection string
}

// Projection types.
const (
	KeysOnly = "KEYS_ONLY"
	All      = "ALL"
)

// Table is the full table description.
type Table struct {
	PartitionKey string
	SortKey      string
	GSIs         []GSI
	TTLAttribute string
}

// Index names.
const (
	// GSI1 serves look-ups by a second unique value: a license by global
	// id, an account's access tokens.
	GSI1 = "gsi1"
	// GSI2 lists a product's licenses in id order, an account's data
	// objects and an account's licensees (NetLicensing view) by position. It projects every attribute, so a listing page and a
	// SearchQuery filter read the index alone (license items change only
	// on vendor edits: activations are items of their own).
	GSI2 = "gsi2"
	// GSI3 lists the licenses of a customer and the users of a customer
	// (sparse: only items with a customer).
	GSI3 = "gsi3"
	// GSI4 lists the licenses of a reseller and the licensees of a product
	// (sparse).
	GSI4 = "gsi4"
	// GSI5 lists a product's licenses in expiry order.
	GSI5 = "gsi5"
)

// Definition is the one table schema used everywhere.
var Definition = Table{
	PartitionKey: PK,
	SortKey:      SK,
	GSIs: []GSI{
		{Name: GSI1, PartitionKey: "gsi1pk", SortKey: "gsi1sk", Projection: KeysOnly},
		{Name: GSI2, PartitionKey: "gsi2pk", SortKey: "gsi2sk", Projection: All},
		{Name: GSI3, PartitionKey: "gsi3pk", SortKey: "gsi3sk", Projection: KeysOnly},
		{Name: GSI4, PartitionKey: "gsi4pk", SortKey: "gsi4sk", Projection: KeysOnly},
		{Name: GSI5, PartitionKey: "gsi5pk", SortKey: "gsi5sk", Projection: KeysOnly},
	},
	TTLAttribute: TTL,
}

// AttributeNames lists every key attribute of the table and its indexes, in
// a stable order (table keys first, then each index's keys).
func (t Table) AttributeNames() []string {
	names := []string{t.PartitionKey, t.SortKey}
	for _, g := range t.GSIs {
		names = append(names, g.PartitionKey, g.SortKey)
	}
	return names
}
