package lib0

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestRleDecoderEdges(t *testing.T) {
	if _, err := NewRleDecoder(nil).Read(); err != ErrUnexpectedEOF {
		t.Errorf("empty RleDecoder: %v", err)
	}
	d := NewRleDecoder([]byte{5})
	for i := 0; i < 100; i++ {
		if v, err := d.Read(); v != 5 || err != nil {
			t.Fatalf("read %d: %d, %v", i, v, err)
		}
	}
	d = NewRleDecoder([]byte{5, 0x80}) // truncated count
	if _, err := d.Read(); err != ErrUnexpectedEOF {
		t.Errorf("truncated count: %v", err)
	}
	d = NewRleDecoder([]byte{5, 1}) // run of 2, then nothing
	for i := 0; i < 2; i++ {
		if v, err := d.Read(); v != 5 || err != nil {
			t.Fatalf("read %d: %d, %v", i, v, err)
		}
	}
	if _, err := d.Read(); err != ErrUnexpectedEOF {
		t.Errorf("past counted run: %v", err)
	}
}

func TestUintOptRleEdges(t *testing.T) {
	if _, err := NewUintOptRleDecoder(nil).Read(); err != ErrUnexpectedEOF {
		t.Errorf("empty: %v", err)
	}
	if _, err := NewUintOptRleDecoder([]byte{0x40}).Read(); err != ErrUnexpectedEOF {
		t.Errorf("-0 without count: %v", err)
	}
	var e UintOptRleEncoder
	if len(e.Bytes()) != 0 {
		t.Error("empty encoder wrote bytes")
	}
	e.Write(0)
	e.Write(0)
	if got := e.Bytes(); !bytes.Equal(got, []byte{0x40, 0}) {
		t.Errorf("run of 0 = % x", got)
	}
}

