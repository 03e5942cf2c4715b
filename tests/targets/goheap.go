// Go heap leaks as articles on Go leaks describe them, each at a known
// rate, beside churn that never grows. Every leaking allocation carries a
// marker comment (LEAK:name) so tests find its line; churn carries one
// too, with CHURN in place of LEAK.
//
//	goheap [-rate N | -bps B] [-t seconds] [-trigger PATH]
//	       [-memprofilerate N] [-churn MB/s] [-gogc N] [-crate N]
//
// Leaks, each `rate` objects per second (or B bytes per second with
// -bps), allocated by the main loop:
//
//	cache     an unbounded map used as a cache: one 4096-byte value per request
//	subslice  buf[:16] of a new 64 KiB buffer kept in a global: it pins the buffer
//	requests  a slice of *request appended per request, never trimmed
//	ticker    a closure capturing a new 2 KiB buffer, kept by a ticker never stopped
//
// Churn: -churn MB/s (default 5) of short-lived []byte of 64 B..64 KiB, a
// ring of 512 4 KiB buffers (filled before "ready", then overwritten
// round-robin), 256 KiB buffers dropped at once. -gogc sets the GC
// percent. Built with -tags withcgo (goheap_cgo.go), C code also leaks
// -crate malloc'ed 4 KiB blocks per second.
//
// Prints "sizes cache=4096 subslice=65536 requests=<class> requests_sizeof=<n>
// ticker=2048" (bytes per object, as Go's size classes round them), "rates
// cache=<objects/s> ...", then
// "ready memprofilerate=<runtime.MemProfileRate> pprof=<0|1> go=<version>",
// then once a second "held cache=<bytes> subslice=<bytes> requests=<bytes>
// ticker=<bytes>": the bytes each leak retains by its own count.
//
// With -trigger PATH it polls for PATH every 100 ms; when PATH appears it
// writes (built with -tags withpprof) its heap profile, debug=1 text, to
// PATH.heap, then the current "held ..." line to PATH.held, each to a
// temporary name renamed into place, then removes PATH. It never forces a
// garbage collection. -memprofilerate sets runtime.MemProfileRate first
// thing in main (1: every allocation is in the profile); by default the
// runtime's is left: 512 KiB with withpprof, 0 without.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
	"unsafe"
)

// Go's size classes (runtime/sizeclasses.go, the same in 1.19..1.23);
// larger objects take whole 8 KiB pages.
var sizeClasses = []uintptr{0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128,
	144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448,
	480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
	2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784,
	6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432,
	19072, 20480, 21760, 24576, 27264, 28672, 32768}

func classSize(n uintptr) uintptr {
	for _, c := range sizeClasses {
		if c >= n {
			return c
		}
	}
	return (n + 8191) &^ 8191
}

const (
	cacheSize    = 4096
	subsliceSize = 64 << 10
	tickerSize   = 2 << 10
)

type request struct {
	id   int64
	at   int64
	body [1024]byte
}

var (
	// cache: never evicted
	cache = map[int64][]byte{}
	// subslice: 16 bytes each, each pinning 64 KiB
	pinned [][]byte
	// requests: appended, never trimmed
	requests []*request
	// ticker: the closures the ticker calls, never trimmed
	tickMu  sync.Mutex
	tickFns []func() int
	tickSum int
)

//go:noinline
func leakCache(id int64) {
	v := make([]byte, cacheSize) // LEAK:cache
	v[0] = byte(id)
	cache[id] = v
}

//go:noinline
func leakSubslice(id int64) {
	buf := make([]byte, subsliceSize) // LEAK:subslice
	buf[0] = byte(id)
	pinned = append(pinned, buf[:16])
}

//go:noinline
func leakRequest(id int64) {
	r := &request{id: id, at: time.Now().UnixNano()} // LEAK:requests
	r.body[0] = byte(id)
	requests = append(requests, r)
}

//go:noinline
func leakTicker(id int64) {
	buf := make([]byte, tickerSize) // LEAK:ticker
	buf[0] = byte(id)
	fn := func() int { return int(buf[0]) }
	tickMu.Lock()
	tickFns = append(tickFns, fn)
	tickMu.Unlock()
}

// The ticker is never stopped, and calls every closure ever registered.
func tickerLoop() {
	t := time.NewTicker(100 * time.Millisecond)
	for range t.C {
		tickMu.Lock()
		for _, fn := range tickFns {
			tickSum += fn()
		}
		tickMu.Unlock()
	}
}

// A C leak, when built with cgo (goheap_cgo.go).
var withCgo func()

// Churn: written by the churn goroutine only.
var (
	garbageSink []byte
	largeSink   []byte
	ring        [512][]byte
	ringNext    int
	seed        uint32 = 1
)

func random() uint32 {
	seed = seed*1664525 + 1013904223
	return seed >> 8
}

// About `budget` bytes of garbage of mixed sizes, each dropped at once.
//
//go:noinline
func churnGarbage(budget int) {
	for budget > 0 {
		r := random()
		n := 64 << (r % 11)    // 64 B .. 64 KiB
		n += int(r>>4) % n / 2 // and between
		if n > subsliceSize {
			n = subsliceSize
		}
		b := make([]byte, n) // CHURN:garbage
		b[n-1] = byte(r)
		garbageSink = b
		budget -= n
	}
	garbageSink = nil
}

