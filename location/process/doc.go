// Package process is nginx's process model for gonginx: a master process
// that holds the listening sockets and log files, handles the signals and
// supervises worker processes, and the worker side of it.
//
// Go cannot fork, so a worker is the same binary started again with the
// master's descriptors as inherited files (fd 3 is a control socket to the
// master, fd 4 on are the files a Spec names) and a description of them in
// the environment. The worker loads the configuration itself while it is
// still root (certificates and keys are often readable by root only), then
// drops to the "user" of the configuration before it accepts a connection,
// and reports readiness on the control socket. The master replaces the
// previous generation of workers only when every new worker is ready, so a
// configuration that fails anywhere changes nothing.
//
// The package knows no configuration: cmd/gonginx loads it, binds the
// sockets, opens the logs and passes them in a Spec. Entry points:
// Master.Run (the master's cycle), Inherit (a worker's descriptors),
// ResolveUser/Identity.Drop (nginx's "user"), Detach ("daemon on").
package process
