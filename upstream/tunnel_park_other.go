//go:build !linux

package upstream

// parkState is empty where there is no poller: every direction of a
// tunnel keeps its goroutine.
type parkState struct{}

func (d *direction) park() bool { return false }
func (d *direction) unpark()    {}
func (d *direction) runFirst()  {}
