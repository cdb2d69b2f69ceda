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

// GSI describes one global secondary index with string keys. Indexes
// project keys only: hot items (license keys) change on every activation,
// and an index that projected their attributes would be rewritten (and
// billed) on each change. Readers fetch full items by primary key.
type GSI struct {
	Name         string
	PartitionKey string
	SortKey      string
}

// Projection is the projection type of every index.
const Projection = "KEYS_ONLY"

// Table is the full table description.
type Table struct {
	PartitionKey string
	SortKey      string
	GSIs         []GSI
	TTLAttribute string
}

// Index names.
const (
	// GSI1 serves secondary look-ups by a globally unique value (for example
	// a license's global id or a customer's secret).
	GSI1 = "gsi1"
	// GSI2 serves per-parent listings ordered by a second value (for example
	// the licenses of a customer).
	GSI2 = "gsi2"
	// GSI3 lists the licenses of a customer (sparse: only keys with one).
	GSI3 = "gsi3"
	// GSI4 lists the licenses of a reseller (sparse).
	GSI4 = "gsi4"
)

// Definition is the one table schema used everywhere.
var Definition = Table{
	PartitionKey: PK,
	SortKey:      SK,
	GSIs: []GSI{
		{Name: GSI1, PartitionKey: "gsi1pk", SortKey: "gsi1sk"},
		{Name: GSI2, PartitionKey: "gsi2pk", SortKey: "gsi2sk"},
		{Name: GSI3, PartitionKey: "gsi3pk", SortKey: "gsi3sk"},
		{Name: GSI4, PartitionKey: "gsi4pk", SortKey: "gsi4sk"},
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
