package webapi

import "strings"

// CleanPath collapses repeated slashes and removes one trailing slash
// (keeping "/" itself). It never changes case.
func CleanPath(p string) string {
	var b strings.Builder
	b.Grow(len(p) + 1)
	if !strings.HasPrefix(p, "/") {
		b.WriteByte('/')
	}
	prevSlash := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' {
			if prevSlash {
				continue
			}
			prevSlash = true
		} else {
			prevSlash = false
		}
		b.WriteByte(c)
	}
	out := b.String()
	if len(out) > 1 && strings.HasSuffix(out, "/") {
		out = out[:len(out)-1]
	}
	return out
}

// SplitAPIPath parses a Web API path in any of the spellings clients use
// (/api/key/Activate, /API/Key/Activate, //api//key/activate/ ...) and
// returns the lower-cased group and method. ok is false when the path is
// not of the form /api/<group>/<method>.
func SplitAPIPath(p string) (group, method string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(CleanPath(p), "/"), "/")
	if len(parts) != 3 || !strings.EqualFold(parts[0], "api") || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return strings.ToLower(parts[1]), strings.ToLower(parts[2]), true
}
