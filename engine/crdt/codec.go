package crdt

import (
	"math"

	"octobase/engine/lib0"
)

// updateEncoder abstracts the two update formats. In v1 everything goes to
// the rest encoder; v2 spreads fields over columns.
type updateEncoder interface {
	rest() *lib0.Encoder
	setRest(*lib0.Encoder)
	bytes() []byte
	resetDsCurVal()
	writeDsClock(clock uint32)
	writeDsLen(n uint32)
	writeLeftID(id ID)
	writeRightID(id ID)
	writeClient(client uint64)
	writeInfo(info uint8)
	writeString(s string)
	writeParentInfo(isYKey bool)
	writeTypeRef(ref uint8)
	writeLen(n uint32)
	writeAny(v any)
	writeBuf(b []byte)
	writeJSON(v any)
	writeKey(key string)
	// fresh returns an empty encoder of the same format.
	fresh() updateEncoder
}

// updateDecoder is the reading side of updateEncoder.
type updateDecoder interface {
	rest() *reader
	resetDsCurVal()
	readDsClock() (uint32, error)
	readDsLen() (uint32, error)
	readLeftID() (ID, error)
	readRightID() (ID, error)
	readClient() (uint64, error)
	readInfo() (uint8, error)
	readString() (string, error)
	readParentInfo() (bool, error)
	readTypeRef() (uint8, error)
	readLen() (uint32, error)
	readAny() (any, error)
	readBuf() ([]byte, error)
	readJSON() (any, error)
	readKey() (string, error)
}

// ---- v1 ----

type encoderV1 struct{ r *lib0.Encoder }

func newEncoderV1() *encoderV1 { return &encoderV1{r: lib0.NewEncoder(64)} }

func (e *encoderV1) rest() *lib0.Encoder     { return e.r }
func (e *encoderV1) setRest(r *lib0.Encoder) { e.r = r }
func (e *encoderV1) bytes() []byte           { return e.r.Bytes() }
func (e *encoderV1) fresh() updateEncoder    { return newEncoderV1() }
func (e *encoderV1) resetDsCurVal()          {}
func (e *encoderV1) writeDsClock(c uint32)   { e.r.WriteVarUint(uint64(c)) }
func (e *encoderV1) writeDsLen(n uint32)     { e.r.WriteVarUint(uint64(n)) }
func (e *encoderV1) writeLeftID(id ID) {
	e.r.WriteVarUint(id.Client)
	e.r.WriteVarUint(uint64(id.Clock))
}
func (e *encoderV1) writeRightID(id ID) {
	e.r.WriteVarUint(id.Client)
	e.r.WriteVarUint(uint64(id.Clock))
}
func (e *encoderV1) writeClient(c uint64)   { e.r.WriteVarUint(c) }
func (e *encoderV1) writeInfo(info uint8)   { e.r.WriteUint8(info) }
func (e *encoderV1) writeString(s string)   { e.r.WriteVarString(s) }
func (e *encoderV1) writeTypeRef(ref uint8) { e.r.WriteVarUint(uint64(ref)) }
func (e *encoderV1) writeLen(n uint32)      { e.r.WriteVarUint(uint64(n)) }
func (e *encoderV1) writeAny(v any)         { _ = e.r.WriteAny(v) }
func (e *encoderV1) writeBuf(b []byte)      { e.r.WriteVarBytes(b) }
func (e *encoderV1) writeKey(k string)      { e.r.WriteVarString(k) }
func (e *encoderV1) writeJSON(v any)        { e.r.WriteVarString(stringifyJSON(v)) }
func (e *encoderV1) writeParentInfo(isYKey bool) {
	if isYKey {
		e.r.WriteVarUint(1)
	} else {
		e.r.WriteVarUint(0)
	}
}

// stringifyJSON is JSON.stringify for values that came from the document.
func stringifyJSON(v any) string {
	if v == lib0.Undefined {
		return "undefined"
	}
	s, err := lib0.StringifyJSON(v)
	if err != nil {
		return "null"
	}
	return s
}

type decoderV1 struct {
	r  *reader
	rd reader
}

func newDecoderV1(b []byte) *decoderV1 {
	d := &decoderV1{}
	d.rd.Reset(b)
	d.r = &d.rd
	return d
}

func (d *decoderV1) rest() *reader  { return d.r }
func (d *decoderV1) resetDsCurVal() {}
func (d *decoderV1) readDsClock() (uint32, error) {
	return d.r.clock()
}
func (d *decoderV1) readDsLen() (uint32, error) { return d.r.clock() }
func (d *decoderV1) readID() (ID, error) {
	c, err := d.r.client()
	if err != nil {
		return ID{}, err
	}
	k, err := d.r.clock()
	return ID{c, k}, err
}
func (d *decoderV1) readLeftID() (ID, error)     { return d.readID() }
func (d *decoderV1) readRightID() (ID, error)    { return d.readID() }
func (d *decoderV1) readClient() (uint64, error) { return d.r.client() }
func (d *decoderV1) readInfo() (uint8, error)    { return d.r.ReadUint8() }

// Strings are decoded strictly: lib0 reads them with a fatal TextDecoder,
// so yjs rejects updates holding invalid UTF-8, and so do we.
func (d *decoderV1) readString() (string, error) { return d.r.ReadVarStringStrict() }
func (d *decoderV1) readParentInfo() (bool, error) {
	v, err := d.r.ReadVarUint()
	return v == 1, err
}
func (d *decoderV1) readTypeRef() (uint8, error) {
	v, err := d.r.ReadVarUint()
	if v > math.MaxUint8 {
		v = math.MaxUint8
	}
	return uint8(v), err
}
func (d *decoderV1) readLen() (uint32, error) { return d.r.clock() }
func (d *decoderV1) readAny() (any, error)    { return d.r.ReadAny() }
func (d *decoderV1) readBuf() ([]byte, error) {
	b, err := d.r.ReadVarBytes()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}
func (d *decoderV1) readJSON() (any, error) {
	s, err := d.r.ReadVarStringStrict()
	if err != nil {
		return nil, err
	}
	return lib0.ParseJSON(s)
}
func (d *decoderV1) readKey() (string, error) { return d.r.ReadVarStringStrict() }

// parseJSON is JSON.parse with yjs' "undefined" convention.
func parseJSON(s string) (any, error) {
	if s == "undefined" {
		return lib0.Undefined, nil
	}
	return lib0.ParseJSON(s)
}

func newRestEncoder() *lib0.Encoder { return lib0.NewEncoder(64) }
