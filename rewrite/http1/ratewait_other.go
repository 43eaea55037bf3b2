//go:build !linux

package http1

import "time"

// rateSleep waits d before a rate-limited write.
func (c *Conn) rateSleep(d time.Duration) bool {
	time.Sleep(d)
	return true
}
