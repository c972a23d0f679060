package snippets

import (
	"strconv"
	"strings"
)

// escape keeps [A-Za-z0-9-] and hex-escapes every other byte, so any id
// maps to one path segment and two different ids never map to the same one.
func escape(s string) string {
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

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
