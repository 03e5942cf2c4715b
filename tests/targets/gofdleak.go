// Descriptor leaks through net/http: responses whose bodies are never
// closed. One binary, two roles: a tiny HTTP server, and a client that
// asks it `rate` times a second.
//
//	gofdleak -serve ADDR [-idle DURATION] [-size BYTES] [-t seconds]
//	gofdleak -url URL [-rate N] [-close] [-default] [-t seconds]
//
// The server (-serve 127.0.0.1:0 picks a port) answers every request with
// a body of -size bytes (4096), keep-alive on, and closes a connection
// that stayed idle for -idle (1s; 0: never). It prints "listening
// HOST:PORT", "ready", then once a second "conns open N closed M".
//
// The client never closes a response body and never reads it to EOF (the
// classic leak; reading to EOF alone would give the connection back):
// the transport cannot reuse a connection whose body is still open, so
// every request dials a new one, and each connection keeps its socket
// and the transport's readLoop and writeLoop goroutines for good. The
// leaked sockets never read again: once the server closes them (after
// -idle) they sit in CLOSE_WAIT; those younger than -idle are still
// ESTABLISHED. With -close (the fixed twin) it reads every body to EOF
// and closes it: one connection, reused, is all it ever holds.
//
// By default the client has its own Transport whose DialContext is
// main.dial (marker LEAK:dial: the line every leaked socket is dialed
// from, in the transport's dialing goroutine); -default uses http.Get and
// http.DefaultTransport instead (no frame of main in the socket's stack).
// Every request is on a line with a marker comment: LEAK:get (own
// client), LEAK:get-default (-default), FIXED:get (-close).
//
// Requests go out on absolute deadlines (start + n/rate). The client
// prints "ready", then once a second "requests N errors E unclosed U
// fds F goroutines G": requests made, failed, bodies left open, entries
// of /proc/self/fd, runtime.NumGoroutine().
//
// Both write their pid to $LW_TEST_PIDFILE if set.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

var (
	dialer = &net.Dialer{Timeout: 5 * time.Second}
	client = &http.Client{Transport: &http.Transport{DialContext: dial}}

	// Bodies left open: the program's own count of leaked connections.
	unclosed []*http.Response
)

// Every connection of the own client is dialed here.
//
//go:noinline
func dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialer.DialContext(ctx, network, addr) // LEAK:dial
}

// A request whose body is never closed (nor read).
//
//go:noinline
func leakRequest(url string) error {
	resp, err := client.Get(url) // LEAK:get
	if err != nil {
		return err
	}
	unclosed = append(unclosed, resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// The same through http.Get and the default transport.
//
//go:noinline
func leakRequestDefault(url string) error {
	resp, err := http.Get(url) // LEAK:get-default
	if err != nil {
		return err
	}
	unclosed = append(unclosed, resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// The fixed twin: the body read to EOF and closed.
//
//go:noinline
func fixedRequest(url string) error {
	resp, err := client.Get(url) // FIXED:get
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func openFds() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory's own descriptor
}

func writePidfile() {
	if path := os.Getenv("LW_TEST_PIDFILE"); path != "" {
		os.WriteFile(path, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644)
	}
}

func serve(addr string, idle time.Duration, size int, secs float64) {
	body := []byte(strings.Repeat("x", size))
	var open, closed atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body)
		}),
		IdleTimeout: idle,
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
				closed.Add(1)
			}
		},
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	go func() {
		err := srv.Serve(ln)
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}()
	writePidfile()
	fmt.Println("listening", ln.Addr())
	fmt.Println("ready")
	start := time.Now()
	for n := 1; ; n++ {
		time.Sleep(time.Until(start.Add(time.Duration(n) * time.Second)))
		fmt.Printf("conns open %d closed %d\n", open.Load(), closed.Load())
		if secs > 0 && time.Since(start).Seconds() >= secs {
			os.Exit(0)
		}
	}
}

func main() {
	addr := flag.String("serve", "", "serve HTTP on this address (HOST:PORT)")
	idle := flag.Duration("idle", time.Second, "server: close connections idle this long (0: never)")
	size := flag.Int("size", 4096, "server: response body bytes")
	url := flag.String("url", "", "client: ask this URL")
	rate := flag.Float64("rate", 10, "client: requests per second")
	fixed := flag.Bool("close", false, "client: read and close every body (the fixed twin)")
	useDefault := flag.Bool("default", false, "client: http.Get and http.DefaultTransport")
	secs := flag.Float64("t", 0, "exit after this many seconds (0: never)")
	flag.Parse()
	if *addr != "" {
		serve(*addr, *idle, *size, *secs)
		return
	}
	if *url == "" || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "usage: gofdleak -serve ADDR | -url URL [-rate N] [-close] [-default]")
		os.Exit(2)
	}
	request := leakRequest
	if *fixed {
		request = fixedRequest
	} else if *useDefault {
		request = leakRequestDefault
	}
	writePidfile()
	fmt.Println("ready")
	period := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	report := start.Add(time.Second)
	requests, errors := 0, 0
	for n := 0; ; n++ {
		next := start.Add(time.Duration(n) * period)
		for !next.Before(report) {
			time.Sleep(time.Until(report))
			fmt.Printf("requests %d errors %d unclosed %d fds %d goroutines %d\n",
				requests, errors, len(unclosed), openFds(), runtime.NumGoroutine())
			report = report.Add(time.Second)
			if *secs > 0 && time.Since(start).Seconds() >= *secs {
				os.Exit(0)
			}
		}
		time.Sleep(time.Until(next))
		requests++
		if err := request(*url); err != nil {
			errors++
			fmt.Fprintln(os.Stderr, "request:", err)
		}
	}
}
