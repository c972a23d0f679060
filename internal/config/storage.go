package config

import (
	"errors"

	"github.com/snippets-mcp/server/internal/storage"
)

// storageSettings are the variables a storage connection may come from,
// in order: the server's own, then the Functions host's.
var storageSettings = []string{"SNIPPETS_STORAGE", "AzureWebJobsStorage"}

// loadStorage resolves SNIPPETS_STORAGE, falling back to
// AzureWebJobsStorage, in the connection-string or the identity-based
// (__blobServiceUri or __accountName, __credential, __clientId) form.
func (c *Config) loadStorage(getenv func(string) string) error {
	for _, name := range storageSettings {
		if cs := getenv(name); cs != "" {
			c.Storage, c.StorageSetting = storage.Options{ConnectionString: cs}, name
			return nil
		}
		uriVar := name + "__blobServiceUri"
		uri := getenv(uriVar)
		if uri == "" {
			if account := getenv(name + "__accountName"); account != "" {
				uriVar, uri = name+"__accountName", "https://"+account+".blob.core.windows.net"
			}
		}
		if uri == "" {
			continue
		}
		c.Storage = storage.Options{ServiceURI: uri, Credential: getenv(name + "__credential"), ClientID: getenv(name + "__clientId")}
		c.StorageSetting = name
		return nameVar(c.Storage.Validate(), []named{
			{storage.ErrServiceURI, uriVar, ""},
			{storage.ErrCredential, name + "__credential", ""},
		})
	}
	err := storage.Options{}.Validate()
	if errors.Is(err, storage.ErrNotConfigured) {
		return &Error{"SNIPPETS_STORAGE", err.Error() + ": set SNIPPETS_STORAGE (a connection string or UseDevelopmentStorage=true), SNIPPETS_STORAGE__blobServiceUri, or AzureWebJobsStorage"}
	}
	return err
}
