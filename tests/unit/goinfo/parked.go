// Test target for tests/unit/test_goinfo.c: parks goroutines in known
// ways, prints what it started, then waits to be scanned and killed.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

const (
	nSend   = 50
	nSelect = 30
	nSleep  = 20
)

// blockedSend parks forever: nobody ever receives from ch.
//
//go:noinline
func blockedSend(ch chan int) {
	ch <- 1
}

//go:noinline
func blockedSelect() {
	select {}
}

// blockedNilRecv parks forever: a nil channel never becomes ready.
//
//go:noinline
func blockedNilRecv() {
	var c chan int
	<-c
}

//go:noinline
func blockedSleep() {
	time.Sleep(time.Hour)
}

// startSenders holds the go statement whose pc every sender's gopc points at.
//
//go:noinline
func startSenders(ch chan int) {
	for i := 0; i < nSend; i++ {
		go blockedSend(ch)
	}
}

//go:noinline
func startOthers() {
	for i := 0; i < nSelect; i++ {
		go blockedSelect()
	}
	for i := 0; i < nSleep; i++ {
		go blockedSleep()
	}
}

func main() {
	// An optional count of extra goroutines, for the scan-speed test.
	nNil := 0
	if len(os.Args) > 1 {
		nNil, _ = strconv.Atoi(os.Args[1])
	}
	ch := make(chan int)
	startSenders(ch)
	startOthers()
	for i := 0; i < nNil; i++ {
		go blockedNilRecv()
	}
	// Say ready from another goroutine, once main itself has parked on a
	// channel receive nobody completes: the scanner then finds main in
	// "chan receive", not running. The reporter then exits (dead).
	done := make(chan struct{})
	go func() {
		// Let every goroutine reach its parking point first.
		time.Sleep(200 * time.Millisecond)
		fmt.Printf("ready pid=%d send=%d select=%d sleep=%d nilrecv=%d\n",
			os.Getpid(), nSend, nSelect, nSleep, nNil)
	}()
	<-done
}