// A bounded cache: constant once every slot has been filled.
//
//go:noinline
func churnRing() {
	v := make([]byte, 4096) // CHURN:ring
	v[0] = byte(ringNext)
	ring[ringNext] = v
	ringNext = (ringNext + 1) % len(ring)
}

//go:noinline
func churnLarge() {
	b := make([]byte, 256<<10) // CHURN:large
	b[len(b)-1] = 1
	largeSink = b
	largeSink = nil
}

// 100 ticks a second: budget bytes of garbage, four ring slots (a slot
// lives 1.28 s: a sampler attached to the running program sees the ring
// fill with its samples for that long, not for seconds); every 10th tick
// a 256 KiB buffer.
func churnLoop(budget int) {
	t := time.NewTicker(10 * time.Millisecond)
	for i := 0; ; i++ {
		<-t.C
		churnGarbage(budget)
		for k := 0; k < 4; k++ {
			churnRing()
		}
		if i%10 == 0 {
			churnLarge()
		}
	}
}

var requestClass = classSize(unsafe.Sizeof(request{}))

// The bytes each leak retains, by its own count. Main goroutine only.
func held() string {
	tickMu.Lock()
	nt := len(tickFns)
	tickMu.Unlock()
	return fmt.Sprintf("held cache=%d subslice=%d requests=%d ticker=%d",
		uintptr(len(cache))*classSize(cacheSize),
		uintptr(len(pinned))*classSize(subsliceSize),
		uintptr(len(requests))*requestClass,
		uintptr(nt)*classSize(tickerSize))
}

// Readers see the whole file or none.
func writeAtomic(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func trigger(path string) {
	if _, err := os.Stat(path); err != nil {
		return
	}
	if prof := heapProfile(); prof != nil {
		if err := writeAtomic(path+".heap", prof); err != nil {
			fmt.Fprintln(os.Stderr, "goheap:", err)
		}
	}
	var gc debug.GCStats
	debug.ReadGCStats(&gc) // no stop-the-world, unlike ReadMemStats
	line := fmt.Sprintf("%s gc=%d\n", held(), gc.NumGC)
	if err := writeAtomic(path+".held", []byte(line)); err != nil {
		fmt.Fprintln(os.Stderr, "goheap:", err)
	}
	os.Remove(path)
}

func main() {
	rate := flag.Float64("rate", 20, "objects per second per leak")
	secs := flag.Float64("t", 0, "exit after this many seconds (0: never)")
	trig := flag.String("trigger", "", "write PATH.heap and PATH.held when PATH appears")
	mpr := flag.Int("memprofilerate", -1, "set runtime.MemProfileRate (-1: leave it)")
	bps := flag.Float64("bps", 0, "bytes per second per leak (0: -rate objects)")
	churn := flag.Float64("churn", 5, "MB per second of dropped garbage")
	gogc := flag.Int("gogc", -1, "debug.SetGCPercent (-1: leave it)")
	flag.Parse()
	if *mpr >= 0 {
		runtime.MemProfileRate = *mpr
	}
	if *gogc >= 0 {
		debug.SetGCPercent(*gogc)
	}
	// each leak's objects per second
	rates := [4]float64{*rate, *rate, *rate, *rate}
	if *bps > 0 {
		for i, size := range []uintptr{classSize(cacheSize),
			classSize(subsliceSize), requestClass,
			classSize(tickerSize)} {
			rates[i] = *bps / float64(size)
		}
	}
	leaks := [4]func(int64){leakCache, leakSubslice, leakRequest, leakTicker}
	var made [4]int64
	// the bounded cache is full before anyone looks: it never grows
	for range ring {
		churnRing()
	}
	if path := os.Getenv("LW_TEST_PIDFILE"); path != "" {
		os.WriteFile(path, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644)
	}
	go tickerLoop()
	go churnLoop(int(*churn * 1e6 / 100))
	if withCgo != nil {
		go withCgo()
	}

	pp := 0
	if withPprof {
		pp = 1
	}
	fmt.Printf("sizes cache=%d subslice=%d requests=%d requests_sizeof=%d ticker=%d\n",
		classSize(cacheSize), classSize(subsliceSize), requestClass,
		unsafe.Sizeof(request{}), classSize(tickerSize))
	fmt.Printf("rates cache=%g subslice=%g requests=%g ticker=%g\n",
		rates[0], rates[1], rates[2], rates[3])
	fmt.Printf("ready memprofilerate=%d pprof=%d go=%s\n",
		runtime.MemProfileRate, pp, runtime.Version())

	start := time.Now()
	var done <-chan time.Time
	if *secs > 0 {
		done = time.After(time.Duration(*secs * float64(time.Second)))
	}
	leakTick := time.NewTicker(5 * time.Millisecond).C
	poll := time.NewTicker(100 * time.Millisecond)
	report := time.NewTicker(time.Second)
	var id int64
	for {
		select {
		case <-done:
			return
		case <-leakTick:
			// exactly its rate, whatever ticks were dropped
			for i, leak := range leaks {
				want := int64(time.Since(start).Seconds() * rates[i])
				for ; made[i] < want; made[i]++ {
					leak(id)
					id++
				}
			}
		case <-poll.C:
			if *trig != "" {
				trigger(*trig)
			}
		case <-report.C:
			fmt.Println(held())
		}
	}
}
