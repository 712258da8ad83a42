package crdt

import (
	"slices"

	"octobase/engine/lib0"
)

// KeyAction says what happened to a map key in a transaction.
type KeyAction uint8

const (
	KeyAdd KeyAction = iota + 1
	KeyUpdate
	KeyDelete
)

func (a KeyAction) String() string {
	switch a {
	case KeyAdd:
		return "add"
	case KeyUpdate:
		return "update"
	case KeyDelete:
		return "delete"
	}
	return "none"
}

// KeyChange is the change of one map key: the action and, for updates and
// deletes, the value before the transaction.
type KeyChange struct {
	Action   KeyAction
	OldValue any
}

// Event describes the changes a transaction made to one type. Its methods
// compute lazily and are valid only while observers run (before the
// transaction's cleanup garbage-collects deleted content).
type Event struct {
	// Target is the type that changed; CurrentTarget the type whose
	// observer is running (an ancestor, for deep observers).
	Target, CurrentTarget *Type
	Txn                   *Txn
	childListChanged      bool
	keysChanged           []string

	keys  map[string]KeyChange
	delta []Delta
	done  bool
}

type observer struct{ fn func(*Event) }
type deepObserver struct{ fn func([]*Event) }

// Observe calls fn with an event after every transaction that changed t.
func (t *Type) Observe(fn func(*Event)) (cancel func()) {
	o := &observer{fn}
	t.observers = append(t.observers, o)
	return func() { t.observers = removeHandler(t.observers, o) }
}

// ObserveDeep calls fn with the events of t and all its descendants after
// every transaction that changed any of them, shallowest first.
func (t *Type) ObserveDeep(fn func([]*Event)) (cancel func()) {
	o := &deepObserver{fn}
	t.deepObservers = append(t.deepObservers, o)
	return func() { t.deepObservers = removeHandler(t.deepObservers, o) }
}

// ChildListChanged reports whether list content changed.
func (e *Event) ChildListChanged() bool { return e.childListChanged }

// KeysChanged returns the map keys the transaction touched.
func (e *Event) KeysChanged() []string { return e.keysChanged }

// Adds reports whether the transaction created the item.
func (e *Event) adds(it *Item) bool { return it.ID.Clock >= e.Txn.before(it.ID.Client) }

// deletes reports whether the transaction deleted the item.
func (e *Event) deletes(it *Item) bool { return e.Txn.deleteSet.Contains(it.ID) }

// Keys returns the changed keys of a map-like target.
func (e *Event) Keys() map[string]KeyChange {
	if e.keys != nil {
		return e.keys
	}
	e.keys = map[string]KeyChange{}
	for _, key := range e.keysChanged {
		it := e.Target.m[key]
		if it == nil {
			continue
		}
		var ch KeyChange
		if e.adds(it) {
			prev := it.Left
			for prev != nil && e.adds(prev) {
				prev = prev.Left
			}
			if e.deletes(it) {
				if prev != nil && e.deletes(prev) {
					ch = KeyChange{KeyDelete, lastValue(prev)}
				} else {
					continue
				}
			} else if prev != nil && e.deletes(prev) {
				ch = KeyChange{KeyUpdate, lastValue(prev)}
			} else {
				ch = KeyChange{KeyAdd, lib0.Undefined}
			}
		} else if e.deletes(it) {
			ch = KeyChange{KeyDelete, lastValue(it)}
		} else {
			continue
		}
		e.keys[key] = ch
	}
	return e.keys
}

func lastValue(it *Item) any {
	if it.content == nil {
		return lib0.Undefined
	}
	v := it.content.values()
	if len(v) == 0 {
		return lib0.Undefined
	}
	return v[len(v)-1]
}

