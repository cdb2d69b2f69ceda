package keyquery

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidOrderBy is wrapped by every error ParseOrderBy returns. The API
// edge translates it to "The 'order by' field causes problems. Please check
// the remarks section for this method."
var ErrInvalidOrderBy = errors.New("keyquery: invalid order by")

// ParseOrderBy parses an OrderBy parameter of the form
// "fieldName [ascending|descending]" (case-insensitive, any whitespace
// between the words). It returns the canonical field name (see
// CanonicalField; Record.Field and Compare sort by it) and whether the
// order is descending. An empty or all-whitespace s means "ID ascending".
// It returns an error wrapping ErrInvalidOrderBy for an unknown field, a
// direction other than ascending or descending, or extra words.
func ParseOrderBy(s string) (field string, descending bool, err error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return "ID", false, nil
	}
	if len(words) > 2 {
		return "", false, fmt.Errorf("%w: want \"fieldName [ascending|descending]\", got %d words", ErrInvalidOrderBy, len(words))
	}
	name, _, ok := CanonicalField(words[0])
	if !ok {
		return "", false, fmt.Errorf("%w: unknown field %q", ErrInvalidOrderBy, words[0])
	}
	if len(words) == 2 {
		switch strings.ToLower(words[1]) {
		case "ascending":
		case "descending":
			descending = true
		default:
			return "", false, fmt.Errorf("%w: unknown direction %q", ErrInvalidOrderBy, words[1])
		}
	}
	return name, descending, nil
}
