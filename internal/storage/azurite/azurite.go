// Package azurite is the well-known development account of Azurite, the
// local Blob Storage emulator: the one definition the server (for
// UseDevelopmentStorage=true), the fakes and the harnesses use.
// scripts/run-local.sh cannot import it and holds a copy that
// scripts/TestRunLocalAzuriteAccount compares.
package azurite

// Account and Key are the development account Azurite publishes in its
// documentation; they open nothing but a local emulator.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// ConnString is the connection string of the development account with its
// blob service at base (scheme and host, no path, no trailing slash).
func ConnString(base string) string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + Key +
		";BlobEndpoint=" + base + "/" + Account + ";"
}
