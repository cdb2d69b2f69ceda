package keyquery

import (
	"fmt"
	"strings"
	"time"
)

type env struct {
	r   Record
	now time.Time
}

// node is a typed expression. typ is its static kind (KindNull only for
// the null literal); eval returns a value of that kind or null.
type node interface {
	typ() Kind
	eval(e *env) (Value, error)
}

type litNode struct{ v Value }

func (n litNode) typ() Kind                { return n.v.kind }
func (n litNode) eval(*env) (Value, error) { return n.v, nil }

type nowNode struct{ today bool }

func (nowNode) typ() Kind { return KindTime }
func (n nowNode) eval(e *env) (Value, error) {
	if !n.today {
		return TimeValue(e.now), nil
	}
	u := e.now.UTC()
	return TimeValue(time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)), nil
}

type fieldNode struct{ def fieldDef }

func (n *fieldNode) typ() Kind { return n.def.kind }
func (n *fieldNode) eval(e *env) (Value, error) {
	v, ok := e.r.Field(n.def.name)
	if !ok {
		return Value{}, fmt.Errorf("%w: field %s not provided", ErrRecord, n.def.name)
	}
	if v.kind != KindNull && v.kind != n.def.kind {
		return Value{}, fmt.Errorf("%w: field %s is %s, want %s", ErrRecord, n.def.name, v.kind, n.def.kind)
	}
	return v, nil
}

type orNode []node

func (orNode) typ() Kind { return KindBool }
func (n orNode) eval(e *env) (Value, error) {
	for _, c := range n {
		v, err := c.eval(e)
		if err != nil {
			return Value{}, err
		}
		if truthy(v) {
			return BoolValue(true), nil
		}
	}
	return BoolValue(false), nil
}

type andNode []node

func (andNode) typ() Kind { return KindBool }
func (n andNode) eval(e *env) (Value, error) {
	for _, c := range n {
		v, err := c.eval(e)
		if err != nil {
			return Value{}, err
		}
		if !truthy(v) {
			return BoolValue(false), nil
		}
	}
	return BoolValue(true), nil
}

type notNode struct{ x node }

func (notNode) typ() Kind { return KindBool }
func (n notNode) eval(e *env) (Value, error) {
	v, err := n.x.eval(e)
	if err != nil {
		return Value{}, err
	}
	return BoolValue(!truthy(v)), nil
}

type cmpNode struct {
	op   tokKind
	l, r node
}

func (*cmpNode) typ() Kind { return KindBool }
func (n *cmpNode) eval(e *env) (Value, error) {
	l, err := n.l.eval(e)
	if err != nil {
		return Value{}, err
	}
	r, err := n.r.eval(e)
	if err != nil {
		return Value{}, err
	}
	switch n.op {
	case tEq:
		return BoolValue(equal(l, r)), nil
	case tNe:
		return BoolValue(!equal(l, r)), nil
	}
	if l.kind == KindNull || r.kind == KindNull {
		return BoolValue(false), nil // an ordering with null is never true
	}
	c := Compare(l, r)
	switch n.op {
	case tLt:
		return BoolValue(c < 0), nil
	case tLe:
		return BoolValue(c <= 0), nil
	case tGt:
		return BoolValue(c > 0), nil
	}
	return BoolValue(c >= 0), nil // tGe
}

type caseNode struct {
	recv  node
	upper bool
}

func (*caseNode) typ() Kind { return KindString }
func (n *caseNode) eval(e *env) (Value, error) {
	v, err := n.recv.eval(e)
	if err != nil || v.kind == KindNull {
		return v, err
	}
	if n.upper {
		return StringValue(strings.ToUpper(v.s)), nil
	}
	return StringValue(strings.ToLower(v.s)), nil
}

type strPredNode struct {
	recv, arg node
	method    string // contains, startswith, endswith
}

func (*strPredNode) typ() Kind { return KindBool }
func (n *strPredNode) eval(e *env) (Value, error) {
	s, err := n.recv.eval(e)
	if err != nil {
		return Value{}, err
	}
	a, err := n.arg.eval(e)
	if err != nil {
		return Value{}, err
	}
	if s.kind == KindNull || a.kind == KindNull {
		return NullValue(), nil
	}
	switch n.method {
	case "contains":
		return BoolValue(strings.Contains(s.s, a.s)), nil
	case "startswith":
		return BoolValue(strings.HasPrefix(s.s, a.s)), nil
	}
	return BoolValue(strings.HasSuffix(s.s, a.s)), nil
}

type addDaysNode struct {
	recv node
	days int
}

func (*addDaysNode) typ() Kind { return KindTime }
func (n *addDaysNode) eval(e *env) (Value, error) {
	v, err := n.recv.eval(e)
	if err != nil || v.kind == KindNull {
		return v, err
	}
	return TimeValue(v.t.AddDate(0, 0, n.days)), nil
}
