package audit

import (
	"bytes"
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// DefaultAnchorContainer is the container of the anchor blobs; the Bicep
// puts it under a time-based immutability policy that allows appends.
const DefaultAnchorContainer = "audit-anchors"

// BlobAnchors is the AnchorStore on Blob Storage: one append blob per
// name, through the server's own azblob client and identity.
type BlobAnchors struct {
	c *container.Client
}

// NewBlobAnchors keeps anchors in containerName through client.
func NewBlobAnchors(client *azblob.Client, containerName string) *BlobAnchors {
	return &BlobAnchors{c: client.ServiceClient().NewContainerClient(containerName)}
}

// Append implements AnchorStore: Append Block, and when the blob does not
// exist yet, Create (only if it still does not exist: an immutable blob is
// never replaced) and Append Block again. A missing container is created
// first: the server creates its containers in the background, and an
// anchor (the final one of a short run above all) may come before that.
func (b *BlobAnchors) Append(ctx context.Context, name string, line []byte) error {
	ab := b.c.NewAppendBlobClient(name)
	_, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(line)), nil)
	switch {
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		if _, cerr := b.c.Create(ctx, nil); cerr != nil && !bloberror.HasCode(cerr, bloberror.ContainerAlreadyExists) {
			return fmt.Errorf("create anchor container: %w", cerr)
		}
	case !bloberror.HasCode(err, bloberror.BlobNotFound):
		if err != nil {
			return fmt.Errorf("append anchor: %w", err)
		}
		return nil
	}
	_, err = ab.Create(ctx, &appendblob.CreateOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)},
	}})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
		return fmt.Errorf("create anchor blob: %w", err)
	}
	if _, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(line)), nil); err != nil {
		return fmt.Errorf("append anchor: %w", err)
	}
	return nil
}
