/*
 * ab.c - two sides measured in alternating rounds (the relay's store on
 * and off): each side's median and spread, and the ratio of the two
 * within each round, whose median is the result. A ratio taken inside a
 * round compares two runs a few seconds apart, so the drift of a shared
 * machine's speed cancels out of it better than out of two medians.
 */
#include <stdio.h>

#include "bench/bn.h"

int bn_ab_b_first(size_t round)
{
	return round % 2 == 1;
}

void bn_ab_add(struct bn_ab *ab, double a, double b)
{
	if (ab->n >= BN_AB_MAX)
		return;
	ab->a[ab->n] = a;
	ab->b[ab->n] = b;
	ab->n++;
}

static void side(struct bn_json *j, const char *what, const char *name, const double *v,
		 size_t n)
{
	double s[BN_AB_MAX];
	char k[96];

	for (size_t i = 0; i < n; i++)
		s[i] = v[i];
	snprintf(k, sizeof(k), "%s_%s", what, name);
	bn_json_num(j, k, bn_median(s, n)); /* sorts s */
	snprintf(k, sizeof(k), "%s_%s_min", what, name);
	bn_json_num(j, k, n ? s[0] : 0);
	snprintf(k, sizeof(k), "%s_%s_max", what, name);
	bn_json_num(j, k, n ? s[n - 1] : 0);
}

void bn_ab_json(const struct bn_ab *ab, struct bn_json *j, const char *what, const char *a_name,
		const char *b_name)
{
	double r[BN_AB_MAX];
	char k[96];
	size_t n = 0;

	side(j, what, a_name, ab->a, ab->n);
	side(j, what, b_name, ab->b, ab->n);
	for (size_t i = 0; i < ab->n; i++)
		if (ab->b[i] > 0)
			r[n++] = ab->a[i] / ab->b[i];
	snprintf(k, sizeof(k), "%s_ratio", what);
	bn_json_num(j, k, bn_median(r, n)); /* sorts r */
	snprintf(k, sizeof(k), "%s_ratio_min", what);
	bn_json_num(j, k, n ? r[0] : 0);
	snprintf(k, sizeof(k), "%s_ratio_max", what);
	bn_json_num(j, k, n ? r[n - 1] : 0);
}

int bn_ab_store_rounds(const struct bn_opts *o, bn_ab_run_fn fn, void *arg, struct bn_ab *rate,
		       struct bn_ab *cpu, const char *what, const char *unit)
{
	struct bn_opts os = *o, on = *o;
	size_t rounds = o->rounds ? o->rounds : 3;
	int ok = 0;

	os.store = BN_STORE_SQLITE;
	on.store = BN_STORE_NONE;
	for (size_t i = 0; i < rounds; i++) {
		double ra = 0, rb = 0, ca = 0, cb = 0;
		int fa, fb;

		if (bn_ab_b_first(i)) {
			fb = fn(arg, &on, 1, &rb, &cb);
			fa = fn(arg, &os, 0, &ra, &ca);
		} else {
			fa = fn(arg, &os, 0, &ra, &ca);
			fb = fn(arg, &on, 1, &rb, &cb);
		}
		if (fa || fb)
			ok = -1;
		bn_ab_add(rate, ra, rb);
		bn_ab_add(cpu, ca, cb);
		bn_say("%s round %zu: %.0f %s with the store, %.0f without (%.3f)", what, i + 1, ra,
		       unit, rb, rb > 0 ? ra / rb : 0);
	}
	return ok;
}
