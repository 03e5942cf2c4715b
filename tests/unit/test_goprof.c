// SPDX-License-Identifier: GPL-2.0
/*
 * goprof on a synthetic runtime.mbuckets list in this very process (read
 * with process_vm_readv as a target's would be): exact snapshots, garbage
 * lists refused, and, with a thread rewriting a bucket's counts the way
 * the runtime does (under a lock we cannot take), no torn snapshot ever
 * reported as data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "goprof.h"

/* A memory bucket as the runtime lays it out on amd64, two pcs deep. */
struct fake_bucket {
	uint64_t next, allnext, typ, hash, size, nstk;
	uint64_t pcs[2];
	volatile uint64_t rec[4][4]; /* active, future[3] */
};

static struct fake_bucket b[3];
static uint64_t head;
static int64_t rate = 512 * 1024;
static struct go_heap_layout layout;

static void setup_list(void)
{
	int i;

	memset(b, 0, sizeof(b));
	for (i = 0; i < 3; i++) {
		b[i].allnext = i < 2 ? (uint64_t)(uintptr_t)&b[i + 1] : 0;
		b[i].size = 64 << i;
		b[i].nstk = 2;
		b[i].pcs[0] = 0x401000 + i;
		b[i].pcs[1] = 0x402000 + i;
		b[i].rec[0][0] = 10 + i;		    /* allocs */
		b[i].rec[0][1] = i;			    /* frees */
		b[i].rec[0][2] = (10 + i) * b[i].size; /* alloc_bytes */
		b[i].rec[0][3] = i * b[i].size;	    /* free_bytes */
		b[i].rec[2][0] = 7; /* a future cycle */
		b[i].rec[2][2] = 7 * b[i].size;
	}
	head = (uint64_t)(uintptr_t)&b[0];
	memset(&layout, 0, sizeof(layout));
	layout.mbuckets = (uint64_t)(uintptr_t)&head;
	layout.memprofilerate = (uint64_t)(uintptr_t)&rate;
	layout.bucket_hdr = offsetof(struct fake_bucket, pcs);
	layout.bk_allnext = offsetof(struct fake_bucket, allnext);
	layout.bk_size = offsetof(struct fake_bucket, size);
	layout.bk_nstk = offsetof(struct fake_bucket, nstk);
}

static void test_exact(void **state)
{
	struct goprof g;
	int64_t r = 0;
	size_t i;

	(void)state;
	setup_list();
	goprof_init(&g, getpid(), 0, &layout);
	assert_int_equal(goprof_rate(&g, &r), 0);
	assert_int_equal(r, 512 * 1024);
	assert_int_equal(goprof_snapshot(&g), 0);
	assert_int_equal(g.snap.n, 3);
	for (i = 0; i < 3; i++) {
		const struct goprof_rec *x = &g.snap.r[i];

		assert_int_equal(x->addr, (uint64_t)(uintptr_t)&b[i]);
		assert_int_equal(x->size, 64 << i);
		assert_int_equal(x->allocs, 10 + i);
		assert_int_equal(x->frees, i);
		assert_int_equal(x->alloc_bytes, (10 + i) * (64 << i));
		assert_int_equal(x->free_bytes, i * (64 << i));
		assert_int_equal(x->future[0], 7);
		assert_int_equal(x->future[2], 7 * (64 << i));
		assert_int_equal(x->nstk, 2);
		assert_int_equal(g.snap.pcs[x->pc], 0x401000 + i);
		assert_int_equal(g.snap.pcs[x->pc + 1], 0x402000 + i);
	}
	assert_int_equal(g.torn, 0);
	goprof_free(&g);
}

static void test_garbage(void **state)
{
	struct goprof g;

	(void)state;
	setup_list();
	goprof_init(&g, getpid(), 0, &layout);
	b[1].nstk = 0; /* a bucket without a stack is no bucket */
	assert_int_equal(goprof_snapshot(&g), -EBADMSG);
	b[1].nstk = 1 << 20;
	assert_int_equal(goprof_snapshot(&g), -EBADMSG);
	b[1].nstk = 2;
	b[2].allnext = (uint64_t)(uintptr_t)&b[0]; /* a loop */
	assert_int_equal(goprof_snapshot(&g), -EBADMSG);
	b[2].allnext = 0x10; /* unmapped */
	assert_int_equal(goprof_snapshot(&g), -EFAULT);
	b[2].allnext = 0;
	head = 0; /* no sampled allocation yet: an empty profile */
	assert_int_equal(goprof_snapshot(&g), 0);
	assert_int_equal(g.snap.n, 0);
	layout.mbuckets = 0;
	assert_int_equal(goprof_snapshot(&g), -ENOENT);
	goprof_free(&g);
}

static volatile int stop;

/*
 * The runtime's order under its lock: an allocation's count, then its
 * bytes; a free's likewise. Between two writes the record is torn: its
 * count and its bytes disagree. Bursts, then a pause, so that quiet
 * moments exist for a consistent snapshot.
 */
static void *writer(void *arg)
{
	volatile uint64_t *a = b[1].rec[0];
	struct timespec pause = { 0, 200 * 1000 };
	int k;

	(void)arg;
	while (!stop) {
		for (k = 0; k < 2000; k++) {
			a[0]++;
			a[2] += b[1].size;
			a[1]++;
			a[3] += b[1].size;
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void test_torn_never_reported(void **state)
{
	uint64_t live; /* b[1]: 10, or 11 between an allocation and a free */
	int ok = 0, again = 0, i, err;
	struct goprof g;
	pthread_t t;

	(void)state;
	setup_list();
	goprof_init(&g, getpid(), 0, &layout);
	stop = 0;
	assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
	for (i = 0; i < 2000; i++) {
		err = goprof_snapshot(&g);
		if (err == -EAGAIN) {
			again++;
			continue;
		}
		assert_int_equal(err, 0);
		ok++;
		/* a consistent record: its bytes are its counts' */
		live = g.snap.r[1].allocs - g.snap.r[1].frees;
		assert_true(live == 10 || live == 11);
		assert_int_equal(g.snap.r[1].alloc_bytes,
				 g.snap.r[1].allocs * b[1].size);
		assert_int_equal(g.snap.r[1].free_bytes,
				 g.snap.r[1].frees * b[1].size);
	}
	stop = 1;
	pthread_join(t, NULL);
	print_message("snapshots: %d consistent, %d given up, %llu torn "
		      "walks\n",
		      ok, again, (unsigned long long)g.torn);
	assert_true(ok > 0);
	assert_true(g.torn > 0);
	goprof_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_torn_never_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
