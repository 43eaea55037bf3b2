package nginxconf

import "strings"

// Check runs the checks nginx makes after the whole configuration is read
// and that need no module meaning. nginx makes them after it has printed
// "the configuration file X syntax is ok", so -t prints that line first
// and then Check's error (as for module compile errors). Today that is the events block a full
// nginx.conf must have; a fragment is wrapped in events{} by the loader.
// Checks that need meaning (listen addresses, locations, regexes,
// variables, certificates, upstreams) belong to the packages that compile
// those directives.
func Check(cfg *Config) error {
	hasEvents := false
	for _, d := range cfg.Tree {
		if d.Name == "events" {
			hasEvents = true
		}
	}
	if !hasEvents {
		// nginx prints this one without a place: it is found after parsing.
		return &Error{Msg: `no "events" section in configuration`}
	}
	if err := checkThreadPools(cfg.Tree); err != nil {
		return err
	}
	if err := checkFiles(cfg); err != nil {
		return err
	}
	return checkZones(cfg.Tree)
}

// checkZones finds shared memory zones that are used but never given a
// size: nginx adds a zone when it is first named, by a declaration or a
// use, and after parsing reports the first one still of size zero.
func checkZones(tree []*Directive) error {
	var order []string
	sized := map[string]bool{}
	mention := func(name string, hasSize bool) {
		if _, seen := sized[name]; !seen {
			order = append(order, name)
			sized[name] = false
		}
		if hasSize {
			sized[name] = true
		}
	}
	var walk func([]*Directive)
	walk = func(block []*Directive) {
		for _, d := range block {
			switch d.Name {
			case "limit_req_zone", "limit_conn_zone", "proxy_cache_path", "fastcgi_cache_path",
				"scgi_cache_path", "uwsgi_cache_path":
				for _, a := range d.Args {
					v, ok := strings.CutPrefix(a, "zone=")
					if !ok {
						v, ok = strings.CutPrefix(a, "keys_zone=")
					}
					if name, _, hasSize := strings.Cut(v, ":"); ok && name != "" {
						mention(name, hasSize)
					}
				}
			case "limit_req":
				for _, a := range d.Args {
					if name, ok := strings.CutPrefix(a, "zone="); ok {
						mention(name, false)
					}
				}
			case "zone": // upstream{}: "zone NAME [SIZE]"
				if len(d.Args) > 0 {
					mention(d.Args[0], len(d.Args) > 1)
				}
			case "limit_conn":
				if len(d.Args) > 0 {
					mention(d.Args[0], false)
				}
			case "proxy_cache", "fastcgi_cache", "scgi_cache", "uwsgi_cache":
				// A cache named by variables is looked up per request.
				if len(d.Args) > 0 && d.Args[0] != "off" && !strings.Contains(d.Args[0], "$") {
					mention(d.Args[0], false)
				}
			case "ssl_session_cache":
				for _, a := range d.Args {
					if rest, ok := strings.CutPrefix(a, "shared:"); ok {
						name, _, hasSize := strings.Cut(rest, ":")
						mention(name, hasSize)
					}
				}
			}
			// A types or map line is data, whatever its first word.
			if d.Block != nil && !dataBlocks[d.Name] {
				walk(d.Block)
			}
		}
	}
	walk(tree)
	for _, name := range order {
		if !sized[name] {
			return &Error{Msg: `zero size shared memory zone "` + name + `"`}
		}
	}
	return nil
}

// checkThreadPools makes ngx_thread_pool_init_conf's check: a pool named
// by "aio threads=NAME" must be declared by thread_pool ("default" is
// always there).
func checkThreadPools(tree []*Directive) error {
	pools := map[string]bool{"default": true}
	for _, d := range tree {
		if d.Name == "thread_pool" && len(d.Args) > 0 {
			pools[d.Args[0]] = true
		}
	}
	var bad *Directive
	var walk func([]*Directive)
	walk = func(block []*Directive) {
		for _, d := range block {
			if bad != nil {
				return
			}
			if d.Name == "aio" && len(d.Args) == 1 {
				if name, ok := strings.CutPrefix(d.Args[0], "threads="); ok && !strings.Contains(name, "$") && !pools[name] {
					bad = d
					return
				}
			}
			if !dataBlocks[d.Name] {
				walk(d.Block)
			}
		}
	}
	walk(tree)
	if bad != nil {
		return &Error{Msg: `unknown thread pool "` + bad.Args[0][len("threads="):] + `"`, File: bad.File, Line: bad.EndLine}
	}
	return nil
}
