//go:build !withpprof

// goheap built without the withpprof tag: nothing references
// runtime.MemProfile, so the linker sets runtime.disableMemoryProfiling and
// runtime.MemProfileRate is 0 from the start.
package main

const withPprof = false

func heapProfile() []byte { return nil }
