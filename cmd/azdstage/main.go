// Command azdstage builds the package azd deploys for the `mcp` service
// (see internal/azdpkg) into stage/ and stage.zip: `make stage`.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/snippets-mcp/server/internal/azdpkg"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "azdstage:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	stage, zipPath := filepath.Join(root, "stage"), filepath.Join(root, "stage.zip")
	for _, p := range []string{stage, zipPath} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	// azd's exact command, output `app` in the project folder as azd leaves it.
	if err := azdpkg.Build(context.Background(), root, azdpkg.Binary); err != nil {
		return err
	}
	if err := azdpkg.Stage(root, filepath.Join(root, azdpkg.Binary), stage); err != nil {
		return err
	}
	if err := azdpkg.Zip(stage, zipPath); err != nil {
		return err
	}
	fmt.Println("staged", stage, "and", zipPath, "(what azd deploys)")
	return nil
}
