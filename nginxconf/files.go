package nginxconf

import (
	"os"
	"strings"
)

// This file makes the file system steps of nginx's ngx_init_cycle that
// follow the parse, in its order: for -t the pid file is opened, created
// if missing (Config.PidCheck); the temp and cache directories are
// created (ngx_create_paths: one mkdir, mode 0700, an existing one is
// fine), then the log files are opened for append, created if missing.
// nginx -t does these, so gonginx -t does too, with nginx's messages.

// tempPathDirectives name the directives whose first argument is a
// directory nginx creates.
var tempPathDirectives = map[string]bool{
	"client_body_temp_path": true, "proxy_temp_path": true, "fastcgi_temp_path": true,
	"uwsgi_temp_path": true, "scgi_temp_path": true,
	"proxy_cache_path": true, "fastcgi_cache_path": true, "uwsgi_cache_path": true, "scgi_cache_path": true,
}

// checkFiles creates the configured temp and cache paths and opens the
// configured log files, as nginx -t does.
func checkFiles(cfg *Config) error {
	var dirs, files []string
	seen := map[string]bool{}
	var walk func(block []*Directive, inHTTP bool)
	walk = func(block []*Directive, inHTTP bool) {
		for _, d := range block {
			switch {
			case tempPathDirectives[d.Name] && inHTTP && len(d.Args) > 0:
				if p := cfg.PrefixPath(d.Args[0]); !seen["d"+p] {
					seen["d"+p] = true
					dirs = append(dirs, p)
				}
			case d.Name == "error_log" && len(d.Args) > 0:
				if p, ok := logFile(cfg, d.Args[0]); ok && !seen["f"+p] {
					seen["f"+p] = true
					files = append(files, p)
				}
			case d.Name == "access_log" && inHTTP && len(d.Args) > 0 && d.Args[0] != "off":
				if p, ok := logFile(cfg, d.Args[0]); ok && !strings.Contains(d.Args[0], "$") && !seen["f"+p] {
					seen["f"+p] = true
					files = append(files, p)
				}
			}
			if d.Block != nil && !dataBlocks[d.Name] {
				walk(d.Block, inHTTP || d.Name == "http")
			}
		}
	}
	walk(cfg.Tree, false)
	if cfg.PidCheck {
		for _, d := range cfg.Tree {
			if d.Name == "pid" && len(d.Args) == 1 {
				p := cfg.PrefixPath(d.Args[0])
				f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
				if err != nil {
					return &Error{Msg: `open() "` + p + `" failed ` + errnoText(err)}
				}
				f.Close()
			}
		}
	}
	for _, p := range dirs {
		if err := os.Mkdir(p, 0o700); err != nil && !os.IsExist(err) {
			return &Error{Msg: `mkdir() "` + p + `" failed ` + errnoText(err)}
		}
	}
	cfg.Paths = dirs
	for _, p := range files {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return &Error{Msg: `open() "` + p + `" failed ` + errnoText(err)}
		}
		f.Close()
	}
	return nil
}

// logFile resolves a log destination that is a file: not stderr, not
// syslog or an in-memory buffer.
func logFile(cfg *Config, name string) (string, bool) {
	if name == "stderr" || strings.HasPrefix(name, "syslog:") || strings.HasPrefix(name, "memory:") {
		return "", false
	}
	return cfg.PrefixPath(name), true
}
