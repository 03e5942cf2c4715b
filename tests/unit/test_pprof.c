// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pprof profile writer: a model of three sites (heap,
 * goroutine without a stack, thread) whose stacks are pcs of this very
 * program, written with report_pprof(), gunzipped and decoded back with
 * protobuf-c: types, values, labels, strings, functions, mappings.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>
#include "profile.pb-c.h"
#include "view.h"

typedef Perftools__Profiles__Profile pb_profile;

/* Stack frames of the heap site: real functions, so they symbolize. */
__attribute__((noinline)) void pprof_test_leaf(void)
{
	__asm__ volatile("");
}

__attribute__((noinline)) void pprof_test_caller(void)
{
	__asm__ volatile("");
}

struct fixture {
	struct lw_model model;
	struct lw_target target;
	struct lw_view view;
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lw_site *s;

	assert_non_null(f);
	assert_int_equal(model_init(&f->model, 0), 0);
	/* heap: 3 blocks, 1000 bytes, allocated by pprof_test_leaf */
	s = model_site(&f->model, 1);
	s->k.bytes = 1000;
	s->k.allocs = 4;
	s->k.frees = 1;
	/* return addresses: the calls are at pc - 1 */
	model_set_stack(s,
			(const uint64_t[]){
				(uint64_t)(uintptr_t)pprof_test_leaf + 1,
				(uint64_t)(uintptr_t)pprof_test_caller + 1 },
			2);
	/* goroutines alive before attach: no stack, a label */
	s = model_site(&f->model, 2);
	s->kind = LW_KIND_GOROUTINE;
	s->scanned = 7;
	snprintf(s->label, sizeof(s->label), "[alive at attach]");
	/* threads: counted, with their stacks' bytes */
	s = model_site(&f->model, 3);
	s->kind = LW_KIND_THREAD;
	s->scanned = 2;
	s->thread_bytes = 8192;
	model_set_stack(
		s, (const uint64_t[]){ (uint64_t)(uintptr_t)pprof_test_caller + 1 },
		1);
	f->target.pid = getpid();
	snprintf(f->target.comm, sizeof(f->target.comm), "test_pprof");
	assert_non_null(realpath("/proc/self/exe", f->target.exe));
	f->view = (struct lw_view){
		.target = &f->target,
		.model = &f->model,
		.sym = symbolizer_new(getpid()),
		.interval = 1,
		.elapsed = 2.5,
	};
	assert_non_null(f->view.sym);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-pprof-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/p.pb.gz", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	symbolizer_free(f->view.sym);
	model_free(&f->model);
	free(f);
	return 0;
}

/* The whole file, gunzipped. */
static uint8_t *gunzip_file(const char *path, size_t *len)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	gzFile gz = gzopen(path, "rb");
	int n;

	assert_non_null(out);
	assert_non_null(gz);
	*len = 0;
	while ((n = gzread(gz, out + *len, cap - *len)) > 0)
		*len += n;
	assert_true(n == 0 && *len < cap);
	gzclose(gz);
	return out;
}

static pb_profile *read_profile(const char *path)
{
	size_t len;
	uint8_t *buf = gunzip_file(path, &len);
	FILE *f = fopen(path, "rb");
	uint8_t magic[2] = { 0 };
	pb_profile *p;

	/* gzip, not a plain protobuf that gzread would pass through */
	assert_non_null(f);
	assert_int_equal(fread(magic, 1, 2, f), 2);
	fclose(f);
	assert_true(magic[0] == 0x1f && magic[1] == 0x8b);
	p = perftools__profiles__profile__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(p);
	return p;
}

static const char *str(const pb_profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

static const char *label(const pb_profile *p,
			 const Perftools__Profiles__Sample *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n_label; i++)
		if (!strcmp(str(p, s->label[i]->key), key))
			return str(p, s->label[i]->str);
	return NULL;
}

static const Perftools__Profiles__Location *location(const pb_profile *p,
						     uint64_t id)
{
	assert_true(id >= 1 && id <= p->n_location);
	assert_int_equal(p->location[id - 1]->id, id);
	return p->location[id - 1];
}

static const char *function_name(const pb_profile *p,
				 const Perftools__Profiles__Location *l)
{
	uint64_t id = l->line[l->n_line - 1]->function_id;

	assert_true(id >= 1 && id <= p->n_function);
	assert_int_equal(p->function[id - 1]->id, id);
	return str(p, p->function[id - 1]->name);
}

static const Perftools__Profiles__Sample *kind_sample(const pb_profile *p,
						      const char *kind)
{
	size_t i;

	for (i = 0; i < p->n_sample; i++)
		if (!strcmp(label(p, p->sample[i], "kind"), kind))
			return p->sample[i];
	fail_msg("no %s sample", kind);
	return NULL;
}

