/* suggest: "did you mean" for unknown keys, options and commands. */
#ifndef SMOL_SUGGEST_H
#define SMOL_SUGGEST_H

#include <stddef.h>

/* The name in table closest to word, for "did you mean": table is an array
 * of structs of stride bytes whose first member is `const char *name`,
 * ended by a NULL name (struct option, key tables, cli_commands). NULL when
 * nothing is within a typo's distance (edits, transpositions counted as
 * one: at most 1 for short words, a third of the length for longer ones). */
const char *suggest_closest(const char *word, const void *table, size_t stride);

#endif
