//go:build race

package auth

// raceEnabled: the race detector makes Debian's default yescrypt cost
// take seconds; the differential test TestServeAuthBasic checks it in
// the uninstrumented binary against nginx.
const raceEnabled = true
