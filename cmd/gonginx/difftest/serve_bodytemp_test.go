package difftest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A request body over client_body_buffer_size goes to a temporary file
// under client_body_temp_path (made at start, its levels on first need,
// numbered as the other temporary files), with nginx's warn line naming
// it; notice with client_body_in_file_only; a path where no file can be
// made is nginx's crit line and a 500. The backend gets the same bytes
// whichever way the body was kept: proxied with a length, chunked, and
// to FastCGI (whose echo answers with the stdin it got). A WebDAV PUT's
// file is made there too, without the line.
func TestServeBodyTempFile(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be := startFCGIServer(t)
	body := strings.Repeat("0123456789abcdef", 1250) // 20000 bytes
	post := func(name, target, b string) harness.Request {
		return serveRaw(name, "POST "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Content-Length: "+strconv.Itoa(len(b))+"\r\n\r\n"+b)
	}
	var chunked strings.Builder
	for i := 0; i < len(body); i += 3000 {
		part := body[i:min(i+3000, len(body))]
		chunked.WriteString(strconv.FormatInt(int64(len(part)), 16) + "\r\n" + part + "\r\n")
	}
	chunked.WriteString("0\r\n\r\n")
	c := serveProxyCase("client body temp file", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    client_body_buffer_size 8k;
    client_body_temp_path body_temp 1 2;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /fcgi/ {
        fastcgi_pass `+be.addr()+`;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param CONTENT_LENGTH $content_length;
        fastcgi_param DOCUMENT_URI $document_uri;
    }
    location /only/ {
        client_body_in_file_only clean;
        proxy_pass http://{{BACKEND}}/;
    }
    location /flat/ {
        client_body_temp_path flat_temp;
        proxy_pass http://{{BACKEND}}/;
    }
    location /dav/ {
        root .;
        dav_methods PUT;
    }
    location /davbroken/ {
        root .;
        dav_methods PUT;
        client_body_temp_path notadir 1;
    }
    location /broken/ {
        client_body_temp_path notadir 1;
        proxy_pass http://{{BACKEND}}/;
    }
}
`,
		post("over the buffer", "/p/echo", body),
		post("within the buffer", "/p/echo", body[:3000]),
		serveRaw("chunked", "POST /p/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Transfer-Encoding: chunked\r\n\r\n"+chunked.String()),
		post("fastcgi", "/fcgi/echo", body),
		post("in file only", "/only/echo", body[:100]),
		post("no levels", "/flat/echo", body),
		post("unwritable path", "/broken/echo", body),
		serveRaw("dav put", "PUT /dav/f HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Content-Length: 5\r\n\r\nhello"),
		plainGet("dav put, the file", "/dav/f"),
		serveRaw("dav put, unwritable path", "PUT /davbroken/f HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Content-Length: 5\r\n\r\nhello"),
	)
	c.Content = map[string]string{"notadir": "a file, not a directory\n", "davbroken/.keep": ""}
	c.Setup = func(dir string) error {
		// Where the workers (nobody) may put the file.
		p := filepath.Join(dir, "dav")
		if err := os.Mkdir(p, 0o777); err != nil {
			return err
		}
		return os.Chmod(p, 0o777)
	}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}
