package rewrite

// knownOnly are variables of nginx 1.22's built-in modules (Debian's
// build) that no served directive gives a value: the slice module's
// $slice_range without "slice", the proxy cache's revalidation values
// without proxy_cache, gRPC's internal trailers variable. nginx knows them
// whatever the configuration, so -t accepts configurations that name them,
// and they read empty, as in nginx without those directives. Checked name
// by name against nginx -t (see TestBuiltinVariablesKnownToNginx).
var knownOnly = []string{
	"slice_range", "grpc_internal_trailers",
	// Until the TLS variables give it its value:
	"ssl_alpn_protocol",
}

// defineKnownOnly defines the names of knownOnly that no other table has.
func (c *Compiler) defineKnownOnly() {
	for _, name := range knownOnly {
		if v := c.vars[name]; v == nil || !v.defined {
			c.define(name, func(s *State, dst []byte) []byte { return dst })
		}
	}
}
