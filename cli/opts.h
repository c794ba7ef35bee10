/*
 * opts.h - a program's options described once, in a table that drives both
 * getopt_long() and the option list of --help, and the one place where an
 * option's number is parsed and checked against its range.
 *
 * Like the rest of cli/, functions here print what was wrong to standard
 * error (prefixed with cove_prog) and return an error; main decides to exit.
 */
#ifndef COVE_CLI_OPTS_H
#define COVE_CLI_OPTS_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

/* Ids of options without a short name start here, above every character. */
#define COVE_OPT_LONG 256

/* Most options a table may hold. */
#define COVE_OPTS_MAX 48

struct cove_opt {
	/* What cove_opts_next() returns for this option: its short name when
	 * it has one (a letter or digit), else a value from COVE_OPT_LONG up. */
	int id;
	const char *name;   /* the long name, without "--" */
	const char *arg;    /* the argument's name in --help ("FILE"); NULL: takes none */
	int numeric;        /* the argument is a decimal number from min to max */
	unsigned long long min, max;
	unsigned long long def; /* the number --help shows for {default} */
	/* The help text: lines after the first are set under the first. In it
	 * {min}, {max} and {default} stand for those numbers. */
	const char *help;
};

/* Table entries: a flag, an option with a word argument, one with a number. */
#define COVE_OPT_FLAG(id, name, help) { (id), (name), NULL, 0, 0, 0, 0, (help) }
#define COVE_OPT_STR(id, name, arg, help) { (id), (name), (arg), 0, 0, 0, 0, (help) }
#define COVE_OPT_NUM(id, name, arg, min, max, def, help) \
	{ (id), (name), (arg), 1, (min), (max), (def), (help) }

/* A program's command line: what --help prints around the option list. */
struct cove_opts_spec {
	const char *usage;            /* printed before the list, as it is */
	const char *footer;           /* printed after it, as it is; NULL: nothing */
	const struct cove_opt *opts;  /* in the order --help lists them */
	size_t nopts;                 /* at most COVE_OPTS_MAX */
	/* The column the help texts start at; an option too wide for it has
	 * its text start on the next line. */
	unsigned help_col;
};

/* The parser's state; the spec and argv are borrowed for its lifetime. */
struct cove_opts {
	const struct cove_opts_spec *spec;
	int argc;
	char **argv;
	struct option longs[COVE_OPTS_MAX + 1];
	char shorts[3 * COVE_OPTS_MAX + 2];
	int done;
};

/* The value of the option cove_opts_next() returned. */
struct cove_opt_val {
	const char *arg;          /* its argument (in argv), NULL for a flag */
	unsigned long long num;   /* the argument's number, for a numeric option */
};

/* Prepares to read argv[1..argc-1] (getopt_long's state is reset, so a
 * process may parse more than one command line). Returns 0, or -1 when
 * the table is malformed (too many options, an id that is neither a
 * letter or digit nor from COVE_OPT_LONG up). */
int cove_opts_init(struct cove_opts *p, const struct cove_opts_spec *spec, int argc,
		   char **argv);

/* Reads the next option. Returns its id with *v filled in; COVE_OPTS_END
 * once every option is read; COVE_OPTS_ERR after printing what was wrong:
 * an unknown option or a missing argument (getopt_long's own line, then
 * "Try 'PROG --help'."), a number that is not one or out of its range
 * ("--NAME 'VALUE' must be a number from MIN to MAX"), or an argument
 * that is not an option ("unexpected argument 'ARG'; try --help"). */
int cove_opts_next(struct cove_opts *p, struct cove_opt_val *v);

#define COVE_OPTS_END (-1)
#define COVE_OPTS_ERR (-2)

/* Writes the usage, the option list and the footer of spec to f. */
void cove_opts_help(const struct cove_opts_spec *spec, FILE *f);

/* Parses s as a decimal number from min to max into *out (base 10 as
 * strtoull() reads it, with no minus sign and nothing after the digits).
 * Returns 0, or -1 after printing
 * "OPT 'S' must be a number from MIN to MAX". */
int cove_opts_num(const char *opt, const char *s, unsigned long long min,
		  unsigned long long max, unsigned long long *out);

#endif
