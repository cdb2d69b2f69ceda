// Package dynamo is the small DynamoDB core that Keyturn's storage
// adapters share: the client interface, the table, every item-key builder
// (keys.go), one conditional-update helper (Table.UpdateExisting), one
// transaction helper that retries transaction conflicts (Table.Transact),
// batched reads and paging. The adapters, one per feature, live in the
// sub-packages and implement the domain packages' own Store interfaces:
//
//	catalogstore   accounts, products, access tokens, signing keys
//	licensestore   license keys and their activations, trials, templates,
//	               product listings, customers' device records
//	customerstore  customers and resellers
//	userstore      end users (userauth) and their login attempts
//	datastore      data objects
//
// Errors: a missing item is apierr.NotFound and a failed condition is
// apierr.Conflict (the adapters translate them to their domain's meaning);
// anything else is a store fault, wrapped with what was being done.
//
// # Data model
//
// One table, on-demand; key attributes pk and sk (strings); TTL attribute
// ttl (unix seconds; readers still check expiry, DynamoDB deletes late).
// Numbers in sort keys are zero-padded (<id:012> is 12 digits). Every item
// type, with its owner (the adapter that writes it; others that write an
// attribute of it are named), its indexes and TTL:
//
//	pk                        sk                  item                                 owner, indexes, TTL
//	COUNTER                   <name>              global id counter (n): account,      catalogstore (and every adapter
//	                                              product, template, globalkey,        that allocates ids)
//	                                              customer, reseller, dataobject
//	ACCOUNTS                  A#<id:012>          account                              catalogstore
//	A#<account>               P#<product:012>     product                              catalogstore
//	A#<account>               SIGNKEY#<ver:06>    signing key version (sealed)         catalogstore
//	T#<token>                 T                   access token (secret hash)           catalogstore; gsi1 A#<account>#TOKENS / <id>; ttl
//	SES#<idhash>              SES                 peer-API login session (hex SHA-256  catalogstore; ttl
//	                                              of its id: token id, secret hash,
//	                                              user, expiry)
//	A#<account>               TPL#<id:012>        license template                     licensestore
//	K#<product>#<key>         KEY                 license key                          licensestore (datastore: dataObjectCount);
//	                                                                                   gsi1 G#<globalid> / KEY;
//	                                                                                   gsi2 P#<product>#KEYS / <id:012> (all attributes);
//	                                                                                   gsi5 E#<product> / <expires:012>#<id:012>;
//	                                                                                   gsi3 C#<account>#<customer> / <pk> (with a customer);
//	                                                                                   gsi4 R#<account>#<reseller> / <pk> (with a reseller)
//	K#<product>#<key>         N#<slot:010>        node-locked machine in a seat        licensestore
//	K#<product>#<key>         S#<slot:010>        floating seat                        licensestore; ttl
//	K#<product>#<key>         m#<machine>         node-locked machine holding no seat  licensestore
//	K#<product>#<key>         f#<machine>         floating activation, key w/o limit   licensestore; ttl
//	KC#<product>              N                   product's last key id (n)            licensestore
//	KC#<product>              H#<id:012>          key id without a key (hole)          licensestore
//	TRIAL#<product>#<machine> TRIAL               a machine's trial key                licensestore
//	CD#<account>#<customer>   m<machine>          device counted for MaxNoOfDevices    licensestore
//	A#<account>               C#<id:012>          customer                             customerstore (licensestore: deviceCount;
//	                                                                                   userstore: userCount)
//	CS#<account>#<secret>     CS                  customer secret -> id (unique)       customerstore
//	CE#<account>#<email>      CE                  lower-cased email -> first customer  customerstore
//	A#<account>               R#<id:012>          reseller                             customerstore
//	A#<account>               USER#<username>     end user (folded username)           userstore; gsi3 CU#<account>#<customer> / <username>
//	UL#<account>#<username>   W#<window>          login attempts in one window         userstore; ttl
//	LT#<account>#<hash>       LT                  one-time login token (hex SHA-256;   userstore; ttl
//	                                              username, expiry)
//	DO#<account>#<ref>        <id:012>            data object (<ref>: U, P<product>,   datastore; gsi2 DO#<account> / <id:012>
//	                                              K<globalid>, M<globalid>#<machine>)
//	DO#<account>#<ref>        C                   referencer's object count (n)        datastore
//	DO#<account>#<ref>        N#<name>            referencer's objects with a name (n) datastore
//	DOI#<account>#<id>        DOI                 data object pointer                  datastore
//
// Besides the Web API 3 fields a key item holds licenseType, auto
// (created by the client application: CreateTrialKey), edited and editedBy
// (the vendor's last change and the access token id that made it) and
// orderRef (the order that sold it), which peer APIs show
// (docs/peers/revulytics.md, docs/peers/bytex.md).
//
// Indexes (schema.Definition): gsi1, gsi3, gsi4 and gsi5 project keys only;
// gsi2 projects whole items, because a GetKeys page and a SearchQuery
// filter read license items from it and license items change only on
// vendor edits (activations are items of their own).
//
// Hot spots: every activation writes its own item in its license's
// partition, so a burst on one key is bounded by one partition (about
// 1,000 new activations or 3,000 strongly consistent reads per second) and
// cannot throttle other keys, products or accounts; the COUNTER partition
// is written only when ids are allocated (creations), and KC#<product> only
// when a product's keys are created or deleted.
package dynamo
