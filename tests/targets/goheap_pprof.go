//go:build withpprof

// goheap built with -tags withpprof: importing net/http/pprof (no server is
// started) and runtime/pprof keeps the runtime's memory profile on, at the
// default runtime.MemProfileRate.
package main

import (
	"bytes"
	_ "net/http/pprof"
	"runtime/pprof"
)

const withPprof = true

// The heap profile, debug=1 text, as of the last completed GC cycle.
func heapProfile() []byte {
	var b bytes.Buffer
	pprof.Lookup("heap").WriteTo(&b, 1)
	return b.Bytes()
}
