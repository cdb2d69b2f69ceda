package keyquery

import "time"

// CondOp is the operator of a Cond.
type CondOp uint8

// Cond operators.
const (
	// CondAnd, CondOr and CondNot combine Args.
	CondAnd CondOp = iota + 1
	CondOr
	CondNot
	// CondCmp compares Field with Value using Cmp ("==", "!=", "<", "<=",
	// ">", ">="); Value is null only with "==" and "!=" (is / is not
	// null). Time values are whole seconds.
	CondCmp
	// CondContains holds when the string Field contains Value; a null
	// field does not.
	CondContains
	// CondPrefix holds when the string Field begins with Value; a null
	// field does not.
	CondPrefix
)

// Cond is a condition over a record's stored fields that a storage layer
// can evaluate before a record is read into memory (a DynamoDB filter
// expression, for example). Semantics follow Match: strings compare
// ordinally, null equals only null, an ordering with null is false.
type Cond struct {
	Op    CondOp
	Args  []Cond
	Field string
	Cmp   string
	Value Value
}

// Prefilter returns a condition that every record the query matches
// satisfies (it may hold for records the query does not match, so Match
// must still decide), built from the parts of the query that use only
// fields for which stored reports true. now is the instant Match will be
// given; it must be a whole second. Prefilter returns nil when nothing of
// the query can be checked before reading (read every record).
func (q *Query) Prefilter(now time.Time, stored func(field string) bool) *Cond {
	if q == nil || q.root == nil {
		return nil
	}
	t := translator{env: &env{now: now}, stored: stored}
	c, ok := t.over(q.root)
	if !ok {
		return nil
	}
	return &c
}

type translator struct {
	env    *env
	stored func(string) bool
}

// over translates n into a condition implied by n (ok false: none).
func (t translator) over(n node) (Cond, bool) {
	switch n := n.(type) {
	case andNode:
		var args []Cond
		for _, c := range n {
			if x, ok := t.over(c); ok {
				args = append(args, x)
			}
		}
		switch len(args) {
		case 0:
			return Cond{}, false
		case 1:
			return args[0], true
		}
		return Cond{Op: CondAnd, Args: args}, true
	case orNode:
		args := make([]Cond, 0, len(n))
		for _, c := range n {
			x, ok := t.over(c)
			if !ok {
				return Cond{}, false
			}
			args = append(args, x)
		}
		return Cond{Op: CondOr, Args: args}, true
	}
	return t.exact(n)
}

// exact translates n into an equivalent condition (ok false: it cannot).
func (t translator) exact(n node) (Cond, bool) {
	switch n := n.(type) {
	case andNode, orNode:
		var list []node
		op := CondAnd
		if o, isOr := n.(orNode); isOr {
			list, op = o, CondOr
		} else {
			list = n.(andNode)
		}
		args := make([]Cond, 0, len(list))
		for _, c := range list {
			x, ok := t.exact(c)
			if !ok {
				return Cond{}, false
			}
			args = append(args, x)
		}
		return Cond{Op: op, Args: args}, true
	case notNode:
		x, ok := t.exact(n.x)
		if !ok {
			return Cond{}, false
		}
		return Cond{Op: CondNot, Args: []Cond{x}}, true
	case *fieldNode:
		if n.def.kind != KindBool || !t.stored(n.def.name) {
			return Cond{}, false
		}
		return Cond{Op: CondCmp, Field: n.def.name, Cmp: "==", Value: BoolValue(true)}, true
	case *cmpNode:
		return t.cmp(n)
	case *strPredNode:
		f, ok := n.recv.(*fieldNode)
		if !ok || !t.stored(f.def.name) || n.method == "endswith" {
			return Cond{}, false
		}
		v, ok := t.constant(n.arg)
		if !ok || v.kind != KindString || v.s == "" {
			return Cond{}, false
		}
		op := CondContains
		if n.method == "startswith" {
			op = CondPrefix
		}
		return Cond{Op: op, Field: f.def.name, Value: v}, true
	}
	return Cond{}, false
}

// flipped mirrors a comparison so that the field is on the left.
var flipped = map[tokKind]tokKind{tEq: tEq, tNe: tNe, tLt: tGt, tLe: tGe, tGt: tLt, tGe: tLe}

var cmpNames = map[tokKind]string{tEq: "==", tNe: "!=", tLt: "<", tLe: "<=", tGt: ">", tGe: ">="}

func (t translator) cmp(n *cmpNode) (Cond, bool) {
	op := n.op
	f, ok := n.l.(*fieldNode)
	other := n.r
	if !ok {
		if f, ok = n.r.(*fieldNode); !ok {
			return Cond{}, false
		}
		other, op = n.l, flipped[n.op]
	}
	if !t.stored(f.def.name) {
		return Cond{}, false
	}
	v, ok := t.constant(other)
	if !ok || (v.kind == KindNull && op != tEq && op != tNe) {
		return Cond{}, false
	}
	if v.kind == KindTime && v.t.Nanosecond() != 0 {
		return Cond{}, false
	}
	return Cond{Op: CondCmp, Field: f.def.name, Cmp: cmpNames[op], Value: v}, true
}

// constant evaluates n if it does not depend on the record.
func (t translator) constant(n node) (Value, bool) {
	switch c := n.(type) {
	case litNode, nowNode:
		v, err := c.eval(t.env)
		return v, err == nil
	case *addDaysNode:
		if _, ok := t.constant(c.recv); !ok {
			return Value{}, false
		}
		v, err := c.eval(t.env)
		return v, err == nil
	}
	return Value{}, false
}

// IsEmpty reports whether the query has no condition (it matches every
// record).
func (q *Query) IsEmpty() bool { return q == nil || q.root == nil }

// Uses reports whether the query refers to the canonical field name.
func (q *Query) Uses(field string) bool {
	if q == nil || q.root == nil {
		return false
	}
	return uses(q.root, field)
}

func uses(n node, field string) bool {
	switch n := n.(type) {
	case *fieldNode:
		return n.def.name == field
	case orNode:
		for _, c := range n {
			if uses(c, field) {
				return true
			}
		}
	case andNode:
		for _, c := range n {
			if uses(c, field) {
				return true
			}
		}
	case notNode:
		return uses(n.x, field)
	case *cmpNode:
		return uses(n.l, field) || uses(n.r, field)
	case *caseNode:
		return uses(n.recv, field)
	case *strPredNode:
		return uses(n.recv, field) || uses(n.arg, field)
	case *addDaysNode:
		return uses(n.recv, field)
	}
	return false
}
