package keyquery

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on a search query. Longer or deeper queries are rejected by Parse.
const (
	// MaxQueryLength is the maximum length of a query in characters (runes).
	MaxQueryLength = 2000
	// MaxDepth is the maximum nesting depth: each "(", each "!" and each
	// method argument list opens one level.
	MaxDepth = 50
	// maxAddDays bounds the argument of AddDays (about 2,700 years).
	maxAddDays = 1_000_000
)

// ErrInvalidQuery is wrapped by every error Parse returns. The API edge
// translates it to "The search query causes problems. Please check that it
// follows the standard: https://help.cryptolens.io/web-interface/linq-search-product".
var ErrInvalidQuery = errors.New("keyquery: invalid search query")

// ErrRecord is wrapped by every error Match returns: the Record did not
// provide a field the query uses, or provided a value of the wrong kind.
// It indicates a bug in the Record implementation, not in the query, and
// is therefore an internal error.
var ErrRecord = errors.New("keyquery: record does not fit the field schema")

// ParseError describes why a query was rejected. errors.Is(err,
// ErrInvalidQuery) is true for every *ParseError.
type ParseError struct {
	Offset int    // byte offset in the query where the problem was found
	Msg    string // human-readable description, for logs
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("keyquery: invalid search query at offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns ErrInvalidQuery.
func (e *ParseError) Unwrap() error { return ErrInvalidQuery }

func errAt(pos int, format string, args ...any) error {
	return &ParseError{Offset: pos, Msg: fmt.Sprintf(format, args...)}
}

// Query is a parsed search query. It is immutable and safe for concurrent
// use. The zero Query and a nil *Query match every record.
type Query struct {
	src  string
	root node // nil: match everything
}

// String returns the source text the query was parsed from.
func (q *Query) String() string {
	if q == nil {
		return ""
	}
	return q.src
}

// Parse parses a search query in the product search language described in
// the package documentation. An empty or all-whitespace query matches every
// record. Every error wraps ErrInvalidQuery and is a *ParseError: syntax
// errors, unknown fields or members, malformed or out-of-range literals,
// type errors (such as Key > 5 or a non-boolean query), a query longer than
// MaxQueryLength characters or nested deeper than MaxDepth. Parse never
// panics.
func Parse(src string) (*Query, error) {
	if n := utf8.RuneCountInString(src); n > MaxQueryLength {
		return nil, errAt(0, "query is %d characters long, the limit is %d", n, MaxQueryLength)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 1 { // only tEOF
		return &Query{src: src}, nil
	}
	p := &parser{toks: toks}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errAt(t.pos, "unexpected %s", t.describe())
	}
	if root.typ() != KindBool {
		return nil, errAt(0, "the query must be a boolean expression, not %s", root.typ())
	}
	return &Query{src: src, root: root}, nil
}

// Match reports whether r satisfies the query. now is the value of
// DateTime.Now and DateTime.UtcNow (DateTime.Today is the start of now's
// UTC day). Every error wraps ErrRecord: r is nil, r lacks a field the
// query uses, or r returned a value whose kind differs from the field's
// (see CanonicalField). A nil or empty query matches every record, even a
// nil one. Match does not panic unless r.Field does.
func (q *Query) Match(r Record, now time.Time) (bool, error) {
	if q == nil || q.root == nil {
		return true, nil
	}
	if r == nil {
		return false, fmt.Errorf("%w: nil record", ErrRecord)
	}
	v, err := q.root.eval(&env{r: r, now: now})
	if err != nil {
		return false, err
	}
	return truthy(v), nil
}

// truthy is the boolean reading of a value: only true is true; null (for
// example a method called on a null Notes) counts as false.
func truthy(v Value) bool { return v.kind == KindBool && v.b }

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) expect(k tokKind) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, errAt(t.pos, "expected %s, found %s", tokNames[k], t.describe())
	}
	return t, nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return errAt(pos, "query is nested deeper than %d levels", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func requireBool(n node, pos int, what string) error {
	if n.typ() != KindBool {
		return errAt(pos, "operand of %s must be boolean, not %s", what, n.typ())
	}
	return nil
}

// parseOr: or_expr = and_expr { ( "||" | "or" ) and_expr } .
func (p *parser) parseOr() (node, error) {
	return p.parseList(tOr, `"||"`, p.parseAnd, func(ns []node) node { return orNode(ns) })
}

// parseAnd: and_expr = comparison { ( "&&" | "and" ) comparison } .
func (p *parser) parseAnd() (node, error) {
	return p.parseList(tAnd, `"&&"`, p.parseCmp, func(ns []node) node { return andNode(ns) })
}

func (p *parser) parseList(op tokKind, what string, sub func() (node, error), mk func([]node) node) (node, error) {
	pos := p.peek().pos
	first, err := sub()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != op {
		return first, nil
	}
	if err := requireBool(first, pos, what); err != nil {
		return nil, err
	}
	list := []node{first}
	for p.peek().kind == op {
		p.next()
		pos := p.peek().pos
		n, err := sub()
		if err != nil {
			return nil, err
		}
		if err := requireBool(n, pos, what); err != nil {
			return nil, err
		}
		list = append(list, n)
	}
	return mk(list), nil
}

// parseCmp: comparison = unary [ cmp_op unary ] .
func (p *parser) parseCmp() (node, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	opTok := p.peek()
	switch opTok.kind {
	case tEq, tNe, tLt, tLe, tGt, tGe:
	default:
		return l, nil
	}
	p.next()
	r, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	lt, rt := l.typ(), r.typ()
	switch opTok.kind {
	case tEq, tNe:
		if lt != rt && lt != KindNull && rt != KindNull {
			return nil, errAt(opTok.pos, "cannot compare %s with %s", lt, rt)
		}
	default:
		if lt == KindNull || rt == KindNull {
			return nil, errAt(opTok.pos, "operator %s cannot be applied to null", opTok.text)
		}
		if lt != rt {
			return nil, errAt(opTok.pos, "cannot compare %s with %s", lt, rt)
		}
		if lt == KindBool {
			return nil, errAt(opTok.pos, "operator %s cannot be applied to bool", opTok.text)
		}
	}
	return &cmpNode{op: opTok.kind, l: l, r: r}, nil
}

// parseUnary: unary = "!" unary | postfix .
func (p *parser) parseUnary() (node, error) {
	t := p.peek()
	if t.kind != tNot {
		return p.parsePostfix()
	}
	p.next()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	pos := p.peek().pos
	n, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if err := requireBool(n, pos, `"!"`); err != nil {
		return nil, err
	}
	return notNode{n}, nil
}

// parsePostfix: postfix = primary { "." member } .
func (p *parser) parsePostfix() (node, error) {
	n, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tDot {
		p.next()
		name, err := p.expect(tIdent)
		if err != nil {
			return nil, err
		}
		if n, err = p.parseMember(n, name); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// parseMember parses the member call after "recv." whose name is name.
func (p *parser) parseMember(recv node, name token) (node, error) {
	lname := strings.ToLower(name.text)
	switch {
	case recv.typ() == KindString && (lname == "tolower" || lname == "toupper"):
		if err := p.emptyArgs(); err != nil {
			return nil, err
		}
		return &caseNode{recv: recv, upper: lname == "toupper"}, nil
	case recv.typ() == KindString && (lname == "contains" || lname == "startswith" || lname == "endswith"):
		arg, err := p.oneArg()
		if err != nil {
			return nil, err
		}
		return &strPredNode{recv: recv, arg: arg, method: lname}, nil
	case recv.typ() == KindTime && lname == "adddays":
		if _, err := p.expect(tLParen); err != nil {
			return nil, err
		}
		nt, err := p.expect(tInt)
		if err != nil {
			return nil, err
		}
		if nt.ival > maxAddDays || nt.ival < -maxAddDays {
			return nil, errAt(nt.pos, "AddDays argument %d out of range", nt.ival)
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return &addDaysNode{recv: recv, days: int(nt.ival)}, nil
	}
	return nil, errAt(name.pos, "%s has no member %q", recv.typ(), name.text)
}

func (p *parser) emptyArgs() error {
	if _, err := p.expect(tLParen); err != nil {
		return err
	}
	_, err := p.expect(tRParen)
	return err
}

// oneArg parses "(" string_expr ")".
func (p *parser) oneArg() (node, error) {
	lp, err := p.expect(tLParen)
	if err != nil {
		return nil, err
	}
	if err := p.enter(lp.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	pos := p.peek().pos
	arg, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if arg.typ() != KindString {
		return nil, errAt(pos, "argument must be a string, not %s", arg.typ())
	}
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	return arg, nil
}

// parsePrimary: primary = "(" or_expr ")" | literal | date | field .
func (p *parser) parsePrimary() (node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return n, nil
	case tInt:
		return litNode{IntValue(t.ival)}, nil
	case tString:
		return litNode{StringValue(t.sval)}, nil
	case tIdent:
		return p.parseIdent(t)
	}
	return nil, errAt(t.pos, "expected a field, a literal or \"(\", found %s", t.describe())
}

func (p *parser) parseIdent(t token) (node, error) {
	switch strings.ToLower(t.text) {
	case "true":
		return litNode{BoolValue(true)}, nil
	case "false":
		return litNode{BoolValue(false)}, nil
	case "null":
		return litNode{NullValue()}, nil
	case "datetime":
		return p.parseDateTime(t)
	case "customer":
		if p.peek().kind != tDot {
			return nil, errAt(t.pos, "Customer must be followed by .Id, .Name, .Email or .CompanyName")
		}
		p.next()
		sub, err := p.expect(tIdent)
		if err != nil {
			return nil, err
		}
		f, ok := fieldIndex["customer."+strings.ToLower(sub.text)]
		if !ok {
			return nil, errAt(sub.pos, "unknown field Customer.%s", sub.text)
		}
		return &fieldNode{def: f}, nil
	case "activatedmachines":
		if p.peek().kind != tDot || p.toks[p.pos+1].kind != tIdent || !strings.EqualFold(p.toks[p.pos+1].text, "count") {
			return nil, errAt(t.pos, "ActivatedMachines must be followed by .Count()")
		}
		p.pos += 2
		if p.peek().kind == tLParen {
			if err := p.emptyArgs(); err != nil {
				return nil, err
			}
		}
		return &fieldNode{def: fieldIndex["activatedmachines"]}, nil
	}
	f, ok := fieldIndex[strings.ToLower(t.text)]
	if !ok {
		return nil, errAt(t.pos, "unknown field %q", t.text)
	}
	return &fieldNode{def: f}, nil
}

// parseDateTime parses what follows the identifier DateTime:
// "(" y "," M "," d [ "," h "," m "," s ] ")" or "." ( Now | Today | UtcNow ).
func (p *parser) parseDateTime(t token) (node, error) {
	switch p.peek().kind {
	case tDot:
		p.next()
		name, err := p.expect(tIdent)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(name.text) {
		case "now", "utcnow":
			return nowNode{}, nil
		case "today":
			return nowNode{today: true}, nil
		}
		return nil, errAt(name.pos, "unknown member DateTime.%s (want Now, Today or UtcNow)", name.text)
	case tLParen:
		p.next()
		var parts []int64
		for {
			nt, err := p.expect(tInt)
			if err != nil {
				return nil, err
			}
			parts = append(parts, nt.ival)
			sep := p.next()
			if sep.kind == tRParen {
				break
			}
			if sep.kind != tComma {
				return nil, errAt(sep.pos, `expected "," or ")", found %s`, sep.describe())
			}
			if len(parts) == 6 {
				return nil, errAt(sep.pos, "DateTime takes 3 or 6 arguments")
			}
		}
		if len(parts) != 3 && len(parts) != 6 {
			return nil, errAt(t.pos, "DateTime takes 3 or 6 arguments, got %d", len(parts))
		}
		for len(parts) < 6 {
			parts = append(parts, 0)
		}
		tm, ok := makeDate(parts)
		if !ok {
			return nil, errAt(t.pos, "invalid date DateTime%v", parts)
		}
		return litNode{TimeValue(tm)}, nil
	}
	return nil, errAt(t.pos, `DateTime must be followed by "(" or ".Now", ".Today", ".UtcNow"`)
}

// makeDate builds a UTC time from year, month, day, hour, minute, second,
// rejecting out-of-range parts instead of normalising them.
func makeDate(p []int64) (time.Time, bool) {
	y, mo, d, h, mi, s := p[0], p[1], p[2], p[3], p[4], p[5]
	if y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return time.Time{}, false
	}
	tm := time.Date(int(y), time.Month(mo), int(d), int(h), int(mi), int(s), 0, time.UTC)
	if tm.Day() != int(d) { // e.g. 31 February
		return time.Time{}, false
	}
	return tm, true
}
