// Package keyquery parses and evaluates the SearchQuery and OrderBy
// parameters of the Web API 3 method product/GetKeys: a LINQ-like filter in
// the Cryptolens product search language
// (https://help.cryptolens.io/web-interface/linq-search-product) and an
// order-by clause "fieldName [ascending|descending]".
//
// The package is pure: it knows nothing about storage. Callers present each
// license key as a Record, parse the query once with Parse, and call
// Query.Match per key with the request time. Parse errors wrap
// ErrInvalidQuery and ParseOrderBy errors wrap ErrInvalidOrderBy; the API
// edge translates them into the documented messages "The search query
// causes problems. ..." and "The 'order by' field causes problems. ...".
//
// # Grammar
//
// In EBNF (keywords, field and member names are case-insensitive; "and",
// "or", "true", "false", "null" are reserved words):
//
//	query      = [ or_expr ] .                       (* empty: match all *)
//	or_expr    = and_expr { ( "||" | "or" ) and_expr } .
//	and_expr   = comparison { ( "&&" | "and" ) comparison } .
//	comparison = unary [ cmp_op unary ] .
//	cmp_op     = "==" | "=" | "!=" | "<" | "<=" | ">" | ">=" .
//	unary      = "!" unary | postfix .
//	postfix    = primary { "." member } .
//	member     = "ToLower" "(" ")" | "ToUpper" "(" ")"            (* string -> string *)
//	           | ( "Contains" | "StartsWith" | "EndsWith" )
//	             "(" or_expr ")"                                  (* string -> bool *)
//	           | "AddDays" "(" integer ")" .                      (* DateTime -> DateTime *)
//	primary    = "(" or_expr ")" | integer | string | "true" | "false" | "null"
//	           | date | field .
//	date       = "DateTime" "(" integer "," integer "," integer
//	                        [ "," integer "," integer "," integer ] ")"
//	           | "DateTime" "." ( "Now" | "Today" | "UtcNow" ) .
//	field      = "ID" | "Key" | "Created" | "Expires" | "Period"
//	           | "F1" | "F2" | "F3" | "F4" | "F5" | "F6" | "F7" | "F8"
//	           | "Notes" | "Block" | "GlobalId" | "MaxNoOfMachines"
//	           | "TrialActivation" | "AllowedMachines"
//	           | "ActivatedMachines" "." "Count" [ "(" ")" ]
//	           | "Customer" "." ( "Id" | "Name" | "Email" | "CompanyName" )
//	           | "CustomerId" | "ResellerId" .
//	integer    = [ "-" ] digit { digit } .           (* int64; no decimals *)
//	string     = '"' { char | escape } '"' .
//	escape     = '\' ( '"' | '\' | "'" | "/" | "0" | "n" | "r" | "t" )
//	           | '\u' hex hex hex hex .
//
// Precedence follows C#: "!" and member access bind tightest, then one
// (non-associative) comparison, then "&&", then "||". Whitespace separates
// tokens and is otherwise ignored.
//
// # Types
//
// Every expression has a static kind: int, string, bool, DateTime, or null
// (the literal null only). Field kinds are listed by CanonicalField. Parse
// rejects ill-typed queries: the whole query, the operands of "!", "&&" and
// "||", and a bare field used as a predicate (F1, Block) must be bool;
// "==" and "!=" need equal kinds or a null operand; "<", "<=", ">", ">="
// need equal int, string or DateTime operands. Because typing is static,
// Match fails only when a Record breaks the schema (ErrRecord).
//
// # Semantics
//
//   - Strings compare ordinally (byte by byte); Contains, StartsWith and
//     EndsWith are ordinal and case-sensitive, so use ToLower()/ToUpper()
//     first for a case-insensitive test.
//   - DateTime(y,M,d[,h,m,s]) is UTC; out-of-range parts (DateTime(2021,2,29))
//     are errors. DateTime.Now and DateTime.UtcNow are the instant passed to
//     Match; DateTime.Today is the start of that instant's UTC day. AddDays
//     takes an integer in ±1,000,000. Times compare as instants.
//   - null equals only null, so Notes == null and Notes != null work. An
//     ordering comparison with a null operand is false. A member call on a
//     null value yields null, and null counts as false wherever a boolean
//     is needed: Notes.Contains("x") is false and !Notes.Contains("x") is
//     true for a key without notes.
//   - ActivatedMachines.Count() is the number of activated machines.
//
// # Limits
//
// A query longer than MaxQueryLength characters or nested deeper than
// MaxDepth levels is rejected. Parse and Match never panic on any input.
package keyquery
