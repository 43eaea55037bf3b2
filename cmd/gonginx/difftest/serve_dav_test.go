package difftest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// davReq is one WebDAV request on its own connection: method, target,
// extra header lines ("Name: value\r\n" each) and a body.
func davReq(name, method, target, headers, body string) harness.Request {
	head := method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + headers
	if body != "" {
		head += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	return serveRaw(name, head+"\r\n"+body)
}

// The DAV module, nginx vs gonginx: each method's statuses, Location,
// errors and what ends up on disk (names, modes, contents), in one
// sequence where later requests see what earlier ones made.
func TestServeDAV(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "dav", Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root store;
    location /dav/ {
        dav_methods PUT DELETE MKCOL COPY MOVE;
    }
    location /full/ {
        dav_methods put mkcol;
        create_full_put_path on;
        dav_access group:rw all:r;
    }
    location /md/ {
        dav_methods delete;
        min_delete_depth 3;
    }
    location /ro/ {
        dav_methods off;
    }
    location /al/ {
        alias store/aliased/;
        dav_methods PUT DELETE COPY;
    }
}
`,
		Requests: []harness.Request{
			davReq("put creates", "PUT", "/dav/a.txt", "", "hello"),
			davReq("put replaces, Date sets the time", "PUT", "/dav/a.txt", "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", "hello again"),
			plainGet("read back", "/dav/a.txt"),
			davReq("put escaped name", "PUT", "/dav/sp%20ace.txt", "", "x"),
			davReq("put chunked", "PUT", "/dav/ch.txt", "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"),
			davReq("put without a body", "PUT", "/dav/nobody", "", ""),
			davReq("put empty", "PUT", "/dav/empty", "Content-Length: 0\r\n", ""),
			davReq("put to collection", "PUT", "/dav/dir/", "", "x"),
			davReq("put range", "PUT", "/dav/r.txt", "Content-Range: bytes 0-1/2\r\n", "ab"),
			davReq("put over a directory", "PUT", "/dav/exists", "", "x"),
			davReq("put full path", "PUT", "/full/x/y/z.txt", "", "deep"),
			davReq("put too large", "PUT", "/dav/big", "", string(make([]byte, 1<<20+1))),
			davReq("mkcol", "MKCOL", "/dav/col/", "", ""),
			davReq("mkcol again", "MKCOL", "/dav/col/", "", ""),
			davReq("mkcol not a collection", "MKCOL", "/dav/nocol", "", ""),
			davReq("mkcol no parent", "MKCOL", "/dav/p/q/", "", ""),
			davReq("mkcol with body", "MKCOL", "/dav/b/", "", "x"),
			davReq("mkcol full", "MKCOL", "/full/m/", "", ""),
			davReq("copy file", "COPY", "/dav/a.txt", "Destination: /dav/col/a.txt\r\n", ""),
			davReq("copy no overwrite", "COPY", "/dav/a.txt", "Destination: /dav/col/a.txt\r\nOverwrite: F\r\n", ""),
			davReq("copy absolute", "COPY", "/dav/a.txt", "Destination: http://localhost:{{PORT}}/dav/c%20d.txt\r\n", ""),
			davReq("copy other host", "COPY", "/dav/a.txt", "Destination: http://example.com/dav/e.txt\r\n", ""),
			davReq("copy no destination", "COPY", "/dav/a.txt", "", ""),
			davReq("copy unsafe", "COPY", "/dav/a.txt", "Destination: /dav/%2e%2e/x\r\n", ""),
			davReq("copy invalid", "COPY", "/dav/a.txt", "Destination: ftp://localhost/x\r\n", ""),
			davReq("copy file to collection", "COPY", "/dav/a.txt", "Destination: /dav/col/\r\n", ""),
			davReq("copy depth 1", "COPY", "/dav/col/", "Destination: /dav/col9/\r\nDepth: 1\r\n", ""),
			davReq("copy bad overwrite", "COPY", "/dav/a.txt", "Destination: /dav/f.txt\r\nOverwrite: yes\r\n", ""),
			davReq("copy missing", "COPY", "/dav/none", "Destination: /dav/g.txt\r\n", ""),
			davReq("copy with body", "COPY", "/dav/a.txt", "Destination: /dav/h.txt\r\n", "x"),
			davReq("copy tree", "COPY", "/dav/col/", "Destination: /dav/col2/\r\n", ""),
			davReq("copy collection without slash", "COPY", "/dav/col", "Destination: /dav/col8\r\n", ""),
			davReq("move tree", "MOVE", "/dav/col2/", "Destination: /dav/col3/\r\n", ""),
			davReq("move tree depth 0", "MOVE", "/dav/col3/", "Destination: /dav/col4/\r\nDepth: 0\r\n", ""),
			davReq("move file", "MOVE", "/dav/ch.txt", "Destination: /dav/col3/ch.txt\r\n", ""),
			davReq("move onto existing, no overwrite", "MOVE", "/dav/empty", "Destination: /dav/a.txt\r\nOverwrite: f\r\n", ""),
			davReq("delete file", "DELETE", "/dav/empty", "", ""),
			davReq("delete missing", "DELETE", "/dav/empty", "", ""),
			davReq("delete dir without slash", "DELETE", "/dav/col3", "", ""),
			davReq("delete dir depth 0", "DELETE", "/dav/col3/", "Depth: 0\r\n", ""),
			davReq("delete file depth 1", "DELETE", "/dav/a.txt", "Depth: 1\r\n", ""),
			davReq("delete bad depth", "DELETE", "/dav/a.txt", "Depth: 2\r\n", ""),
			davReq("delete tree", "DELETE", "/dav/col3/", "", ""),
			davReq("delete with body", "DELETE", "/dav/a.txt", "", "x"),
			davReq("delete under a file", "DELETE", "/dav/a.txt/x", "", ""),
			davReq("min_delete_depth short", "DELETE", "/md/a", "", ""),
			davReq("min_delete_depth enough", "DELETE", "/md/sub/b", "", ""),
			davReq("methods off", "PUT", "/ro/x", "", "x"),
			davReq("not a dav method", "PROPFIND", "/dav/a.txt", "", ""),
			davReq("mkcol not enabled", "DELETE", "/full/x/y/z.txt", "", ""),
			davReq("alias put", "PUT", "/al/p.txt", "", "aliased"),
			davReq("alias copy", "COPY", "/al/p.txt", "Destination: /al/q.txt\r\n", ""),
			davReq("alias delete", "DELETE", "/al/p.txt", "", ""),
		},
		ErrorMessages: true,
		Trees:         []string{"store"},
	}
	c.Setup = func(dir string) error {
		// Where the workers (nobody) may make and remove files.
		for _, d := range []string{"store", "store/dav", "store/dav/exists", "store/full", "store/md",
			"store/md/sub", "store/aliased", "store/ro"} {
			p := filepath.Join(dir, d)
			if err := os.MkdirAll(p, 0o777); err != nil {
				return err
			}
			if err := os.Chmod(p, 0o777); err != nil {
				return err
			}
		}
		for _, f := range []string{"store/md/a", "store/md/sub/b"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("m"), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
