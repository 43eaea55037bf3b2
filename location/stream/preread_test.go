package stream

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clientHelloBytes returns the first flight of a Go TLS client.
func clientHelloBytes(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tls.Client(c, cfg).Handshake()
		c.Close()
	}()
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16384)
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// splitRecords re-frames a one-record handshake into records of at most
// size payload bytes each.
func splitRecords(b []byte, size int) []byte {
	payload := b[5:]
	var out []byte
	for len(payload) > 0 {
		n := min(size, len(payload))
		out = append(out, 0x16, b[1], b[2], byte(n>>8), byte(n))
		out = append(out, payload[:n]...)
		payload = payload[n:]
	}
	return out
}

func TestParseRecords(t *testing.T) {
	full := clientHelloBytes(t, &tls.Config{ServerName: "Example.COM", NextProtos: []string{"h2", "http/1.1"}})
	tls12 := clientHelloBytes(t, &tls.Config{ServerName: "a.test", MaxVersion: tls.VersionTLS12})
	bare := clientHelloBytes(t, &tls.Config{InsecureSkipVerify: true})
	type result struct {
		R     prereadResult
		Hello clientHello
	}
	tests := []struct {
		name string
		in   []byte
		want result
	}{
		{"sni alpn tls13", full, result{prereadOK, clientHello{ok: true, serverName: "Example.COM", alpn: "h2,http/1.1", protocol: "TLSv1.3"}}},
		// Go sends supported_versions even up to TLS 1.2: nginx then reads
		// the protocol as TLSv1.3, whatever the list holds.
		{"tls12 only", tls12, result{prereadOK, clientHello{ok: true, serverName: "a.test", protocol: "TLSv1.3"}}},
		{"tls12 without supported_versions", stripSupportedVersions(t, tls12), result{prereadOK, clientHello{ok: true, serverName: "a.test", protocol: "TLSv1.2"}}},
		{"no sni", bare, result{prereadOK, clientHello{ok: true, protocol: "TLSv1.3"}}},
		{"split records", splitRecords(full, 7), result{prereadOK, clientHello{ok: true, serverName: "Example.COM", alpn: "h2,http/1.1", protocol: "TLSv1.3"}}},
		{"header only", full[:5], result{prereadAgain, clientHello{}}},
		{"half a record", full[:len(full)/2], result{prereadAgain, clientHello{}}},
		{"not tls", []byte("GET / HTTP/1.0\r\n\r\n"), result{prereadDeclined, clientHello{}}},
		{"ssl2 hello", []byte{0x80, 0x2e, 0x01, 0x00, 0x02, 0x00}, result{prereadOK, clientHello{ok: true, protocol: "SSLv2"}}},
		{"ssl record version 2", []byte{0x16, 2, 0, 0, 1, 1}, result{prereadDeclined, clientHello{}}},
		{"server hello", []byte{0x16, 3, 1, 0, 4, 2, 0, 0, 0}, result{prereadDeclined, clientHello{}}},
		{"length past the message", []byte{0x16, 3, 1, 0, 5, 1, 0, 0, 1, 3}, result{prereadDeclined, clientHello{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h clientHello
			got := result{parseRecords(tt.in, &h), h}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(result{}, clientHello{})); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// FuzzParseRecords: the ClientHello reader takes what any client sends;
// it must not panic, and a prefix of a hello it reads is either still
// incomplete or read the same way.
func FuzzParseRecords(f *testing.F) {
	f.Add(clientHelloBytes(f, &tls.Config{ServerName: "example.com", NextProtos: []string{"h2"}}))
	f.Add([]byte{0x16, 3, 1, 0, 5, 1, 0, 0, 1, 3})
	f.Add([]byte{0x80, 0x2e, 0x01, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h clientHello
		r := parseRecords(b, &h)
		if r != prereadOK {
			return
		}
		for k := 0; k < len(b); k++ {
			var p clientHello
			if pr := parseRecords(b[:k], &p); pr == prereadDeclined {
				t.Fatalf("prefix %d declined, whole read", k)
			}
		}
	})
}

// stripSupportedVersions renames the supported_versions extension of a
// one-record hello (type 43 becomes an unknown 0xfe43).
func stripSupportedVersions(t *testing.T, b []byte) []byte {
	out := append([]byte(nil), b...)
	for i := 5 + 4 + 2 + 32; i+4 < len(out); i++ {
		if out[i] == 0 && out[i+1] == 43 && out[i+4] <= 8 && int(out[i+2])<<8|int(out[i+3]) == int(out[i+4])+1 {
			out[i] = 0xfe
			return out
		}
	}
	t.Fatal("no supported_versions extension")
	return nil
}
