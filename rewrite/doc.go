// Package rewrite owns nginx's variables, complex values, regexes and the
// rewrite module (rewrite, return, set, if, break) plus map.
//
// Everything is compiled once, at config load, by a Compiler; per request a
// State (pooled with the connection) carries the request, the last regex
// captures and the values of "set" variables, and evaluation appends into
// caller-provided buffers without allocating.
//
// # Scratch memory
//
// One rule, because evaluations nest (a complex value names a map whose
// source names a geo whose source is a "set" variable):
//
//   - An evaluation (Complex.Eval, Var.Eval, a Getter, a map, geo or
//     split_clients variable) writes only past len(dst) of the dst it was
//     given, and returns dst with just its value appended. It may use dst's
//     tail as a stack for intermediate text (a map's key), cutting it off
//     again before it returns. It never writes to State.Buf nor keeps
//     a slice of dst.
//   - What must outlive an evaluation is copied into memory owned by one
//     State field for that purpose: a variable's slot (State.Values), the
//     captures' subject (State.CaptureSubject), the arguments set by
//     "set $args" (State.argsBuf).
//   - State.Buf belongs to Program.Run alone: the values its ops produce and
//     that live on (a rewritten URI and arguments, the text of a return or
//     redirect) are appended to it and stay valid until Reset. No other
//     code, in this package or above it, reads its length or appends to it.
//
// A State reused across requests therefore gives what a fresh one gives;
// TestReusedStateMatchesFresh and FuzzReusedState check it on generated
// configurations.
//
// It does not own routing or I/O: location runs Programs, upstream
// evaluates Complex values for proxy_pass and proxy_set_header.
package rewrite
