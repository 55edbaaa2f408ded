/* suite_alias: YAML anchors and aliases, checked once before the walk.
 *
 * libyaml's document loader resolves an alias (*name) to the node its
 * anchor (&name) made, so the document is a graph, not a tree: one node may
 * be reached many times, and an alias inside its own anchor's node makes a
 * cycle. The suite walker treats the graph as the tree it stands for, so
 * before any walk this pass refuses the two ways that tree can blow up:
 * a cycle (the tree is infinite) and an expansion past SUITE_MAX_ALIASED
 * nodes more than the file holds (nine levels of ten aliases each, "billion laughs", stands for
 * 10^9 nodes in a file of a few hundred bytes). Nesting is bounded too, so that neither this pass
 * nor the walker recurses without limit. */
#include "suite/suite_int.h"

#include <errno.h>
#include <stdlib.h>

/* Nodes an expansion may add to the document's own: a suite without aliases
 * is its own expansion, whatever its size. */
#define SUITE_MAX_ALIASED 1000000u
#define SUITE_MAX_DEPTH	  64u

enum { WHITE, GREY, BLACK };

struct ac {
	struct ps *p;
	unsigned char *color; /* per node id - 1 */
	uint64_t *size;	      /* expanded size of a BLACK node */
	uint64_t max;	      /* the largest expansion allowed */
	int failed;
};

/* The expanded size of node id, saturating at max + 1; on the
 * first problem it reports once and stops. */
static uint64_t expand(struct ac *a, int id, unsigned depth)
{
	yaml_node_t *n = yaml_document_get_node(&a->p->doc, id);
	if (!n || a->failed)
		return 0;
	size_t i = (size_t)(id - 1);
	if (a->color[i] == BLACK)
		return a->size[i];
	if (a->color[i] == GREY) {
		sy_diag_add(a->p, n,
			    "this node contains an alias to itself (an endless value); an alias "
			    "may only repeat a complete value");
		a->failed = 1;
		return 0;
	}
	if (depth > SUITE_MAX_DEPTH) {
		sy_diag_add(a->p, n, "values nest deeper than %u levels", SUITE_MAX_DEPTH);
		a->failed = 1;
		return 0;
	}
	a->color[i] = GREY;
	uint64_t sz = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top && !a->failed; it++)
			sz += expand(a, *it, depth + 1);
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top && !a->failed; pr++)
			sz += expand(a, pr->key, depth + 1) + expand(a, pr->value, depth + 1);
	}
	if (!a->failed && sz > a->max) {
		sy_diag_add(a->p, n,
			    "aliases expand this value to more than %llu nodes (the file holds "
			    "%zu); repeat less, or use defaults: for what tests share",
			    (unsigned long long)a->max, a->p->n_nodes);
		a->failed = 1;
	}
	a->color[i] = BLACK;
	a->size[i] = sz > a->max ? a->max + 1 : sz;
	return a->size[i];
}

int sy_check_aliases(struct ps *p, int root_id)
{
	struct ac a = {.p = p, .max = (uint64_t)p->n_nodes + SUITE_MAX_ALIASED};
	a.color = calloc(p->n_nodes ? p->n_nodes : 1, 1);
	a.size = calloc(p->n_nodes ? p->n_nodes : 1, sizeof(*a.size));
	if (!a.color || !a.size) {
		p->oom = 1;
		a.failed = 1;
	} else {
		expand(&a, root_id, 0);
	}
	free(a.color);
	free(a.size);
	return a.failed ? -EINVAL : 0;
}
