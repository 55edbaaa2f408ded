/* suggest: the closest name to a typo (suggest.h). */
#include "suite/suggest.h"

#include <stdint.h>
#include <string.h>

/* Optimal string alignment distance (Damerau-Levenshtein without
 * repeated edits of a substring), capped: names are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return SIZE_MAX;
	size_t d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < m)
				m = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1;
			d[i][j] = m;
		}
	return d[la][lb];
}

const char *suggest_closest(const char *word, const void *table, size_t stride)
{
	size_t len = strlen(word), limit = len < 6 ? 1 : len / 3, best = SIZE_MAX;
	const char *found = NULL;
	for (const char *p = table;; p += stride) {
		const char *name;
		memcpy(&name, p, sizeof(name));
		if (!name)
			break;
		size_t dist = edit_distance(word, name);
		if (dist <= limit && dist < best) {
			best = dist;
			found = name;
		}
	}
	return found;
}
