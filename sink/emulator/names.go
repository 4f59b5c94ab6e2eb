package emulator

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// Name and value constraints from the service model (boto/botocore@0e6e2404
// botocore/data/logs/2014-03-28/service-2.json; design.md, "Names and
// identifiers").
const (
	maxNameLen          = 512
	groupNamePattern    = `[\.\-_/#A-Za-z0-9]+`
	streamNamePattern   = `[^:*]*`
	filterNamePattern   = `[^:*]*`
	maxFilterPatternLen = 1024
	maxDescribeLimit    = 50
	maxTagsPerCall      = 50
	maxTagsPerResource  = 50
	maxTagKeyLen        = 128
	maxTagValueLen      = 256
	tagKeyPattern       = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$`
	tagValuePattern     = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
	maxKmsKeyLen        = 256
	maxArnLen           = 1011
)

// retentionDays are the values PutRetentionPolicy accepts.
var retentionDays = []string{"1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545", "731", "1096", "1827", "2192", "2557", "2922", "3288", "3653"}

// logGroupClasses are the values of logGroupClass.
var logGroupClasses = []string{"STANDARD", "INFREQUENT_ACCESS", "DELIVERY"}

func validGroupChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '_', c == '/', c == '#':
		default:
			return false
		}
	}
	return true
}

func validStreamChars(s string) bool {
	return !strings.ContainsAny(s, ":*")
}

// groupName validates a required log group name member.
func (v *validation) groupName(name *string, path string) {
	v.name(name, path, groupNamePattern, validGroupChars)
}

// optGroupName validates an optional log group name member.
func (v *validation) optGroupName(name *string, path string) {
	if name != nil {
		v.groupName(name, path)
	}
}

// streamName validates a required log stream name member.
func (v *validation) streamName(name *string, path string) {
	v.name(name, path, streamNamePattern, validStreamChars)
}

// name validates a required name member: present, then the pattern (valid
// tells whether the value matches it), then the length, in the order AWS
// lists them for an empty name.
func (v *validation) name(name *string, path, pattern string, valid func(string) bool) {
	if name == nil {
		v.null(path)
		return
	}
	v.namePart(*name, path, pattern, valid)
}

// optNamePrefix validates an optional name prefix member as a name.
func (v *validation) optNamePrefix(prefix *string, path, pattern string, valid func(string) bool) {
	if prefix != nil {
		v.namePart(*prefix, path, pattern, valid)
	}
}

// namePart checks a name or name prefix: pattern, then length.
func (v *validation) namePart(s, path, pattern string, valid func(string) bool) {
	v.pattern(s, path, pattern, valid(s))
	v.length(s, path, 1, maxNameLen)
}

func (v *validation) limit(n *int32, path string, hi int64) {
	if n != nil {
		v.intRange(int64(*n), path, 1, hi)
	}
}

func (v *validation) nextToken(tok *string) {
	if tok != nil {
		v.minLen(*tok, "nextToken", 1)
	}
}

func isTagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Z, r) || strings.ContainsRune("_.:/=+-@", r)
}

func validTagKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !isTagRune(r) {
			return false
		}
	}
	return true
}

func validTagValue(val string) bool {
	for _, r := range val {
		if !isTagRune(r) {
			return false
		}
	}
	return true
}

// tags validates a tags map member (1–50 entries, key and value patterns) in
// Coral's map wording.
func (v *validation) tags(tags map[string]string, path string, required bool) {
	if tags == nil {
		if required {
			v.null(path)
		}
		return
	}
	shown := javaMap(tags)
	if len(tags) < 1 {
		v.fail(shown, path, "Member must have length greater than or equal to 1")
	}
	if len(tags) > maxTagsPerCall {
		v.fail(shown, path, fmt.Sprintf("Member must have length less than or equal to %d", maxTagsPerCall))
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		var kc []string
		if !validTagKey(k) {
			kc = append(kc, "Member must satisfy regular expression pattern: "+tagKeyPattern)
		}
		if runeCountAbove(k, maxTagKeyLen) {
			kc = append(kc, fmt.Sprintf("Member must have length less than or equal to %d", maxTagKeyLen))
		}
		if len(k) == 0 {
			kc = append(kc, "Member must have length greater than or equal to 1")
		}
		if len(kc) > 0 {
			v.fail(shown, path, "Map keys must satisfy constraint: ["+strings.Join(kc, ", ")+"]")
		}
		val := tags[k]
		var vc []string
		if !validTagValue(val) {
			vc = append(vc, "Member must satisfy regular expression pattern: "+tagValuePattern)
		}
		if runeCountAbove(val, maxTagValueLen) {
			vc = append(vc, fmt.Sprintf("Member must have length less than or equal to %d", maxTagValueLen))
		}
		if len(vc) > 0 {
			v.fail(shown, path, "Map value must satisfy constraint: ["+strings.Join(vc, ", ")+"]")
		}
	}
}

func javaMap(m map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Pagination tokens are opaque to clients: base64 of a kind letter and the
// last key returned. A token that does not decode, or is of another kind, is
// InvalidParameterException "The specified nextToken is invalid.".
func encodeToken(kind byte, key string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{kind, '/'}, key...))
}

func decodeToken(kind byte, tok *string) (string, *apiError) {
	if tok == nil {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil || len(b) < 2 || b[0] != kind || b[1] != '/' {
		return "", errInvalidParameter(msgInvalidToken)
	}
	return string(b[2:]), nil
}
