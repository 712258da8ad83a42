package crdt

import (
	"fmt"
	"math"
	"strings"

	"octobase/engine/lib0"
)

// encoderV2 writes update format v2: nine columns followed by the rest.
type encoderV2 struct {
	r         *lib0.Encoder
	dsCurVal  uint32
	keyClock  int64
	keyClockE lib0.IntDiffOptRleEncoder
	clientE   lib0.UintOptRleEncoder
	leftE     lib0.IntDiffOptRleEncoder
	rightE    lib0.IntDiffOptRleEncoder
	infoE     lib0.RleEncoder
	stringE   lib0.StringEncoder
	parentE   lib0.RleEncoder
	typeRefE  lib0.UintOptRleEncoder
	lenE      lib0.UintOptRleEncoder
}

func newEncoderV2() *encoderV2 { return &encoderV2{r: lib0.NewEncoder(64)} }

func (e *encoderV2) rest() *lib0.Encoder     { return e.r }
func (e *encoderV2) setRest(r *lib0.Encoder) { e.r = r }
func (e *encoderV2) fresh() updateEncoder    { return newEncoderV2() }
func (e *encoderV2) bytes() []byte {
	out := lib0.NewEncoder(64 + e.r.Len())
	out.WriteVarUint(0) // feature flag
	out.WriteVarBytes(e.keyClockE.Bytes())
	out.WriteVarBytes(e.clientE.Bytes())
	out.WriteVarBytes(e.leftE.Bytes())
	out.WriteVarBytes(e.rightE.Bytes())
	out.WriteVarBytes(e.infoE.Bytes())
	out.WriteVarBytes(e.stringE.Bytes())
	out.WriteVarBytes(e.parentE.Bytes())
	out.WriteVarBytes(e.typeRefE.Bytes())
	out.WriteVarBytes(e.lenE.Bytes())
	out.WriteRaw(e.r.Bytes())
	return out.Bytes()
}
func (e *encoderV2) resetDsCurVal() { e.dsCurVal = 0 }
func (e *encoderV2) writeDsClock(c uint32) {
	diff := c - e.dsCurVal
	e.dsCurVal = c
	e.r.WriteVarUint(uint64(diff))
}
func (e *encoderV2) writeDsLen(n uint32) {
	e.r.WriteVarUint(uint64(n) - 1)
	e.dsCurVal += n
}
func (e *encoderV2) writeLeftID(id ID) {
	e.clientE.Write(id.Client)
	e.leftE.Write(int64(id.Clock))
}
func (e *encoderV2) writeRightID(id ID) {
	e.clientE.Write(id.Client)
	e.rightE.Write(int64(id.Clock))
}
func (e *encoderV2) writeClient(c uint64)   { e.clientE.Write(c) }
func (e *encoderV2) writeInfo(info uint8)   { e.infoE.Write(info) }
func (e *encoderV2) writeString(s string)   { e.stringE.Write(s) }
func (e *encoderV2) writeTypeRef(ref uint8) { e.typeRefE.Write(uint64(ref)) }
func (e *encoderV2) writeLen(n uint32)      { e.lenE.Write(uint64(n)) }
func (e *encoderV2) writeAny(v any)         { _ = e.r.WriteAny(v) }
func (e *encoderV2) writeBuf(b []byte)      { e.r.WriteVarBytes(b) }
func (e *encoderV2) writeJSON(v any)        { _ = e.r.WriteAny(v) }
func (e *encoderV2) writeParentInfo(isYKey bool) {
	if isYKey {
		e.parentE.Write(1)
	} else {
		e.parentE.Write(0)
	}
}
func (e *encoderV2) writeKey(k string) {
	// yjs never enabled its key cache: every key is written anew.
	e.keyClockE.Write(e.keyClock)
	e.keyClock++
	e.stringE.Write(k)
}

// decoderV2 reads update format v2.
type decoderV2 struct {
	r         *reader
	dsCurVal  uint32
	keys      []string
	keyClockD *lib0.IntDiffOptRleDecoder
	clientD   *lib0.UintOptRleDecoder
	leftD     *lib0.IntDiffOptRleDecoder
	rightD    *lib0.IntDiffOptRleDecoder
	infoD     *lib0.RleDecoder
	stringD   *lib0.StringDecoder
	parentD   *lib0.RleDecoder
	typeRefD  *lib0.UintOptRleDecoder
	lenD      *lib0.UintOptRleDecoder
}

