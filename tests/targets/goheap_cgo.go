//go:build withcgo

// A C leak beside the Go ones (built with -tags withcgo, CGO_ENABLED=1):
// malloc'ed blocks kept by C, at -crate blocks per second.
package main

/*
#include <stdlib.h>

static void *kept[1 << 20];
static unsigned long nkept;

static void cgo_leak(size_t n)
{
	char *p = malloc(n); // LEAK:cmalloc

	if (p && nkept < sizeof(kept) / sizeof(kept[0])) {
		p[0] = 1;
		kept[nkept++] = p;
	}
}
*/
import "C"

import (
	"flag"
	"time"
)

var cRate = flag.Float64("crate", 100, "C blocks of 4096 bytes per second")

func init() {
	withCgo = func() {
		start := time.Now()
		made := int64(0)
		for range time.Tick(10 * time.Millisecond) {
			want := int64(time.Since(start).Seconds() * *cRate)
			for ; made < want; made++ {
				C.cgo_leak(4096)
			}
		}
	}
}
