package difftest

// atOnce runs nginx's side and gonginx's at the same time (the same
// load and moments on both, and half the wait) and returns both results.
func atOnce[T any](nginx, gonginx func() T) (want, got T) {
	done := make(chan struct{})
	go func() { got = gonginx(); close(done) }()
	want = nginx()
	<-done
	return want, got
}
