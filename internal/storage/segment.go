package storage

import (
	"strconv"
	"strings"
)

// Segment turns an id into one blob-path segment. It keeps [A-Za-z0-9-]
// and hex-escapes every other byte as _XX, so an id can never add a path
// level or reach into another prefix, and two ids never share a segment.
func Segment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
		b.WriteString(strconv.FormatUint(uint64(c)&15, 16))
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// Meta reads a blob metadata value. The service may return keys in any
// case, so the match ignores case.
func Meta(m map[string]*string, key string) string {
	for k, v := range m {
		if v != nil && strings.EqualFold(k, key) {
			return *v
		}
	}
	return ""
}
