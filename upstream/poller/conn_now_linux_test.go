package poller

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestConnNow: ReadNow and WriteNow never wait: EAGAIN when there is
// nothing, the bytes when there are, the end; they fail as Read and
// Write under a past deadline and once closed.
func TestConnNow(t *testing.T) {
	c, client := acceptPair(t)
	buf := make([]byte, 16)
	// result is one call's outcome in words.
	result := func(n int, err error) string {
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return "EAGAIN"
		case errors.Is(err, os.ErrDeadlineExceeded):
			return "deadline"
		case errors.Is(err, net.ErrClosed):
			return "closed"
		case err != nil:
			return err.Error()
		case n == 0:
			return "end"
		}
		return string(buf[:n])
	}
	// readArrived reads once the bytes sent are there (a bounded wait for
	// loopback's delivery, not a timing assertion).
	readArrived := func() string {
		for i := 0; ; i++ {
			n, err := c.ReadNow(buf)
			if !errors.Is(err, syscall.EAGAIN) || i == 500 {
				return result(n, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	var got []string
	got = append(got, result(c.ReadNow(buf)))
	if !c.hasFlag(flagRDrained) {
		got = append(got, "EAGAIN not recorded as drained")
	}
	client.Write([]byte("hi"))
	got = append(got, readArrived())
	if !c.hasFlag(flagRDrained) {
		got = append(got, "a short read not recorded as drained")
	}
	if n, err := c.WriteNow([]byte("yo")); err != nil || n != 2 {
		got = append(got, result(n, err))
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, _ := client.Read(buf[8:])
	got = append(got, "client read "+string(buf[8:8+m]))
	c.SetReadDeadline(time.Unix(1, 0))
	got = append(got, result(c.ReadNow(buf)))
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Unix(1, 0))
	got = append(got, result(c.WriteNow([]byte("x"))))
	c.SetWriteDeadline(time.Time{})
	client.Close()
	got = append(got, readArrived())
	c.Close()
	got = append(got, result(c.ReadNow(buf)), result(c.WriteNow([]byte("x"))))
	want := []string{"EAGAIN", "hi", "client read yo", "deadline", "deadline", "end", "closed", "closed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
