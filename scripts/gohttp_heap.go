// make bench's Go heap workload: an allocation-heavy HTTP server and its
// client, separate processes, timed by the client.
//
//	gohttp_heap server FILE        serves on 127.0.0.1 (a free port); writes
//	                               "PID URL" to FILE, serves until killed
//	gohttp_heap client URL C T     C keep-alive connections for T seconds
//	                               after 0.5 s of warm-up; prints requests
//	                               per second (of the T seconds) and the
//	                               requests made in all
//
// Built as is it imports neither net/http/pprof nor runtime/pprof: the
// linker disables the memory profile (runtime.MemProfileRate is 0), and
// leakwatch samples the allocator's slow paths. Built with -tags withpprof
// (gohttp_heap_pprof.go) it imports net/http/pprof: the profile is live at
// the default rate, and leakwatch reads it from outside. Build a directory
// holding the two files (bench_goheap.sh copies them): files named on go
// build's command line are built whatever their tags say.
//
// Per request the handler builds a page of 16 items (each a few strings,
// a slice, a map and a 64-191 byte blob), encodes it as ~6 KB of JSON, and
// keeps a copy of every 4th page in a bounded cache (1024 entries, ~6 MB,
// the oldest replaced): short-lived garbage plus a steady live set, as a
// real service has.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type item struct {
	ID    int               `json:"id"`
	Name  string            `json:"name"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
	Score float64           `json:"score"`
	Blob  []byte            `json:"blob"`
}

type page struct {
	User  string `json:"user"`
	Items []item `json:"items"`
	Total int    `json:"total"`
}

var cache struct {
	sync.Mutex
	pages [1024][]byte
	next  int
}

var served atomic.Uint64

func handle(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	p := page{User: "user-" + strconv.Itoa(id), Items: make([]item, 0, 16)}
	for i := 0; i < 16; i++ {
		n := id*16 + i
		it := item{
			ID:    n,
			Name:  fmt.Sprintf("item %d of %s", n, p.User),
			Tags:  strings.Fields(fmt.Sprintf("t%d t%d t%d", n%7, n%11, n%13)),
			Attrs: map[string]string{"color": "c" + strconv.Itoa(n%5), "size": strconv.Itoa(n % 40)},
			Score: float64(n%1000) / 7,
			Blob:  bytes.Repeat([]byte{byte(n)}, 64+n%128),
		}
		p.Items = append(p.Items, it)
		p.Total += n
	}
	body, err := json.Marshal(&p)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	if served.Add(1)%4 == 0 {
		keep := append([]byte(nil), body...)
		cache.Lock()
		cache.pages[cache.next] = keep
		cache.next = (cache.next + 1) % len(cache.pages)
		cache.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func server(file string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	url := "http://" + ln.Addr().String() + "/page"
	os.WriteFile(file+".tmp", []byte(fmt.Sprintf("%d %s\n", os.Getpid(), url)), 0644)
	os.Rename(file+".tmp", file)
	mux := http.NewServeMux()
	mux.HandleFunc("/page", handle)
	http.Serve(ln, mux)
}

func client(url string, conns int, secs float64) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	c := &http.Client{Transport: tr}
	get := func(id int) {
		resp, err := c.Get(url + "?id=" + strconv.Itoa(id))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fmt.Fprintln(os.Stderr, "status", resp.StatusCode)
			os.Exit(1)
		}
	}
	var n atomic.Uint64
	var stop atomic.Bool
	var wg sync.WaitGroup
	run := func(w int) {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			get(w*1000003 + i)
			n.Add(1)
		}
	}
	// warm-up: the connections are open, the server's heap has grown
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go run(w)
	}
	time.Sleep(500 * time.Millisecond)
	start, n0 := time.Now(), n.Load()
	time.Sleep(time.Duration(secs * float64(time.Second)))
	d, n1 := time.Since(start), n.Load()
	stop.Store(true)
	wg.Wait()
	fmt.Printf("%.0f %d\n", float64(n1-n0)/d.Seconds(), n.Load())
}

func main() {
	switch {
	case len(os.Args) == 3 && os.Args[1] == "server":
		server(os.Args[2])
	case len(os.Args) == 5 && os.Args[1] == "client":
		conns, _ := strconv.Atoi(os.Args[3])
		secs, _ := strconv.ParseFloat(os.Args[4], 64)
		client(os.Args[2], conns, secs)
	default:
		fmt.Fprintln(os.Stderr, "usage: gohttp_heap server FILE | client URL CONNS SECONDS")
		os.Exit(2)
	}
}
