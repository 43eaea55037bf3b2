package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
)

// timeoutAs is an error that answers errors.As for a net.Error itself.
type timeoutAs struct{}

func (timeoutAs) Error() string { return "as" }
func (timeoutAs) As(target any) bool {
	if p, ok := target.(*net.Error); ok {
		*p = &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
		return true
	}
	return false
}

// isTimeout answers as errors.As(err, &ne) && ne.Timeout() for errors of
// every shape (wrapped, joined, with an As method), and allocates nothing
// for an error that is no net.Error: a response that ends at the
// backend's close asks it of the read's io.EOF.
func TestIsTimeout(t *testing.T) {
	deadline := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	errs := []error{
		nil, io.EOF, errors.New("x"), deadline, reset, os.ErrDeadlineExceeded,
		fmt.Errorf("wrapped: %w", deadline), fmt.Errorf("wrapped: %w", reset),
		errors.Join(io.EOF, deadline), errors.Join(reset, deadline), fmt.Errorf("%w and %w", io.EOF, deadline),
		timeoutAs{}, fmt.Errorf("wrapped: %w", timeoutAs{}), context.DeadlineExceeded,
	}
	for _, err := range errs {
		var ne net.Error
		want := errors.As(err, &ne) && ne.Timeout()
		if got := isTimeout(err); got != want {
			t.Errorf("isTimeout(%v) = %v, want %v", err, got, want)
		}
	}
	for _, err := range []error{io.EOF, reset, deadline, fmt.Errorf("wrapped: %w", io.EOF)} {
		if n := testing.AllocsPerRun(100, func() { isTimeout(err) }); n != 0 {
			t.Errorf("isTimeout(%v): %v allocations, want 0", err, n)
		}
	}
}
