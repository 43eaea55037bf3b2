package upstream

import "testing"

// TestHeadKindOf: a backend's header name is classified case aside,
// whether spelled as usual, in other cases, or only like a known name
// (its length, its first letter).
func TestHeadKindOf(t *testing.T) {
	for name, want := range map[string]headKind{
		"Date": hkDate, "DATE": hkDate, "date": hkDate, "Data": hkOther, "Xate": hkOther,
		"Server": hkServer, "sERVER": hkServer, "Serves": hkOther,
		"Refresh": hkRefresh, "REFRESH": hkRefresh, "Upgrade": hkOther, "Refresj": hkOther,
		"Location": hkLocation, "location": hkLocation, "Locatio1": hkOther,
		"Connection": hkConnection, "connection": hkConnection, "CONNECTION": hkConnection, "Connectiom": hkOther,
		"Keep-Alive": hkKeepAlive, "keep-alive": hkKeepAlive, "Keep-Alivf": hkOther,
		"Set-Cookie": hkSetCookie, "set-cookie": hkSetCookie, "Set-Cookiz": hkOther,
		"Content-Type": hkContentType, "content-type": hkContentType, "Content-Typf": hkOther,
		"Content-Length": hkContentLength, "CONTENT-LENGTH": hkContentLength, "Content-Lengtx": hkOther,
		"Transfer-Encoding": hkTransferEncoding, "transfer-encoding": hkTransferEncoding, "Sec-WebSocket-Key": hkOther,
		"Sec-WebSocket-Accept": hkOther, "X": hkOther,
	} {
		if got := headKindOf([]byte(name)); got != want {
			t.Errorf("headKindOf(%q) = %v, want %v", name, got, want)
		}
	}
}
