package resolver

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ptrResponse builds a response to the PTR question for 127.0.0.1 with
// rcode and the given answer records (type, rdata).
func ptrResponse(rcode uint16, records ...[2][]byte) []byte {
	msg := appendQuery(nil, 7, "1.0.0.127.in-addr.arpa", typePTR)
	binary.BigEndian.PutUint16(msg[2:], flagResponse|flagRecursion|0x80|rcode)
	binary.BigEndian.PutUint16(msg[6:], uint16(len(records)))
	for _, r := range records {
		msg = append(msg, 0xc0, 0x0c)
		msg = append(msg, r[0]...)
		msg = append(msg, 0, 1, 0, 0, 0x0e, 0x10)
		msg = binary.BigEndian.AppendUint16(msg, uint16(len(r[1])))
		msg = append(msg, r[1]...)
	}
	return msg
}

func TestParsePTR(t *testing.T) {
	name := []byte("\x01a\x07example\x03net\x00")
	ptr, cname, dname := []byte{0, typePTR}, []byte{0, typeCNAME}, []byte{0, 39}
	type result struct {
		Name string
		Code int
	}
	tests := []struct {
		name string
		msg  []byte
		want result
	}{
		{"ptr", ptrResponse(0, [2][]byte{ptr, name}), result{"a.example.net", 0}},
		{"servfail", ptrResponse(2), result{"", 2}},
		{"empty rdata", ptrResponse(0, [2][]byte{ptr, nil}), result{"", codeFormErr}},
		{"cname then ptr", ptrResponse(0, [2][]byte{cname, name}, [2][]byte{ptr, name}), result{"a.example.net", 0}},
		{"cname only", ptrResponse(0, [2][]byte{cname, name}), result{"", codeNXDomain}},
		{"other type", ptrResponse(0, [2][]byte{dname, name}), result{"", codeFormErr}},
		{"no answer", ptrResponse(0), result{"", codeNXDomain}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n node
			parsePTR(tt.msg, &n)
			if diff := cmp.Diff(tt.want, result{n.cname, n.code}); diff != "" {
				t.Errorf("-want +got\n%s", diff)
			}
		})
	}
}

func TestArpaName(t *testing.T) {
	got := []string{arpaName(netip.MustParseAddr("127.0.0.1")), arpaName(netip.MustParseAddr("2001:db8::1"))}
	want := []string{"1.0.0.127.in-addr.arpa", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got\n%s", diff)
	}
}

// FuzzParsePTR: a name server's answer is untrusted; no panic.
func FuzzParsePTR(f *testing.F) {
	f.Add(ptrResponse(0, [2][]byte{{0, typePTR}, []byte("\x01a\x00")}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) < 12 {
			return
		}
		var n node
		parsePTR(msg, &n)
	})
}
