#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"

int cove_opts_num(const char *opt, const char *s, unsigned long long min,
		  unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	/* strtoull() takes "-1" as a huge number: refuse the sign outright. */
	if (s[0] == '-' || *end != '\0' || end == s || errno || v < min || v > max) {
		cove_cli_err("%s '%s' must be a number from %llu to %llu", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int has_short(int id)
{
	return id > 0 && id < COVE_OPT_LONG && isalnum(id);
}

int cove_opts_init(struct cove_opts *p, const struct cove_opts_spec *spec, int argc,
		   char **argv)
{
	size_t ns = 0;

	if (spec->nopts > COVE_OPTS_MAX)
		return -1;
	memset(p, 0, sizeof(*p));
	p->spec = spec;
	p->argc = argc;
	p->argv = argv;
	/* A leading ':' would change how getopt_long reports a missing
	 * argument; a leading '+' or '-' would change argument order. Neither:
	 * the programs have always taken options and arguments in any order. */
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct cove_opt *o = &spec->opts[i];

		if (!has_short(o->id) && o->id < COVE_OPT_LONG)
			return -1;
		p->longs[i].name = o->name;
		p->longs[i].has_arg = o->arg ? required_argument : no_argument;
		p->longs[i].val = o->id;
		if (has_short(o->id)) {
			p->shorts[ns++] = (char)o->id;
			if (o->arg)
				p->shorts[ns++] = ':';
		}
	}
	p->shorts[ns] = '\0';
	/* 0, not 1: glibc then starts afresh, forgetting a previous parse. */
	optind = 0;
	opterr = 1;
	return 0;
}

static const struct cove_opt *find(const struct cove_opts_spec *spec, int id)
{
	for (size_t i = 0; i < spec->nopts; i++)
		if (spec->opts[i].id == id)
			return &spec->opts[i];
	return NULL;
}

int cove_opts_next(struct cove_opts *p, struct cove_opt_val *v)
{
	const struct cove_opt *o;
	char name[64];
	int c;

	if (p->done)
		return COVE_OPTS_END;
	c = getopt_long(p->argc, p->argv, p->shorts, p->longs, NULL);
	if (c == -1) {
		p->done = 1;
		if (optind < p->argc) {
			cove_cli_err("unexpected argument '%s'; try --help", p->argv[optind]);
			return COVE_OPTS_ERR;
		}
		return COVE_OPTS_END;
	}
	o = find(p->spec, c);
	if (!o) {
		/* getopt_long has said what (an unknown option, a missing argument) */
		fprintf(stderr, "Try '%s --help'.\n", cove_prog);
		return COVE_OPTS_ERR;
	}
	v->arg = o->arg ? optarg : NULL;
	v->num = 0;
	if (o->numeric) {
		snprintf(name, sizeof(name), "--%s", o->name);
		if (cove_opts_num(name, optarg, o->min, o->max, &v->num) != 0)
			return COVE_OPTS_ERR;
	}
	return c;
}

/* Writes o's help with {min}, {max} and {default} replaced by its numbers,
 * each line after the first indented to col. */
static void put_help(const struct cove_opt *o, unsigned col, FILE *f)
{
	static const char *const words[] = { "{min}", "{max}", "{default}" };
	const unsigned long long nums[] = { o->min, o->max, o->def };
	const char *s = o->help;

	while (*s) {
		size_t i, n = 0;

		if (*s == '\n') {
			fprintf(f, "\n%*s", (int)col, "");
			s++;
			continue;
		}
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			n = strlen(words[i]);
			if (strncmp(s, words[i], n) == 0)
				break;
		}
		if (i < sizeof(words) / sizeof(words[0])) {
			fprintf(f, "%llu", nums[i]);
			s += n;
		} else {
			fputc(*s++, f);
		}
	}
	fputc('\n', f);
}

void cove_opts_help(const struct cove_opts_spec *spec, FILE *f)
{
	fputs(spec->usage, f);
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct cove_opt *o = &spec->opts[i];
		int w;

		/* "  -k, --key FILE" or "      --json", as GNU tools set them */
		if (has_short(o->id))
			w = fprintf(f, "  -%c, --%s", o->id, o->name);
		else
			w = fprintf(f, "      --%s", o->name);
		if (o->arg)
			w += fprintf(f, " %s", o->arg);
		if (w < 0)
			return;
		if ((unsigned)w + 1 > spec->help_col)
			fprintf(f, "\n%*s", (int)spec->help_col, "");
		else
			fprintf(f, "%*s", (int)(spec->help_col - (unsigned)w), "");
		put_help(o, spec->help_col, f);
	}
	if (spec->footer)
		fputs(spec->footer, f);
}