// Delta returns the list changes (for arrays and XML children: Insert holds
// a []any) or, for text, the rich-text delta of the transaction.
func (e *Event) Delta() []Delta {
	if e.done {
		return e.delta
	}
	e.done = true
	if !e.childListChanged {
		return nil
	}
	if e.Target.kind == KindText || e.Target.kind == KindXmlText {
		e.delta = e.textDelta()
		return e.delta
	}
	var delta []Delta
	var last *Delta
	kind := 0 // 1 insert, 2 delete, 3 retain
	pack := func() {
		if last != nil {
			delta = append(delta, *last)
		}
	}
	for it := e.Target.start; it != nil; it = it.Right {
		if it.Deleted() {
			if e.deletes(it) && !e.adds(it) {
				if last == nil || kind != 2 {
					pack()
					last, kind = &Delta{}, 2
				}
				last.Delete += int(it.Length)
			}
		} else if e.adds(it) {
			if last == nil || kind != 1 {
				pack()
				last, kind = &Delta{Insert: []any{}}, 1
			}
			last.Insert = append(last.Insert.([]any), it.content.values()...)
		} else {
			if last == nil || kind != 3 {
				pack()
				last, kind = &Delta{}, 3
			}
			last.Retain += int(it.Length)
		}
	}
	if last != nil && kind != 3 {
		pack()
	}
	e.delta = delta
	return delta
}

// textDelta is YTextEvent.delta.
func (e *Event) textDelta() []Delta {
	var delta []Delta
	e.Target.doc.Transact(nil, func(tx *Txn) {
		cur := &attrs{}
		old := &attrs{}
		attributes := &attrs{}
		action := 0 // 0 none, 1 insert, 2 delete, 3 retain
		var insert any = ""
		var insertStr []byte
		retain, deleteLen := 0, 0
		addOp := func() {
			if action == 0 {
				return
			}
			var op *Delta
			switch action {
			case 2:
				if deleteLen > 0 {
					op = &Delta{Delete: deleteLen}
				}
				deleteLen = 0
			case 1:
				if insert != nil || len(insertStr) > 0 {
					if insert == nil {
						op = &Delta{Insert: string(insertStr)}
					} else {
						op = &Delta{Insert: insert}
					}
					if cur.size() > 0 {
						op.Attributes = cur.object(true)
					}
				}
				insert, insertStr = nil, nil
			case 3:
				if retain > 0 {
					op = &Delta{Retain: retain}
					if attributes.size() > 0 {
						op.Attributes = attributes.object(false)
					}
				}
				retain = 0
			}
			if op != nil {
				delta = append(delta, *op)
			}
			action = 0
		}
		insert = nil
		for it := e.Target.start; it != nil; it = it.Right {
			switch c := it.content.(type) {
			case *contentType, *contentEmbed:
				if e.adds(it) {
					if !e.deletes(it) {
						addOp()
						action = 1
						insert = c.values()[0]
						addOp()
					}
				} else if e.deletes(it) {
					if action != 2 {
						addOp()
						action = 2
					}
					deleteLen++
				} else if !it.Deleted() {
					if action != 3 {
						addOp()
						action = 3
					}
					retain++
				}
			case *contentString:
				if e.adds(it) {
					if !e.deletes(it) {
						if action != 1 {
							addOp()
							action = 1
						}
						insertStr = append(insertStr, c.s...)
					}
				} else if e.deletes(it) {
					if action != 2 {
						addOp()
						action = 2
					}
					deleteLen += int(it.Length)
				} else if !it.Deleted() {
					if action != 3 {
						addOp()
						action = 3
					}
					retain += int(it.Length)
				}
			case *contentFormat:
				if e.adds(it) {
					if !e.deletes(it) {
						curVal := cur.getOrNull(c.key)
						if !equalAttrs(curVal, c.v) {
							if action == 3 {
								addOp()
							}
							if equalAttrs(c.v, old.getOrNull(c.key)) {
								attributes.del(c.key)
							} else {
								attributes.set(c.key, c.v)
							}
						} else if c.v != nil {
							it.delete(tx)
						}
					}
				} else if e.deletes(it) {
					old.set(c.key, c.v)
					curVal := cur.getOrNull(c.key)
					if !equalAttrs(curVal, c.v) {
						if action == 3 {
							addOp()
						}
						attributes.set(c.key, curVal)
					}
				} else if !it.Deleted() {
					old.set(c.key, c.v)
					if attr, ok := attributes.get(c.key); ok {
						if !equalAttrs(attr, c.v) {
							if action == 3 {
								addOp()
							}
							if c.v == nil {
								attributes.del(c.key)
							} else {
								attributes.set(c.key, c.v)
							}
						} else if attr != nil {
							it.delete(tx)
						}
					}
				}
				if !it.Deleted() {
					if action == 1 {
						addOp()
					}
					updateCurrentAttributes(cur, c)
				}
			}
		}
		addOp()
		for len(delta) > 0 {
			last := delta[len(delta)-1]
			if last.Retain > 0 && last.Attributes == nil {
				delta = delta[:len(delta)-1]
			} else {
				break
			}
		}
	})
	return delta
}

