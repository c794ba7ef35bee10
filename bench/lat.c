/*
 * lat.c - latency samples: collected per thread without locks, merged, then
 * sorted for their percentiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bn.h"

int bn_lat_add(struct bn_lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		uint64_t *more = realloc(l->ns, cap * sizeof(*more));

		if (!more)
			return -1;
		l->ns = more;
		l->cap = cap;
	}
	l->ns[l->n++] = ns;
	return 0;
}

int bn_lat_reserve(struct bn_lat *l, size_t n)
{
	uint64_t *more;

	if (n <= l->cap)
		return 0;
	more = realloc(l->ns, n * sizeof(*more));
	if (!more)
		return -1;
	l->ns = more;
	l->cap = n;
	return 0;
}

int bn_lat_merge(struct bn_lat *into, const struct bn_lat *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (bn_lat_add(into, from->ns[i]) != 0)
			return -1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t bn_lat_quantile(struct bn_lat *l, double q)
{
	size_t i;

	if (l->n == 0)
		return 0;
	qsort(l->ns, l->n, sizeof(*l->ns), cmp_u64);
	/* nearest rank: the smallest sample with at least q of them at or below */
	i = (size_t)(q * (double)l->n + 0.999999);
	if (i > 0)
		i--;
	if (i >= l->n)
		i = l->n - 1;
	return l->ns[i];
}

double bn_lat_mean(const struct bn_lat *l)
{
	double sum = 0;

	if (l->n == 0)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		sum += (double)l->ns[i];
	return sum / (double)l->n;
}

void bn_lat_free(struct bn_lat *l)
{
	free(l->ns);
	memset(l, 0, sizeof(*l));
}

int bn_lat_write(struct bn_lat *l, const char *path, size_t max_lines)
{
	size_t step, i;
	FILE *f;

	if (l->n == 0 || max_lines == 0)
		return -1;
	bn_lat_quantile(l, 0.5); /* sorts */
	f = fopen(path, "w");
	if (!f)
		return -1;
	step = l->n > max_lines ? l->n / max_lines : 1;
	fprintf(f, "# latency_ns fraction_at_or_below (%zu samples)\n", l->n);
	for (i = 0; i < l->n; i += step)
		fprintf(f, "%llu %.6f\n", (unsigned long long)l->ns[i], (double)(i + 1) / (double)l->n);
	fprintf(f, "%llu 1\n", (unsigned long long)l->ns[l->n - 1]);
	return fclose(f) == 0 ? 0 : -1;
}
