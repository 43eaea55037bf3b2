package nginxconf

import "testing"

// TestLookupIPNumericForms: the answers are getent ahostsv4's (glibc's
// getaddrinfo) and, for the four-part forms, ngx_inet_addr's.
func TestLookupIPNumericForms(t *testing.T) {
	for host, want := range map[string]string{
		"1.5": "1.0.0.5", "70000": "0.1.17.112", "0x7f.1": "127.0.0.1", "0X7F.0.0.1": "127.0.0.1",
		"010.1": "8.0.0.1", "1.0x10.3": "1.16.0.3", "1.16777215": "1.255.255.255",
		"4294967295": "255.255.255.255", "127..0.1": "127.0.0.1", "127.0.0.": "127.0.0.0",
		"010.0.0.1": "10.0.0.1", // ngx_inet_addr reads four parts in decimal
	} {
		ips, err := LookupIP(host)
		if err != nil || len(ips) != 1 || ips[0].String() != want {
			t.Errorf("LookupIP(%q) = %v, %v; want %s", host, ips, err, want)
		}
	}
	for _, host := range []string{"0x", "08", "256.1", "1.16777216", "4294967296", "1.2.3.4.5", "1.5 ", "1..5"} {
		if ip, ok := inetAton(host); ok {
			t.Errorf("inetAton(%q) = %v, want no address", host, ip)
		}
	}
}
