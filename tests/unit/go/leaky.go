// Test program for tests/unit/test_gopclntab.c: it prints program counters
// of its own code together with the frames the Go runtime itself reports
// for them (runtime.CallersFrames expands inlining), so the C test has an
// oracle that does not depend on the decoder under test.
//
// Output, one record per line:
//   ENTRY <func> <hex entry>       runtime entry of a function
//   G <label> <hex pc>             a return address captured by Callers
//   F <func> <file base> <line>    its frames, innermost first; the last
//   E                              one is the physical function
// With the argument "hold" it then waits until stdin is closed.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
)

var out strings.Builder
var mu sync.Mutex

// report prints every captured pc that starts a physical frame, with the
// logical frames the runtime expands it to.
func report(label string, pcs []uintptr) {
	mu.Lock()
	defer mu.Unlock()
	frames := runtime.CallersFrames(pcs)
	start := true
	for i := 0; ; i++ {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, "runtime.") {
			break
		}
		if start {
			fmt.Fprintf(&out, "G %s %x\n", label, pcs[i])
		}
		fmt.Fprintf(&out, "F %s %s %d\n", f.Function,
			filepath.Base(f.File), f.Line)
		start = f.Func != nil
		if start {
			fmt.Fprintf(&out, "E\n")
		}
		if !more {
			break
		}
	}
}

// inlLeaf and inlMid are small enough for the compiler to inline.
func inlLeaf(pcs []uintptr) int {
	return runtime.Callers(1, pcs)
}

func inlMid(pcs []uintptr) int {
	return inlLeaf(pcs) + 0
}

//go:noinline
func physical() {
	var pcs [16]uintptr
	n := inlMid(pcs[:])
	report("inline", pcs[:n])
}

func leakByChannel(wg *sync.WaitGroup) {
	ch := make(chan int)
	go func() {
		var pcs [16]uintptr
		n := runtime.Callers(1, pcs[:])
		report("closure", pcs[:n])
		wg.Done()
		<-ch // never sent: the goroutine leaks
	}()
}

//go:noinline
func worker(ch chan int, wg *sync.WaitGroup) {
	var pcs [16]uintptr
	n := runtime.Callers(1, pcs[:])
	report("gostmt", pcs[:n])
	wg.Done()
	<-ch
}

func entry(name string, fn interface{}) {
	pc := reflect.ValueOf(fn).Pointer()
	fmt.Fprintf(&out, "ENTRY %s %x\n", name, runtime.FuncForPC(pc).Entry())
}

func main() {
	var wg sync.WaitGroup

	entry("main.main", main)
	entry("main.physical", physical)
	physical()
	wg.Add(2)
	leakByChannel(&wg)
	go worker(make(chan int), &wg)
	wg.Wait()
	fmt.Print(out.String())
	if len(os.Args) > 1 && os.Args[1] == "hold" {
		fmt.Println("READY")
		var b [1]byte
		os.Stdin.Read(b[:])
	}
}
