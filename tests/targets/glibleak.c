// SPDX-License-Identifier: GPL-2.0
/*
 * glibleak: allocates through Debian's libglib (built without frame
 * pointers): g_strdup -> g_malloc -> malloc leaks, a GHashTable and
 * GString churn that frees everything again.
 *
 *	glibleak [-t SECONDS] [-q]
 */
#include "common.h"

#include <glib.h>

static GPtrArray *kept;

static __site void leak_strdup(void)
{
	char *s;

	s = g_strdup_printf("session-%u", kept->len); /* LEAK:strdup */
	g_ptr_array_add(kept, s);
}

static __site void churn_table(unsigned int tick)
{
	GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      g_free);
	unsigned int i;

	for (i = 0; i < 16; i++)
		g_hash_table_insert(t, g_strdup_printf("k%u", i + tick),
				    g_malloc0(32 + i));
	g_hash_table_destroy(t);
}

int main(int argc, char **argv)
{
	unsigned int tick, ticks = 0;
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			ticks = (unsigned int)(strtod(argv[++i], NULL) * 100);
	write_pidfile();
	/* preallocated: the array's own growth is no leak of ours */
	kept = g_ptr_array_sized_new(1 << 16);
	for (tick = 0; !ticks || tick < ticks; tick++) {
		if (tick % 5 == 0)
			leak_strdup();
		churn_table(tick);
		g_usleep(10000);
	}
	return 0;
}
