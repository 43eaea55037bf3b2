package nginxconf

import "testing"

func TestMapPath(t *testing.T) {
	maps := []PathMapping{{From: "/etc/nginx", To: "/repo/nginx"}, {From: "/etc/nginx/sites", To: "/repo/sites"}}
	tests := []struct{ in, to, back string }{
		{"/etc/nginx/nginx.conf", "/repo/nginx/nginx.conf", "/etc/nginx/nginx.conf"},
		{"/etc/nginx", "/repo/nginx", "/etc/nginx"},
		{"/etc/nginx/sites/a.conf", "/repo/sites/a.conf", "/etc/nginx/sites/a.conf"},
		{"/etc/nginxx/a", "/etc/nginxx/a", "/etc/nginxx/a"},
		{"/var/log/x", "/var/log/x", "/var/log/x"},
	}
	for _, tt := range tests {
		if got := mapPath(maps, tt.in, false); got != tt.to {
			t.Errorf("map %q = %q, want %q", tt.in, got, tt.to)
		}
		if got := mapPath(maps, tt.to, true); got != tt.back {
			t.Errorf("back %q = %q, want %q", tt.to, got, tt.back)
		}
	}
}