static void test_header(void **state)
{
	struct fixture *f = *state;
	static const char *const types[] = { "inuse_objects", "count",
					     "inuse_space",   "bytes",
					     "goroutine",     "count",
					     "thread",	      "count",
					     "fd",	      "count" };
	pb_profile *p;
	size_t i;

	assert_int_equal(report_pprof(f->path, &f->view), 0);
	p = read_profile(f->path);
	assert_string_equal(str(p, 0), "");
	assert_int_equal(p->n_sample_type, 5);
	for (i = 0; i < 5; i++) {
		assert_string_equal(str(p, p->sample_type[i]->type),
				    types[2 * i]);
		assert_string_equal(str(p, p->sample_type[i]->unit),
				    types[2 * i + 1]);
	}
	assert_string_equal(str(p, p->default_sample_type), "inuse_space");
	assert_int_equal(p->duration_nanos, 2500000000LL);
	assert_true(p->time_nanos > 1600000000LL * 1000000000LL);
	assert_true(p->n_comment >= 1);
	assert_non_null(strstr(str(p, p->comment[0]), "leakwatch"));
	/* strings are not repeated */
	for (i = 1; i < p->n_string_table; i++)
		for (size_t j = i + 1; j < p->n_string_table; j++)
			assert_string_not_equal(p->string_table[i],
						p->string_table[j]);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

static void test_samples(void **state)
{
	struct fixture *f = *state;
	const Perftools__Profiles__Sample *s;
	pb_profile *p;

	assert_int_equal(report_pprof(f->path, &f->view), 0);
	p = read_profile(f->path);
	assert_int_equal(p->n_sample, 3);
	s = kind_sample(p, "heap");
	assert_int_equal(s->n_value, 5);
	assert_int_equal(s->value[0], 3);
	assert_int_equal(s->value[1], 1000);
	assert_true(s->value[2] == 0 && s->value[3] == 0);
	assert_string_equal(label(p, s, "source"), "malloc");
	assert_string_equal(label(p, s, "suspect"), "false");
	assert_int_equal(s->n_location_id, 2);
	assert_string_equal(function_name(p, location(p, s->location_id[0])),
			    "pprof_test_leaf");
	assert_string_equal(function_name(p, location(p, s->location_id[1])),
			    "pprof_test_caller");
	assert_int_equal(location(p, s->location_id[0])->address,
			 (uint64_t)(uintptr_t)pprof_test_leaf + 1);

	s = kind_sample(p, "goroutine");
	assert_true(s->value[0] == 0 && s->value[1] == 0);
	assert_true(s->value[2] == 7 && s->value[3] == 0);
	assert_string_equal(label(p, s, "label"), "[alive at attach]");
	assert_int_equal(s->n_location_id, 1);
	assert_string_equal(function_name(p, location(p, s->location_id[0])),
			    "[alive at attach]");

	s = kind_sample(p, "thread");
	assert_true(s->value[2] == 0 && s->value[3] == 2 && s->value[4] == 0);
	assert_int_equal(s->n_location_id, 1);
	/* the thread's frame is the heap site's caller frame: one location */
	assert_int_equal(s->location_id[0],
			 kind_sample(p, "heap")->location_id[1]);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Our own executable is a mapping, with the build ID the linker gave it. */
static void test_mapping(void **state)
{
	struct fixture *f = *state;
	const Perftools__Profiles__Location *l;
	const Perftools__Profiles__Mapping *m;
	pb_profile *p;

	assert_int_equal(report_pprof(f->path, &f->view), 0);
	p = read_profile(f->path);
	l = location(p, kind_sample(p, "heap")->location_id[0]);
	assert_true(l->mapping_id >= 1 && l->mapping_id <= p->n_mapping);
	m = p->mapping[l->mapping_id - 1];
	assert_int_equal(m->id, l->mapping_id);
	assert_true(m->memory_start < l->address &&
		    l->address <= m->memory_limit);
	assert_string_equal(str(p, m->filename), f->target.exe);
	/* SHA-1 build IDs: 40 hex digits */
	assert_int_equal(strspn(str(p, m->build_id), "0123456789abcdef"), 40);
	assert_true(m->has_functions && m->has_inline_frames);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Rewritten in place: the temporary file is gone, "-" is refused. */
static void test_replace(void **state)
{
	struct fixture *f = *state;
	char tmp[160];

	assert_int_equal(report_pprof(f->path, &f->view), 0);
	assert_int_equal(report_pprof(f->path, &f->view), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(report_pprof("-", &f->view), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
