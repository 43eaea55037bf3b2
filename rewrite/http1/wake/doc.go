// Package wake parks one goroutine until another wakes it: a binary
// semaphore whose wake, given while nobody waits, is kept for the next
// wait. The waits of the server's sockets (upstream/poller's Conns),
// the hand-over of a woken connection to a lingering goroutine
// (upstream's resume) and of an HTTP/2 stream to a waiting worker
// (rewrite/http1's Workers) use it. On Linux, outside the race
// detector, the goroutine is parked and readied by the runtime's own
// calls, as the runtime's poller parks a network read; elsewhere a
// Wake is a channel of one token. It owns nothing else.
package wake
