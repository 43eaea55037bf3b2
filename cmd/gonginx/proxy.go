package main

import "github.com/gonginx/gonginx/location"

// compileProxy builds proxy_pass handlers; nil until the upstream package
// is wired (locations with proxy_pass then answer 502).
var compileProxy = (location.Options{}).CompileProxy
