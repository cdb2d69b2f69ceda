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
//	licenseestore  licensees (the NetLicensing licensee view of customers)
//	messagestore   messages (message/*)
//	paymentstore   payment forms, payment sessions (orders), Stripe events,
//	               Stripe keys (sealed), discount codes, subscription links
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
//	                                              customer, reseller, dataobject,
//	                                              message, paymentform
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
//	MSG#<account>             <created:012>#<id:012>                                   messagestore;
//	                          message, in time order                                   gsi2 MSGC#<account>#<channel> / <created:012>#<id:012>
//	                                                                                   (with a channel)
//	MSGI#<account>#<id>       MSGI                message pointer (its sort key)       messagestore
//	A#<account>               PF#<id:012>         payment form (webhook secret sealed) paymentstore
//	A#<account>               STRIPE              Stripe keys (sealed)                 paymentstore
//	PS#<hash>                 PS                  payment session and its order        paymentstore; ttl
//	PE#<account>#<event>      PE                  Stripe event id handled              paymentstore; ttl
//	DC#<account>#<code>       DC                  discount code, redemption count      paymentstore
//	SUB#<product>#<key>       SUB                 key's Stripe subscription item       paymentstore
//	LE#<account>#<number>     LE                  licensee: a customer within a        licenseestore; gsi2 LE#<account> / <position:012>;
//	                                              product (number, flags, properties)  gsi4 LEP#<account>#<product> / <position:012>
//	LC#<account>#<customer>   P#<product:012>     the customer's licensee in a product licenseestore
//	LN#<account>              A                   account's licensee positions (n) and licenseestore
//	                                              count (c)
//	LN#<account>              P#<product:012>     product's licensee positions (n) and licenseestore
//	                                              count (c)
//
// Besides the Web API 3 fields a key item holds licenseType, auto
// (created by the client application: CreateTrialKey), edited and editedBy
// (the vendor's last change and the access token id that made it) and
// orderRef (the order that sold it), which peer APIs show
// (shared/docs/peers/revulytics.md, shared/docs/peers/bytex.md).
//
// Indexes (schema.Definition): gsi1, gsi3, gsi4 and gsi5 project keys only;
// gsi2 projects whole items, because a GetKeys page and a SearchQuery
// filter read license items from it and license items change only on
// vendor edits (activations are items of their own); a GetMessages page of
// one channel reads it alone too (messages never change); a page of an
// account's licensees is read from it too (licensee items change only on
// vendor edits). A licensee's position in its account's and its product's
// listing comes from the LN# counters and never changes (a deleted
// licensee leaves a hole), so listing page p of size s reads positions
// p*s+1 .. (p+1)*s: one Query whatever the page.
//
// Hot spots: every activation writes its own item in its license's
// partition, so a burst on one key is bounded by one partition (about
// 1,000 new activations or 3,000 strongly consistent reads per second) and
// cannot throttle other keys, products or accounts; the COUNTER partition
// is written only when ids are allocated (creations), and KC#<product> only
// when a product's keys are created or deleted. GetMessages reads one
// page of MSG#<account> (all channels) or of its channel's gsi2 partition:
// apps that poll for messages share those partitions' read throughput
// (about 3,000 strongly consistent, 6,000 eventually consistent 4 KB reads
// per second each before adaptive capacity splits them).
package dynamo
