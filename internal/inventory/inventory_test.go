package inventory

import (
	"strings"
	"testing"
	"time"
)

var day = time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC)

const doc = `{"contact":"platform-team","agents":[
 {"clientId":"AAA","name":"Coder","owner":"team-a","expires":"2027-03-31","classes":["read"],"costTags":{"cc":"42"}},
 {"clientId":"bbb","name":"Stale","owner":"team-b","expires":"2027-03-30","tools":["get_snippet"]},
 {"clientId":"ccc","name":"Orphan","expires":"2099-01-01","classes":["read"]}]}`

func TestLookup(t *testing.T) {
	inv, err := Parse([]byte(doc), Options{Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Mode() != ModeEnforce || !inv.Enforced() {
		t.Errorf("mode %s, enforced %v: an inventory with agents enforces by default", inv.Mode(), inv.Enforced())
	}
	for _, c := range []struct {
		client string
		want   State
	}{
		{"aaa", Registered}, // client ids compare without case
		{"AAA", Registered},
		{"bbb", Expired}, // the day after its last day
		{"ccc", Expired}, // no owner
		{"ddd", Unregistered},
		{"", Unregistered},
	} {
		t.Run(c.client, func(t *testing.T) {
			if got := inv.Lookup(c.client).State; got != c.want {
				t.Errorf("Lookup(%q) = %s, want %s", c.client, got, c.want)
			}
		})
	}
}

func TestNoInventoryChecksNothing(t *testing.T) {
	for _, d := range []string{"", "  \n", `{"agents":[]}`, `{"mode":"enforce","agents":[]}`} {
		inv, err := Parse([]byte(d), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if inv.Configured() || inv.Enforced() || inv.Lookup("x").State != NotChecked {
			t.Errorf("%q: configured %v enforced %v", d, inv.Configured(), inv.Enforced())
		}
	}
	var nilInv *Inventory
	if nilInv.Lookup("x").State != NotChecked || nilInv.Enforced() {
		t.Error("nil inventory checks something")
	}
}

func TestModeOption(t *testing.T) {
	inv, err := Parse([]byte(doc), Options{Mode: ModeAudit})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Enforced() || inv.Mode() != ModeAudit {
		t.Errorf("the option does not override the document's mode")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"unknown field", `{"agents":[],"mdoe":"audit"}`, `unknown field "mdoe"`},
		{"bad mode", `{"mode":"strict","agents":[]}`, `mode "strict": want enforce or audit`},
		{"no client id", `{"agents":[{"name":"x","expires":"2027-01-01","classes":["read"]}]}`, "agents[0]: clientId is empty"},
		{"no name", `{"agents":[{"clientId":"a","expires":"2027-01-01","classes":["read"]}]}`, "agents[0]: a: name is empty"},
		{"no expiry", `{"agents":[{"clientId":"a","name":"x","classes":["read"]}]}`, "expires is empty"},
		{"bad date", `{"agents":[{"clientId":"a","name":"x","expires":"31.12.2027","classes":["read"]}]}`, `expires "31.12.2027" is not a date`},
		{"nothing allowed", `{"agents":[{"clientId":"a","name":"x","expires":"2027-01-01"}]}`, "lists neither tools nor classes"},
		{"duplicate", `{"agents":[{"clientId":"a","name":"x","expires":"2027-01-01","classes":["read"]},{"clientId":"A","name":"y","expires":"2027-01-01","classes":["read"]}]}`, "listed twice"},
		{"trailing data", `{"agents":[]} {}`, "data after the document"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc), Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line containing %q", err, c.want)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	inv, err := Parse([]byte(doc), Options{Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ client, want string }{
		{"ddd", "client app ddd is not in the agent inventory (policies/agents.json); ask platform-team"},
		{"", "the token names no client app"},
		{"bbb", `agent "Stale" (bbb) passed its review date 2027-03-30 in the agent inventory; ask its owner team-b`},
		{"ccc", `agent "Orphan" (ccc) has no owner in the agent inventory; ask platform-team to name one`},
		{"aaa", ""},
	} {
		t.Run(c.client, func(t *testing.T) {
			got := inv.Refusal(c.client, inv.Lookup(c.client))
			if c.want == "" && got != "" || !strings.Contains(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
