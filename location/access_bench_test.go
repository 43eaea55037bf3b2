package location

import (
	"os"
	"testing"
)

// An allowed request through auth_basic: the user file read and scanned
// and the password checked each time, as nginx does. {PLAIN} keeps the
// hash's own cost out of the numbers; BenchmarkServeAuthBasicSHA512 has it.
func BenchmarkServeAuthBasicPlain(b *testing.B) {
	benchAuth(b, "plain:{PLAIN}secret\n")
}

func BenchmarkServeAuthBasicSHA512(b *testing.B) {
	benchAuth(b, "plain:$6$s6$MC93XOZK.SA4XYrBZo4wmdQjQNC52hkEmB78QBWoBDldcHtHf6eEVBdL82X2zgCSk3aqy0g4WOQWIRVj0BdW/0\n")
}

func benchAuth(b *testing.B, htpasswd string) {
	benchServe(b, `server { listen 127.0.0.1:19300; root DIR; location / { auth_basic "x"; auth_basic_user_file DIR/htpasswd; } }`,
		// base64("plain:secret")
		"GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Basic cGxhaW46c2VjcmV0\r\n\r\n", func(dir string) {
			os.WriteFile(dir+"/htpasswd", []byte("# users\nother:{PLAIN}x\n"+htpasswd), 0o644)
			os.WriteFile(dir+"/x", []byte("ok\n"), 0o644)
		})
}

// Requests with allow/deny and a limit_except that lets them through
// cost nothing more.
func BenchmarkServeLimitExcept(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; root DIR; location / { limit_except GET { deny all; } allow 127.0.0.1; deny all; } }`,
		"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", func(dir string) { os.WriteFile(dir+"/x", []byte("ok\n"), 0o644) })
}
