// make soak's load on the Go server (scripts/gohttp_heap.go): a client
// process of its own, at a set rate, until killed.
//
//	soak_load URL CONNS REQ_PER_S FILE
//
// CONNS keep-alive connections share REQ_PER_S (paced per connection, so
// the server's work per second is the same however loaded the machine is,
// as long as it keeps up). FILE is rewritten every second: "REQUESTS
// ERRORS". A failed request is counted and retried later: the soak judges
// the count at the end.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: soak_load URL CONNS REQ_PER_S FILE")
		os.Exit(2)
	}
	url, file := os.Args[1], os.Args[4]
	conns, _ := strconv.Atoi(os.Args[2])
	rate, _ := strconv.ParseFloat(os.Args[3], 64)
	if conns < 1 || rate <= 0 {
		fmt.Fprintln(os.Stderr, "soak_load: CONNS and REQ_PER_S must be positive")
		os.Exit(2)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var done, failed atomic.Uint64
	get := func(id int) {
		resp, err := c.Get(url + "?id=" + strconv.Itoa(id))
		if err != nil {
			failed.Add(1)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			failed.Add(1)
			return
		}
		done.Add(1)
	}
	period := time.Duration(float64(conns) / rate * float64(time.Second))
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			next := time.Now()
			for i := 0; ; i++ {
				get(w*1000003 + i)
				next = next.Add(period)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				} else if d < -time.Second {
					next = time.Now() // behind: no burst to catch up
				}
			}
		}(w)
	}
	for {
		time.Sleep(time.Second)
		text := fmt.Sprintf("%d %d\n", done.Load(), failed.Load())
		os.WriteFile(file+".tmp", []byte(text), 0644)
		os.Rename(file+".tmp", file)
	}
}
