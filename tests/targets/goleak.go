// Goroutine leaks through the classic patterns, each beside a fixed twin
// whose goroutines exit. Every leaking `go` statement carries a marker
// comment (LEAK:name) so tests find its line; fixed twins carry FIXED:name.
//
//	goleak [-rate N] [-t seconds]
//
// Prints "ready", then once a second "goroutines N leaked M": the
// runtime's count, and how many goroutines each leak pattern has left.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var sink []int

// Goroutines each leak pattern has started: they never exit.
var leaked atomic.Int64

// Never closed: the consumer ranges forever.
//
//go:noinline
func leakByChannel() {
	ch := make(chan int)
	go func() { // LEAK:chan-range
		for v := range ch {
			sink = append(sink[:0], v)
		}
	}()
	ch <- 1
}

//go:noinline
func fixedByChannel() {
	ch := make(chan int)
	go func() { // FIXED:chan-range
		for v := range ch {
			sink = append(sink[:0], v)
		}
	}()
	ch <- 1
	close(ch)
}

// The context is never cancelled, and nothing else ever arrives.
//
//go:noinline
func leakBySelect(never chan int) {
	ctx, cancel := context.WithCancel(context.Background())
	_ = cancel
	go func() { // LEAK:select
		select {
		case <-ctx.Done():
		case <-never:
		}
	}()
}

//go:noinline
func fixedBySelect(never chan int) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // FIXED:select
		select {
		case <-ctx.Done():
		case <-never:
		}
	}()
	cancel()
}

// A send on a full buffered channel nobody drains.
//
//go:noinline
func leakBySend() {
	ch := make(chan int, 1)
	ch <- 0
	go func() { // LEAK:chan-send
		ch <- 1
	}()
}

//go:noinline
func fixedBySend() {
	ch := make(chan int, 1)
	ch <- 0
	go func() { // FIXED:chan-send
		ch <- 1
	}()
	<-ch
}

// A ticker loop that is never told to stop.
//
//go:noinline
func leakByTicker() {
	go func() { // LEAK:ticker
		t := time.NewTicker(time.Hour)
		for range t.C {
			sink = append(sink[:0], 1)
		}
	}()
}

//go:noinline
func fixedByTicker() {
	stop := make(chan struct{})
	go func() { // FIXED:ticker
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	}()
	close(stop)
}

// A WaitGroup whose Done never comes.
//
//go:noinline
func leakByWaitGroup() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // LEAK:waitgroup
		wg.Wait()
	}()
}

//go:noinline
func fixedByWaitGroup() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // FIXED:waitgroup
		wg.Wait()
	}()
	wg.Done()
}

// Deep recursion makes the runtime grow (copy) the goroutine's stack while
// newproc1 and goexit1 are probed.
//
//go:noinline
func deep(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%256])
}

//go:noinline
func stackChurn() {
	done := make(chan int)
	go func() { // FIXED:stack-growth
		done <- deep(2000)
	}()
	<-done
}

func main() {
	rate := flag.Int("rate", 10, "goroutines per second per pattern")
	secs := flag.Float64("t", 0, "exit after this many seconds (0: never)")
	flag.Parse()
	never := make(chan int)
	fmt.Println("ready")
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	report := time.NewTicker(time.Second)
	for {
		select {
		case <-tick.C:
			leaked.Add(1)
			leakByChannel()
			fixedByChannel()
			leakBySelect(never)
			fixedBySelect(never)
			leakBySend()
			fixedBySend()
			leakByTicker()
			fixedByTicker()
			leakByWaitGroup()
			fixedByWaitGroup()
			stackChurn()
		case <-report.C:
			fmt.Printf("goroutines %d leaked %d\n",
				runtime.NumGoroutine(), leaked.Load())
		}
		if *secs > 0 && time.Since(start).Seconds() >= *secs {
			fmt.Printf("goroutines %d\n", runtime.NumGoroutine())
			os.Exit(0)
		}
	}
}
