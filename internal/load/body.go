package load

import (
	"encoding/json"
	"strconv"
)

// RPC returns a Body function for a JSON-RPC request with a fixed method
// and params (nil for none). The params are encoded once; only the id
// changes from request to request.
func RPC(method string, params any) func(id uint64) []byte {
	m, _ := json.Marshal(method)
	prefix := []byte(`{"jsonrpc":"2.0","id":`)
	suffix := append([]byte(`,"method":`), m...)
	if params != nil {
		p, err := json.Marshal(params)
		if err != nil {
			panic("load: params do not encode: " + err.Error()) // a mistake in the caller's code
		}
		suffix = append(append(suffix, `,"params":`...), p...)
	}
	suffix = append(suffix, '}')
	return func(id uint64) []byte {
		b := make([]byte, 0, len(prefix)+20+len(suffix))
		b = append(b, prefix...)
		b = strconv.AppendUint(b, id, 10)
		return append(b, suffix...)
	}
}

// ToolCall returns a Body function for tools/call of one tool.
func ToolCall(tool string, args map[string]any) func(id uint64) []byte {
	p := map[string]any{"name": tool}
	if args != nil {
		p["arguments"] = args
	}
	return RPC("tools/call", p)
}
