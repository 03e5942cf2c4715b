// make bench's Go workloads, timed from inside:
//
//	gobench spawn N        goroutines started and exited, ns per goroutine
//	gobench serve FILE     a net/http JSON server on loopback; writes "PID URL"
//	                       to FILE, serves until killed
//	gobench load URL N     requests to it from 4 clients, ns per request
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func spawn(n int) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
		if i%64 == 63 {
			wg.Wait()
		}
	}
	wg.Wait()
	return time.Since(start)
}

func serve(file string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "ok": true})
	})
	url := "http://" + ln.Addr().String() + "/item"
	os.WriteFile(file+".tmp", []byte(fmt.Sprintf("%d %s\n", os.Getpid(), url)), 0644)
	os.Rename(file+".tmp", file)
	http.Serve(ln, nil)
}

func load(url string, n int) time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	get := func() {
		resp, err := client.Get(url)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/4; i++ {
				get()
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func main() {
	var d time.Duration
	var n int
	switch os.Args[1] {
	case "spawn":
		n, _ = strconv.Atoi(os.Args[2])
		d = spawn(n)
	case "serve":
		serve(os.Args[2])
		return
	case "load":
		n, _ = strconv.Atoi(os.Args[3])
		d = load(os.Args[2], n)
	}
	fmt.Printf("%.1f\n", float64(d.Nanoseconds())/float64(n))
}