// Path returns the keys (string) and indexes (int) from CurrentTarget to
// Target.
func (e *Event) Path() []any {
	path := []any{}
	child := e.Target
	for child.item != nil && child != e.CurrentTarget {
		it := child.item
		if it.parentSub != nil {
			path = append(path, *it.parentSub)
		} else {
			i := 0
			for c := it.parent.start; c != it && c != nil; c = c.Right {
				if c.visible() {
					i += int(c.Length)
				}
			}
			path = append(path, i)
		}
		child = it.parent
	}
	slices.Reverse(path)
	return path
}

// depth is len(e.Path()) without computing indexes.
func (e *Event) depth() int {
	n := 0
	for child := e.Target; child.item != nil && child != e.CurrentTarget; child = child.item.parent {
		n++
	}
	return n
}

// needsEvents reports whether any observer would see an event of t.
func (t *Type) needsEvents() bool {
	if len(t.observers) > 0 {
		return true
	}
	for p := t; p != nil; p = p.Parent() {
		if len(p.deepObservers) > 0 {
			return true
		}
	}
	return false
}

// callObservers runs type observers, then deep observers, of tx.
func (d *Doc) callObservers(tx *Txn) {
	for _, t := range tx.changedOrder {
		ck, ok := tx.changed[t]
		if !ok || (t.item != nil && t.item.Deleted()) {
			continue
		}
		if !tx.Local {
			t.markers.reset()
		}
		if (t.kind == KindText || t.kind == KindXmlText) && !tx.Local && t.hasFormatting {
			tx.needFormattingCleanup = true
		}
		if !t.needsEvents() {
			continue
		}
		ev := &Event{Target: t, CurrentTarget: t, Txn: tx, childListChanged: ck.list}
		for k := range ck.keys {
			ev.keysChanged = append(ev.keysChanged, k)
		}
		slices.Sort(ev.keysChanged)
		for p := t; ; p = p.item.parent {
			if tx.changedParentTypes == nil {
				tx.changedParentTypes = make(map[*Type][]*Event)
			}
			if _, ok := tx.changedParentTypes[p]; !ok {
				tx.parentOrder = append(tx.parentOrder, p)
			}
			tx.changedParentTypes[p] = append(tx.changedParentTypes[p], ev)
			if p.item == nil {
				break
			}
		}
		for _, o := range slices.Clone(t.observers) {
			o.fn(ev)
		}
	}
	for _, t := range tx.parentOrder {
		if len(t.deepObservers) == 0 || (t.item != nil && t.item.Deleted()) {
			continue
		}
		var events []*Event
		var depth []int
		for _, ev := range tx.changedParentTypes[t] {
			if ev.Target.item == nil || !ev.Target.item.Deleted() {
				ev.CurrentTarget = t
				events = append(events, ev)
				depth = append(depth, ev.depth())
			}
		}
		// Shallowest first, stable (yjs sorts by path length).
		idx := make([]int, len(events))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return depth[a] - depth[b] })
		sorted := make([]*Event, len(events))
		for i, j := range idx {
			sorted[i] = events[j]
		}
		events = sorted
		for _, o := range slices.Clone(t.deepObservers) {
			o.fn(events)
		}
	}
}
