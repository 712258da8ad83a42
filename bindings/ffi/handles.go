package ffi

import (
	"sync"

	"octobase/engine"
)

// Handle names a store, workspace or subscription across the foreign
// boundary. Valid handles are positive; 0 is never a valid handle.
type Handle = int64

type kind uint8

const (
	kindStore kind = iota + 1
	kindWorkspace
	kindSubscription
)

func (k kind) String() string {
	switch k {
	case kindStore:
		return "store"
	case kindWorkspace:
		return "workspace"
	case kindSubscription:
		return "subscription"
	}
	return "handle"
}

// entry is one live handle.
type entry struct {
	kind  kind
	store Handle // the store a workspace or subscription belongs to (itself for a store)

	s   *engine.Store        // kindStore
	ws  *engine.Workspace    // kindWorkspace
	sub *engine.Subscription // kindSubscription
}

// table maps handles to entries. Handles are allocated from a counter and
// never reused.
type table struct {
	mu struct {
		sync.Mutex
		next    Handle
		entries map[Handle]*entry
		// children lists, per store handle, its workspace and subscription
		// handles, so closing a store invalidates them.
		children map[Handle]map[Handle]struct{}
	}
}

func newTable() *table {
	t := &table{}
	t.mu.entries = map[Handle]*entry{}
	t.mu.children = map[Handle]map[Handle]struct{}{}
	return t
}

// add registers e and returns its new handle. For a workspace or
// subscription it fails if e.store is no longer open.
func (t *table) add(e *entry) (Handle, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.kind != kindStore {
		if _, ok := t.mu.entries[e.store]; !ok {
			return 0, errorf(CodeClosed, "the store was closed")
		}
	}
	t.mu.next++
	h := t.mu.next
	if e.kind == kindStore {
		e.store = h
		t.mu.children[h] = map[Handle]struct{}{}
	} else {
		t.mu.children[e.store][h] = struct{}{}
	}
	t.mu.entries[h] = e
	return h, nil
}

// get returns the live entry h of kind k.
func (t *table) get(h Handle, k kind) (*entry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.getLocked(h, k)
}

func (t *table) getLocked(h Handle, k kind) (*entry, error) {
	e, ok := t.mu.entries[h]
	if !ok {
		return nil, errorf(CodeInvalidHandle, "invalid %s handle %d (never opened, or closed)", k, h)
	}
	if e.kind != k {
		return nil, errorf(CodeInvalidHandle, "handle %d is a %s handle, not a %s handle", h, e.kind, k)
	}
	return e, nil
}

// remove unregisters h (of kind k) and, for a store, all its children, and
// returns the removed entries, h's first.
func (t *table) remove(h Handle, k kind) ([]*entry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.getLocked(h, k)
	if err != nil {
		return nil, err
	}
	delete(t.mu.entries, h)
	out := []*entry{e}
	if k == kindStore {
		for c := range t.mu.children[h] {
			out = append(out, t.mu.entries[c])
			delete(t.mu.entries, c)
		}
		delete(t.mu.children, h)
	} else if ch, ok := t.mu.children[e.store]; ok {
		delete(ch, h)
	}
	return out, nil
}

// len returns the number of live handles.
func (t *table) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.mu.entries)
}
