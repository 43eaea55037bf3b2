package nginxconf

import "testing"

func TestCheckEvents(t *testing.T) {
	cfg := &Config{Tree: []*Directive{{Name: "http", Block: []*Directive{}}}}
	err := Check(cfg)
	if err == nil || err.Error() != `no "events" section in configuration` {
		t.Errorf("Check without events = %v", err)
	}
	cfg.Tree = append(cfg.Tree, &Directive{Name: "events", Block: []*Directive{}})
	if err := Check(cfg); err != nil {
		t.Errorf("Check with events = %v", err)
	}
}

func TestRestrictsAndTuning(t *testing.T) {
	for _, n := range []string{"allow", "deny", "auth_basic", "auth_request", "limit_req", "ssl_verify_client", "internal", "satisfy", "limit_except"} {
		if !Restricts(n) || TuningOnly(n) {
			t.Errorf("%s: Restricts=%v TuningOnly=%v", n, Restricts(n), TuningOnly(n))
		}
	}
	for _, n := range []string{"proxy_buffers", "proxy_read_timeout", "fastcgi_buffer_size", "gzip_comp_level", "worker_processes", "sendfile"} {
		if Restricts(n) || !TuningOnly(n) {
			t.Errorf("%s: Restricts=%v TuningOnly=%v", n, Restricts(n), TuningOnly(n))
		}
	}
	// Every name in either list is a real directive.
	for n := range restricting {
		if Lookup(n) == nil {
			t.Errorf("Restricts names unknown directive %q", n)
		}
	}
	for n := range tuning {
		if Lookup(n) == nil {
			t.Errorf("TuningOnly names unknown directive %q", n)
		}
	}
}
