package jetstream

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Updates larger than a message. An update too large for the server's max
// payload is put into the object store LargeBucket (which chunks it), under
// the message's id, and the message carries no payload but the header
// Octo-Object naming that object; the consumer reads the update from
// there. The put completes before the message is published, so a consumer
// never sees the message without its object. Objects are kept (like the
// stream's messages: nothing is deleted yet).
const (
	// LargeBucket is the object store holding updates too large for a
	// message.
	LargeBucket = "OCTO_LARGE"
	hdrObject   = "Octo-Object"
	// headerRoom is what a message's headers and subject may take of the
	// max payload.
	headerRoom = 1 << 10
)

// largeStore returns the LargeBucket object store, creating it if needed.
func (n *Node) largeStore(ctx context.Context) (jetstream.ObjectStore, error) {
	obs, err := n.js.ObjectStore(ctx, LargeBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obs, err = n.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: LargeBucket, Description: "OctoBase updates too large for one message",
			Storage: jetstream.FileStorage, Replicas: n.cfg.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			obs, err = n.js.ObjectStore(ctx, LargeBucket)
		}
	}
	return obs, err
}

// fitMessage moves m's payload to LargeBucket if it is too large for a
// message (see above); m must carry its message id.
func (n *Node) fitMessage(ctx context.Context, m *nats.Msg) error {
	if len(m.Data)+headerRoom <= int(n.nc.MaxPayload()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	obs, err := n.largeStore(ctx)
	if err != nil {
		return err
	}
	name := m.Header.Get(jetstream.MsgIDHeader)
	if _, err := obs.Put(ctx, n.objectMeta(name), bytes.NewReader(m.Data)); err != nil {
		return err
	}
	m.Header.Set(hdrObject, name)
	m.Data = nil
	return nil
}

// largeUpdate reads the update a message with the Octo-Object header
// names; (nil, nil) if the object does not exist.
func (n *Node) largeUpdate(ctx context.Context, name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	obs, err := n.js.ObjectStore(ctx, LargeBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	b, err := obs.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, nil
	}
	return b, err
}

// objectMeta is the metadata of an object put by this node: its chunks
// fit the connection's max payload (the object store's default chunk,
// 128 KiB, may not).
func (n *Node) objectMeta(name string) jetstream.ObjectMeta {
	chunk := min(128<<10, int(n.nc.MaxPayload())-headerRoom)
	return jetstream.ObjectMeta{Name: name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: uint32(max(chunk, 1<<10))}}
}
