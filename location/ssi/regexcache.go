package ssi

import (
	"sync"

	"github.com/gonginx/gonginx/rewrite"
)

// The regexes of "if" come from documents, which are served again and
// again: compiled ones are kept, a bounded number, for every filter.
const regexCacheSize = 256

var regexCache struct {
	sync.Mutex
	m map[string]*rewrite.Regex
}

// compileRegex compiles pattern, or finds it compiled before. A pattern
// that fails is compiled (and its error logged) each time, as nginx does.
func compileRegex(pattern []byte) (*rewrite.Regex, error) {
	regexCache.Lock()
	rx := regexCache.m[string(pattern)]
	regexCache.Unlock()
	if rx != nil {
		return rx, nil
	}
	rx, err := rewrite.CompileRegex(string(pattern))
	if err != nil {
		return nil, err
	}
	regexCache.Lock()
	if len(regexCache.m) >= regexCacheSize || regexCache.m == nil {
		// Full: start again rather than track use; documents that
		// need more patterns than this compile them as nginx does.
		regexCache.m = make(map[string]*rewrite.Regex, regexCacheSize)
	}
	regexCache.m[string(pattern)] = rx
	regexCache.Unlock()
	return rx, nil
}