func TestIntDiffOptRleOverflow(t *testing.T) {
	for _, sign := range []int64{1, -1} {
		// diff ±2^51 with a run of 4: the fourth value, ±2^53, is beyond MaxSafeInteger.
		in := AppendVarUint(AppendVarInt(nil, sign*(1<<52)+1), 2)
		d := NewIntDiffOptRleDecoder(in)
		for i := int64(1); i <= 3; i++ {
			if v, err := d.Read(); v != sign*i<<51 || err != nil {
				t.Fatalf("read %d: %d, %v", i, v, err)
			}
		}
		if _, err := d.Read(); err != ErrOverflow {
			t.Errorf("overflowing read: %v", err)
		}
		if _, err := d.Read(); err == nil {
			t.Error("read after overflow succeeded")
		}
	}
	// A run that ends exactly at MaxSafeInteger is fine.
	var e IntDiffOptRleEncoder
	for _, v := range []int64{MaxSafeInteger / 3, MaxSafeInteger / 3 * 2, MaxSafeInteger / 3 * 3, MaxSafeInteger} {
		e.Write(v)
	}
	d := NewIntDiffOptRleDecoder(e.Bytes())
	for i := 0; i < 4; i++ {
		if _, err := d.Read(); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
}

// TestColumnRoundTrip checks random sequences against the decoders, and that Bytes can be
// called at any point without disturbing later writes.
func TestColumnRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for iter := 0; iter < 300; iter++ {
		n := r.IntN(200)
		alpha := 1 + r.IntN(5)
		var (
			re  RleEncoder
			ue  UintOptRleEncoder
			ie  IntDiffOptRleEncoder
			se  StringEncoder
			u8s []uint8
			us  []uint64
			is  []int64
			ss  []string
			cur int64
		)
		for i := 0; i < n; i++ {
			u8 := uint8(r.IntN(alpha)) * 60
			u := uint64(r.IntN(alpha))
			if r.IntN(10) == 0 {
				u = r.Uint64N(MaxSafeInteger + 1)
			}
			if r.IntN(3) == 0 {
				cur += int64(r.IntN(2001) - 1000)
			} else {
				cur++
			}
			s := []string{"", "a", "€", "😀", "key", "\xff"}[r.IntN(alpha+1)]
			re.Write(u8)
			ue.Write(u)
			ie.Write(cur)
			se.Write(s)
			u8s, us, is, ss = append(u8s, u8), append(us, u), append(is, cur), append(ss, ToValidUTF8(s))
			if r.IntN(20) == 0 { // intermediate Bytes must not disturb the encoding
				_, _, _, _ = re.Bytes(), ue.Bytes(), ie.Bytes(), se.Bytes()
			}
		}
		if n == 0 {
			continue
		}
		rd := NewRleDecoder(re.Bytes())
		ud := NewUintOptRleDecoder(ue.Bytes())
		id := NewIntDiffOptRleDecoder(ie.Bytes())
		sd, err := NewStringDecoder(se.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if v, err := rd.Read(); v != u8s[i] || err != nil {
				t.Fatalf("iter %d rle %d: %d, %v want %d", iter, i, v, err, u8s[i])
			}
			if v, err := ud.Read(); v != us[i] || err != nil {
				t.Fatalf("iter %d uintOptRle %d: %d, %v want %d", iter, i, v, err, us[i])
			}
			if v, err := id.Read(); v != is[i] || err != nil {
				t.Fatalf("iter %d intDiffOptRle %d: %d, %v want %d", iter, i, v, err, is[i])
			}
			if v, err := sd.Read(); v != ss[i] || err != nil {
				t.Fatalf("iter %d string %d: %q, %v want %q", iter, i, v, err, ss[i])
			}
		}
		if v, err := rd.Read(); v != u8s[n-1] || err != nil {
			t.Fatalf("rle past end: %d, %v", v, err)
		}
		if _, err := ud.Read(); err != ErrUnexpectedEOF {
			t.Fatalf("uintOptRle past end: %v", err)
		}
		if _, err := id.Read(); err != ErrUnexpectedEOF {
			t.Fatalf("intDiffOptRle past end: %v", err)
		}
		if _, err := sd.Read(); err != ErrUnexpectedEOF {
			t.Fatalf("string past end: %v", err)
		}
		// Reset gives an empty encoder again.
		re.Reset()
		ue.Reset()
		ie.Reset()
		se.Reset()
		if len(re.Bytes())+len(ue.Bytes())+len(ie.Bytes()) != 0 || !bytes.Equal(se.Bytes(), []byte{0}) {
			t.Fatal("Reset did not empty the encoders")
		}
	}
}

func TestColumnAllocs(t *testing.T) {
	var re RleEncoder
	var ue UintOptRleEncoder
	var ie IntDiffOptRleEncoder
	var se StringEncoder
	for i := 0; i < 1000; i++ { // grow the buffers first
		re.Write(uint8(i))
		ue.Write(uint64(i))
		ie.Write(int64(i * i))
		se.Write("abc")
	}
	ue.Bytes()
	ie.Bytes()
	se.Bytes()
	rb, ub, ib, sb := re.Bytes(), ue.Bytes(), ie.Bytes(), bytes.Clone(se.Bytes())
	allocs := testing.AllocsPerRun(5, func() {
		re.Reset()
		ue.Reset()
		ie.Reset()
		se.Reset()
		for i := 0; i < 1000; i++ {
			re.Write(uint8(i))
			ue.Write(uint64(i))
			ie.Write(int64(i * i))
			se.Write("abc")
		}
		_, _, _ = ue.Bytes(), ie.Bytes(), se.Bytes()
		rd := RleDecoder{d: Decoder{buf: rb}}
		ud := UintOptRleDecoder{d: Decoder{buf: ub}}
		id := IntDiffOptRleDecoder{d: Decoder{buf: ib}}
		for i := 0; i < 1000; i++ {
			_, _ = rd.Read()
			_, _ = ud.Read()
			_, _ = id.Read()
		}
	})
	if allocs != 0 {
		t.Errorf("column codecs allocated %v times", allocs)
	}
	sd, _ := NewStringDecoder(sb)
	if a := testing.AllocsPerRun(100, func() { _, _ = sd.Read() }); a != 0 {
		t.Errorf("StringDecoder.Read allocated %v times", a)
	}
}
