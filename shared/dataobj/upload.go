package dataobj

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Usage log format of UploadValuesToKey.
//
// The reference describes the Data parameter only as "the file (in base 64)
// created by a Cryptolens SDK that has recorded data object usage" and
// publishes no format. Keyturn defines this one:
//
//	Data  = base64(JSON)   standard or URL-safe alphabet, padding optional
//	JSON  = [ entry, ... ]  at most MaxLogEntries entries, in the order recorded
//	entry = {"IntValue": <int32>, "Time": <unix seconds, optional, >= 0>}
//
// Example (two uses, then one returned): the JSON
// [{"IntValue":1,"Time":1767225600},{"IntValue":1},{"IntValue":-1}]
// sent as
// W3siSW50VmFsdWUiOjEsIlRpbWUiOjE3NjcyMjU2MDB9LHsiSW50VmFsdWUiOjF9LHsiSW50VmFsdWUiOi0xfV0=
//
// Field names are matched case-insensitively; unknown fields, a missing
// IntValue, values outside the int32 range, a negative Time, trailing data
// or anything that is not such a JSON array make the log corrupted. A
// positive IntValue records an increment, a negative one a decrement. The
// entries are applied in order as one atomic change (see LogDelta); Time is
// validated but not stored.

// LogEntry is one recorded change of a usage log.
type LogEntry struct {
	IntValue *int64 `json:"IntValue"`
	Time     *int64 `json:"Time,omitempty"`
}

// ParseLog decodes the Data parameter of UploadValuesToKey and returns the
// signed changes in order. Errors: apierr.DataEmpty (no data, or a log
// without entries), apierr.DataCorrupted, apierr.BadInput (more than
// MaxLogEntries entries).
func ParseLog(data string) ([]int64, error) {
	data = strings.TrimSpace(data)
	if data == "" {
		return nil, apierr.DataEmpty
	}
	raw, err := decodeBase64(data)
	if err != nil {
		return nil, apierr.DataCorrupted.Wrap(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var entries []LogEntry
	if err := dec.Decode(&entries); err != nil {
		return nil, apierr.DataCorrupted.Wrap(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, apierr.DataCorrupted.Wrap(errors.New("trailing data after the log"))
	}
	if entries == nil {
		return nil, apierr.DataCorrupted.Wrap(errors.New("the log is not a JSON array"))
	}
	if len(entries) == 0 {
		return nil, apierr.DataEmpty
	}
	if len(entries) > MaxLogEntries {
		return nil, apierr.BadInput.Wrap(errors.New("more than 1000 log entries"))
	}
	out := make([]int64, len(entries))
	for i, e := range entries {
		if e.IntValue == nil || *e.IntValue < math.MinInt32 || *e.IntValue > math.MaxInt32 || e.Time != nil && *e.Time < 0 {
			return nil, apierr.DataCorrupted.Wrap(errors.New("log entry without an int32 IntValue or with a negative Time"))
		}
		out[i] = *e.IntValue
	}
	return out, nil
}

// EncodeLog returns the Data parameter for a log with the given changes
// (what an SDK would send).
func EncodeLog(entries []LogEntry) string {
	b, _ := json.Marshal(entries)
	return base64.StdEncoding.EncodeToString(b)
}

func decodeBase64(s string) ([]byte, error) {
	// A form value whose '+' was not percent-encoded arrives as ' '.
	s = strings.ReplaceAll(s, " ", "+")
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
