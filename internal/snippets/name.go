package snippets

import (
	"fmt"
	"strings"
)

// MaxNameLen bounds a snippet name; with the space prefix the blob name
// stays far below Blob Storage's 1,024-character limit.
const MaxNameLen = 128

// NameRule is the rule shown to callers whose name is refused.
const NameRule = "1-128 characters: letters A-Z and a-z, digits, '.', '_' or '-', starting with a letter or digit, no '..'"

// ValidateName checks a snippet name. The pattern is deliberately strict
// (ASCII only): no path separators, no traversal, no look-alike Unicode,
// no names that mean something to URLs or shells.
func ValidateName(name string) error {
	if name == "" {
		return &InvalidError{Msg: "snippet name is empty; names are " + NameRule}
	}
	if len(name) > MaxNameLen {
		return &InvalidError{Msg: fmt.Sprintf("snippet name is %d characters long; names are %s", len(name), NameRule)}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return &InvalidError{Msg: fmt.Sprintf("snippet name has a character that is not allowed at position %d; names are %s", i+1, NameRule)}
		}
	}
	if strings.Contains(name, "..") {
		return &InvalidError{Msg: "snippet name contains '..'; names are " + NameRule}
	}
	return nil
}

// ValidatePrefix checks a list prefix: empty, or the start of a valid name.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := ValidateName(prefix); err != nil {
		return &InvalidError{Msg: "prefix: " + err.(*InvalidError).Msg}
	}
	return nil
}
