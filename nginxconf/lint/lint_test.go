package lint

import (
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

// found is a finding without its wording: the rule and the line.
type found struct {
	Rule string
	Line int
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want []found
	}{
		{"clean", `http {
    add_header X-Frame-Options DENY;
    server {
        listen 80 default_server;
        server_name _;
        ssl_protocols TLSv1.2 TLSv1.3;
        location /img/ { alias /data/img/; }
        location /static { alias /data/static; }
        location ~ ^/u/([a-z]+)$ { return 301 https://$host/users/$1; }
        location /r { return 302 https://example.com$request_uri; }
        location /p { proxy_set_header Host $host; proxy_pass http://b; }
        location /i { if ($arg_x) { return 404; } }
        location /o { if ($http_origin ~* ^https://example\.com$) { return 204; } }
    }
    server {
        listen 80;
        server_name example.com;
    }
}`, nil},
		{"alias traversal", `http { server { location /img {
    alias /data/img/;
} } }`, []found{{"alias-traversal", 2}}},
		{"alias traversal ^~", `http { server { location ^~ /img { alias /data/img/; } } }`, []found{{"alias-traversal", 1}}},
		{"add_header dropped", `http {
    add_header X-Frame-Options DENY;
    add_header X-Content-Type-Options nosniff;
    server {
        location / {
            add_header Cache-Control no-cache;
            add_header X-Frame-Options DENY;
        }
        location /ok { }
    }
}`, []found{{"add-header-dropped", 6}}},
		{"header injection $uri", `http { server {
    location / { return 302 https://example.com$uri; }
    location /h { add_header X-Path $document_uri; }
} }`, []found{{"header-injection", 2}, {"header-injection", 3}}},
		{"header injection capture", `http { server {
    location ~ /a/([^/]+)$ { return 301 https://x.test/$1; }
    location ~ /b/(.+)$ { return 301 https://x.test/$1; }
    location ~ /c/([^/\r\n]+)$ { return 301 https://x.test/$1; }
    rewrite ^/d/(\S+)\s(.*)$ https://x.test/$1 permanent;
} }`, []found{{"header-injection", 2}, {"header-injection", 5}}},
		{"host spoofing", `http { server {
    location / { proxy_set_header Host $http_host; proxy_pass http://b; }
    location /r { return 301 https://$http_host/x; }
} }`, []found{{"host-spoofing", 2}, {"host-spoofing", 3}}},
		{"if is evil", `http { server {
    if ($bad) { set $x 1; }
    location / {
        if ($arg_a) {
            rewrite ^ /b last;
        }
        if ($arg_b) {
            proxy_pass http://b;
        }
    }
} }`, []found{{"if-is-evil", 7}}},
		{"unanchored origin", `http {
    map $http_origin $cors {
        ~example.com 1;
        ~^https://good\.test$ 1;
    }
    server {
        valid_referers none ~\.example\.org/;
        location / {
            if ($http_origin ~* "https://example\.com") { return 403; }
        }
    }
}`, []found{{"unanchored-regex", 3}, {"unanchored-regex", 7}, {"unanchored-regex", 9}}},
		{"default server", `http {
    server { listen 80; server_name a.test; }
    server { listen 80; server_name _; }
    server { listen 8080 default_server; }
    server { listen 8080; server_name _; }
}`, []found{{"default-server", 2}, {"server-name-underscore", 3}}},
		{"weak tls", `http { ssl_protocols TLSv1 TLSv1.1 TLSv1.2; }`, []found{{"weak-tls", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := nginxconf.Parse("t.conf", []byte(tt.conf), nginxconf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []found
			for _, fd := range Check(f.Tree) {
				if fd.Message == "" || fd.Fix == "" || fd.File != "t.conf" {
					t.Errorf("finding without message, fix or file: %+v", fd)
				}
				got = append(got, found{fd.Rule, fd.Line})
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("-want +got:\n%s", d)
			}
		})
	}
}

// FuzzCheck: any configuration the parser takes is linted without a
// panic, and every finding has a place.
func FuzzCheck(f *testing.F) {
	f.Add("http { add_header a b; server { listen 80; location /x { alias /y/; if ($http_origin ~ a.b) { add_header c d; } } } }")
	f.Add("http { map $http_origin $o { ~a.b 1; } server { location ~ ([^/]+) { return 301 $1; } } }")
	f.Fuzz(func(t *testing.T, conf string) {
		p, err := nginxconf.Parse("f.conf", []byte(conf), nginxconf.Options{})
		if err != nil {
			return
		}
		for _, fd := range Check(p.Tree) {
			if fd.File != "f.conf" || fd.Line < 1 {
				t.Fatalf("finding without a place: %+v", fd)
			}
		}
	})
}
