package keyquery

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tInt
	tString
	tLParen
	tRParen
	tDot
	tComma
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tNot
	tAnd
	tOr
)

var tokNames = [...]string{
	tEOF: "end of query", tIdent: "identifier", tInt: "integer", tString: "string",
	tLParen: `"("`, tRParen: `")"`, tDot: `"."`, tComma: `","`,
	tEq: `"=="`, tNe: `"!="`, tLt: `"<"`, tLe: `"<="`, tGt: `">"`, tGe: `">="`,
	tNot: `"!"`, tAnd: `"&&"`, tOr: `"||"`,
}

type token struct {
	kind tokKind
	pos  int    // byte offset in the source
	text string // source text of the token
	ival int64  // tInt
	sval string // tString, decoded
}

func (t token) describe() string {
	switch t.kind {
	case tIdent, tInt, tString:
		return tokNames[t.kind] + " " + strconv.Quote(t.text)
	}
	return tokNames[t.kind]
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

// lex splits src into tokens, always ending with tEOF. The words "and" and
// "or" (any case) become tAnd and tOr.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r != utf8.RuneError && unicode.IsSpace(r) {
				i += size
				continue
			}
			return nil, errAt(i, "unexpected character %q", src[i:i+size])
		case isIdentStart(c):
			for i < len(src) && isIdentChar(src[i]) {
				i++
			}
			text := src[start:i]
			k := tIdent
			switch strings.ToLower(text) {
			case "and":
				k = tAnd
			case "or":
				k = tOr
			}
			toks = append(toks, token{kind: k, pos: start, text: text})
			continue
		case isDigit(c) || (c == '-' && i+1 < len(src) && isDigit(src[i+1])):
			i++
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			text := src[start:i]
			if i < len(src) && isIdentChar(src[i]) {
				return nil, errAt(start, "malformed number %q", src[start:i+1])
			}
			if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
				return nil, errAt(start, "decimal numbers are not supported")
			}
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return nil, errAt(start, "integer %s out of range", text)
			}
			toks = append(toks, token{kind: tInt, pos: start, text: text, ival: n})
			continue
		case c == '"':
			s, end, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			i = end
			toks = append(toks, token{kind: tString, pos: start, text: src[start:end], sval: s})
			continue
		}
		// Punctuation and operators.
		next := byte(0)
		if i+1 < len(src) {
			next = src[i+1]
		}
		k, n := tEOF, 1
		switch c {
		case '(':
			k = tLParen
		case ')':
			k = tRParen
		case '.':
			k = tDot
		case ',':
			k = tComma
		case '=':
			k = tEq
			if next == '=' {
				n = 2
			}
		case '!':
			k = tNot
			if next == '=' {
				k, n = tNe, 2
			}
		case '<':
			k = tLt
			if next == '=' {
				k, n = tLe, 2
			}
		case '>':
			k = tGt
			if next == '=' {
				k, n = tGe, 2
			}
		case '&':
			if next != '&' {
				return nil, errAt(i, `expected "&&"`)
			}
			k, n = tAnd, 2
		case '|':
			if next != '|' {
				return nil, errAt(i, `expected "||"`)
			}
			k, n = tOr, 2
		default:
			return nil, errAt(i, "unexpected character %q", string(c))
		}
		i += n
		toks = append(toks, token{kind: k, pos: start, text: src[start:i]})
	}
	toks = append(toks, token{kind: tEOF, pos: len(src)})
	return toks, nil
}

// lexString decodes the double-quoted literal starting at src[start] and
// returns it with the offset just past the closing quote. Escapes: \" \\
// \' \/ \0 \n \r \t and \uXXXX.
func lexString(src string, start int) (string, int, error) {
	var b strings.Builder
	i := start + 1
	for i < len(src) {
		c := src[i]
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(src) {
				return "", 0, errAt(start, "unterminated string")
			}
			e := src[i+1]
			i += 2
			switch e {
			case '"', '\\', '\'', '/':
				b.WriteByte(e)
			case '0':
				b.WriteByte(0)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+4 > len(src) {
					return "", 0, errAt(i-2, `malformed \u escape`)
				}
				r, err := strconv.ParseUint(src[i:i+4], 16, 32)
				if err != nil {
					return "", 0, errAt(i-2, `malformed \u escape`)
				}
				b.WriteRune(rune(r))
				i += 4
			default:
				return "", 0, errAt(i-2, "unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, errAt(start, "unterminated string")
}