func newDecoderV2(b []byte) (*decoderV2, error) {
	r := newReader(b)
	if _, err := r.varUint(); err != nil { // feature flag
		return nil, wrapDecode("update v2 header", err)
	}
	var cols [9][]byte
	for i := range cols {
		c, err := r.ReadVarBytes()
		if err != nil {
			return nil, wrapDecode("update v2 header", err)
		}
		cols[i] = c
	}
	if _, err := lib0.NewDecoder(cols[5]).ReadVarStringStrict(); err != nil {
		return nil, wrapDecode("update v2 strings", err)
	}
	sd, err := lib0.NewStringDecoder(cols[5])
	if err != nil {
		return nil, wrapDecode("update v2 strings", err)
	}
	return &decoderV2{
		r:         r,
		keyClockD: lib0.NewIntDiffOptRleDecoder(cols[0]),
		clientD:   lib0.NewUintOptRleDecoder(cols[1]),
		leftD:     lib0.NewIntDiffOptRleDecoder(cols[2]),
		rightD:    lib0.NewIntDiffOptRleDecoder(cols[3]),
		infoD:     lib0.NewRleDecoder(cols[4]),
		stringD:   sd,
		parentD:   lib0.NewRleDecoder(cols[6]),
		typeRefD:  lib0.NewUintOptRleDecoder(cols[7]),
		lenD:      lib0.NewUintOptRleDecoder(cols[8]),
	}, nil
}

func (d *decoderV2) rest() *reader  { return d.r }
func (d *decoderV2) resetDsCurVal() { d.dsCurVal = 0 }
func (d *decoderV2) readDsClock() (uint32, error) {
	v, err := d.r.varUint()
	if err != nil {
		return 0, err
	}
	sum := uint64(d.dsCurVal) + v
	if sum > math.MaxUint32 {
		return 0, fmt.Errorf("delete set clock overflows")
	}
	d.dsCurVal = uint32(sum)
	return d.dsCurVal, nil
}
func (d *decoderV2) readDsLen() (uint32, error) {
	v, err := d.r.varUint()
	if err != nil {
		return 0, err
	}
	n := v + 1
	if uint64(d.dsCurVal)+n > math.MaxUint32 {
		return 0, fmt.Errorf("delete set length overflows")
	}
	d.dsCurVal += uint32(n)
	return uint32(n), nil
}
func clockFrom(v int64, err error) (uint32, error) {
	if err != nil {
		return 0, err
	}
	if v < 0 || v > math.MaxUint32 {
		return 0, fmt.Errorf("clock %d out of range", v)
	}
	return uint32(v), nil
}
func clientFrom(v uint64, err error) (uint64, error) {
	if err != nil {
		return 0, err
	}
	if v > MaxClientID {
		return 0, fmt.Errorf("client id %d exceeds 2^53-1", v)
	}
	return v, nil
}
func (d *decoderV2) readLeftID() (ID, error) {
	c, err := clientFrom(d.clientD.Read())
	if err != nil {
		return ID{}, err
	}
	k, err := clockFrom(d.leftD.Read())
	return ID{c, k}, err
}
func (d *decoderV2) readRightID() (ID, error) {
	c, err := clientFrom(d.clientD.Read())
	if err != nil {
		return ID{}, err
	}
	k, err := clockFrom(d.rightD.Read())
	return ID{c, k}, err
}
func (d *decoderV2) readClient() (uint64, error) { return clientFrom(d.clientD.Read()) }
func (d *decoderV2) readInfo() (uint8, error)    { return d.infoD.Read() }

// readString copies: the decoder returns slices of the whole string
// column, which a kept map key would otherwise pin in memory.
func (d *decoderV2) readString() (string, error) {
	s, err := d.stringD.Read()
	return strings.Clone(s), err
}
func (d *decoderV2) readParentInfo() (bool, error) {
	v, err := d.parentD.Read()
	return v == 1, err
}
func (d *decoderV2) readTypeRef() (uint8, error) {
	v, err := d.typeRefD.Read()
	if v > math.MaxUint8 {
		v = math.MaxUint8
	}
	return uint8(v), err
}
func (d *decoderV2) readLen() (uint32, error) {
	v, err := d.lenD.Read()
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("length %d out of range", v)
	}
	return uint32(v), nil
}
func (d *decoderV2) readAny() (any, error) { return d.r.ReadAny() }
func (d *decoderV2) readBuf() ([]byte, error) {
	b, err := d.r.ReadVarBytes()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}
func (d *decoderV2) readJSON() (any, error) { return d.r.ReadAny() }
func (d *decoderV2) readKey() (string, error) {
	kc, err := d.keyClockD.Read()
	if err != nil {
		return "", err
	}
	if kc >= 0 && kc < int64(len(d.keys)) {
		return d.keys[kc], nil
	}
	k, err := d.stringD.Read()
	if err != nil {
		return "", err
	}
	d.keys = append(d.keys, k)
	return k, nil
}
