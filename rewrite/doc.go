// Package rewrite owns nginx's variables, complex values, regexes and the
// rewrite module (rewrite, return, set, if, break) plus map.
//
// Everything is compiled once, at config load, by a Compiler; per request a
// State (pooled with the connection) carries the request, the last regex
// captures and the values of "set" variables, and evaluation appends into
// caller-provided buffers without allocating.
//
// It does not own routing or I/O: location runs Programs, upstream
// evaluates Complex values for proxy_pass and proxy_set_header.
package rewrite
