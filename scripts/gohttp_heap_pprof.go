//go:build withpprof

// gohttp_heap built with -tags withpprof: importing net/http/pprof (its
// handlers are registered on http.DefaultServeMux, which the server does
// not serve) keeps the runtime's memory profile on, at the default
// runtime.MemProfileRate.
package main

import _ "net/http/pprof"
