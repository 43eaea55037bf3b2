// Package nginxconf turns nginx configuration files into a tree of
// directives, exactly as nginx tokenizes them, and checks that tree against
// nginx's directive table with nginx's own error messages.
//
// It owns: bytes → tokens (file:line) → directives; include with globs;
// wrapping a conf.d fragment into http{}; the directive table (contexts,
// argument counts, value kinds); the -T dump, the crossplane-style JSON dump
// and the formatter. It does not own any runtime meaning of a directive:
// location, rewrite and upstream compile the tree.
//
// Entry point: Load.
package nginxconf
