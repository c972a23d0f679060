package azurite

import "testing"

func TestConnString(t *testing.T) {
	cases := []struct{ name, base, want string }{
		{"default port", "http://127.0.0.1:10000",
			"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + Key + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"},
		{"other host", "http://localhost:1234",
			"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + Key + ";BlobEndpoint=http://localhost:1234/devstoreaccount1;"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ConnString(c.base); got != c.want {
				t.Errorf("ConnString(%q) = %q, want %q", c.base, got, c.want)
			}
		})
	}
}
