package audit

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// reflectJSON is the encoder appendJSON replaced: encoding/json over the
// event's fields and its OpenTelemetry view. It is the reference of the
// byte comparison and the baseline of BenchmarkEventEncode.
func reflectJSON(e Event) ([]byte, error) {
	type plain Event // no methods: avoids recursion
	return json.Marshal(struct {
		Timestamp string `json:"timestamp"` // shallower field wins over plain.Timestamp
		plain
		otelFields
	}{e.Timestamp.UTC().Format(timeLayout), plain(e), e.otel()})
}

// samples holds strings that take every branch of a JSON string encoder.
var samples = []string{
	"", "ok", "tools/call", "whoami", "a\"b", `back\slash`, "<script>&amp;</script>", "tab\there",
	"nl\ncr\r", "\b\f\x00\x01\x1f\x7f", "é ü 日本", "\u2028\u2029", "bad\xffutf8\xc3", "\xed\xa0\x80",
	"emoji 😀", "/slash/", "'quote'", "\x80",
}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return samples[r.IntN(len(samples))]
	}
	n := r.IntN(12)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

// TestAppendJSONMatchesReflection encodes random events, every field set
// through reflection (so a field added to Event but not to appendJSON fails),
// with both encoders and wants the same bytes.
func TestAppendJSONMatchesReflection(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var e Event
		v := reflect.ValueOf(&e).Elem()
		for j := range v.NumField() {
			f := v.Field(j)
			switch f.Kind() {
			case reflect.String:
				f.SetString(randomString(r))
			case reflect.Bool:
				f.SetBool(r.IntN(2) == 0)
			case reflect.Int, reflect.Int64:
				f.SetInt(r.Int64N(1<<62) - 1<<61)
			case reflect.Uint64:
				f.SetUint(r.Uint64())
			case reflect.Struct:
				if f.Type() != reflect.TypeFor[time.Time]() {
					t.Fatalf("field %s: type %s not covered", v.Type().Field(j).Name, f.Type())
				}
				f.Set(reflect.ValueOf(time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(time.FixedZone("x", 3600))))
			default:
				t.Fatalf("field %s: kind %s not covered", v.Type().Field(j).Name, f.Kind())
			}
		}
		switch i % 4 { // the branches of otel(): tools/call or not, ok or not
		case 0:
			e.Method, e.ResultCode = MethodToolsCall, ResultOK
		case 1:
			e.Method = MethodToolsCall
		case 2:
			e.ResultCode = ResultOK
		}
		want, err := reflectJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
		var line bytes.Buffer
		if err := NewJSONSink(&line).Write(e); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(line.Bytes(), append(want, '\n')) {
			t.Fatalf("event %d: sink line\n got %s\nwant %s", i, line.Bytes(), want)
		}
	}
}

// BenchmarkEventEncode compares the appending encoder with the reflection
// one it replaced, on the event of BenchmarkJSONSinkWrite.
func BenchmarkEventEncode(b *testing.B) {
	e := fullEvent()
	e.normalize("bench", time.Now())
	b.Run("append", func(b *testing.B) {
		s := NewJSONSink(io.Discard)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Write(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bs, err := reflectJSON(e)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Discard.Write(append(bs, '\n'))
		}
	})
}
