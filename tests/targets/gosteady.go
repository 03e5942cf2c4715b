// Goroutines and memory that come and go, and never grow: the Go process
// a system-wide run must never call a suspect.
//
//	gosteady [-t seconds]
//
// Prints "ready", then once a second "goroutines N".
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

var (
	mu   sync.Mutex
	sink []byte
)

func main() {
	secs := flag.Float64("t", 0, "exit after this many seconds")
	flag.Parse()
	if path := os.Getenv("LW_TEST_PIDFILE"); path != "" {
		os.WriteFile(path, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644)
	}
	fmt.Println("ready")
	start := time.Now()
	last := start
	for *secs == 0 || time.Since(start).Seconds() < *secs {
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(n int) { // each one exits: churn
				defer wg.Done()
				b := make([]byte, 256*n)
				mu.Lock()
				sink = b
				mu.Unlock()
			}(i)
		}
		wg.Wait()
		time.Sleep(20 * time.Millisecond)
		if time.Since(last) >= time.Second {
			last = time.Now()
			fmt.Printf("goroutines %d\n", runtime.NumGoroutine())
		}
	}
}
