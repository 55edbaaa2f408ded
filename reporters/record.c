#include "record.h"
#include "reporter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

const char *result_status_name(enum result_status s)
{
	switch (s) {
	case RESULT_PASS:
		return "pass";
	case RESULT_FAIL:
		return "fail";
	case RESULT_ERROR:
		return "error";
	case RESULT_TIMEOUT:
		return "timeout";
	case RESULT_SKIP:
		return "skip";
	case RESULT_FLAKY:
		return "flaky";
	case RESULT_LEAK:
		return "leak";
	case RESULT_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

const char *result_fail_kind_name(enum result_fail_kind k)
{
	switch (k) {
	case FAIL_NONE:
		return "none";
	case FAIL_EXIT_CODE:
		return "exit-code";
	case FAIL_OUTPUT:
		return "output";
	case FAIL_TIMEOUT:
		return "timeout";
	case FAIL_LEAK:
		return "leak";
	}
	return "unknown";
}

int reporter_set_add(struct reporter_set *set, struct reporter *r)
{
	struct reporter **items = realloc(set->items, (set->n + 1) * sizeof(*items));
	if (!items) {
		r->ops->destroy(r);
		return -ENOMEM;
	}
	set->items = items;
	set->items[set->n++] = r;
	return 0;
}

static void reporter_failed(struct reporter *r, const char *what, int rc)
{
	fprintf(stderr, "smoltest: %s reporter: %s failed: error %d\n", r->ops->name, what, -rc);
}

void reporter_set_begin(struct reporter_set *set, const struct run_info *info)
{
	for (size_t i = 0; i < set->n; i++) {
		struct reporter *r = set->items[i];
		int rc = r->ops->begin ? r->ops->begin(r, info) : 0;
		if (rc)
			reporter_failed(r, "begin", rc);
	}
}

void reporter_set_test_started(struct reporter_set *set, const char *name, unsigned attempt)
{
	for (size_t i = 0; i < set->n; i++) {
		struct reporter *r = set->items[i];
		int rc = r->ops->test_started ? r->ops->test_started(r, name, attempt) : 0;
		if (rc)
			reporter_failed(r, "test_started", rc);
	}
}

void reporter_set_result(struct reporter_set *set, const struct result_record *rec)
{
	for (size_t i = 0; i < set->n; i++) {
		struct reporter *r = set->items[i];
		int rc = r->ops->result ? r->ops->result(r, rec) : 0;
		if (rc)
			reporter_failed(r, "result", rc);
	}
}

void reporter_set_end(struct reporter_set *set, const struct run_summary *sum)
{
	for (size_t i = 0; i < set->n; i++) {
		struct reporter *r = set->items[i];
		int rc = r->ops->end ? r->ops->end(r, sum) : 0;
		if (rc)
			reporter_failed(r, "end", rc);
	}
}

void reporter_set_tick(struct reporter_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct reporter *r = set->items[i];
		int rc = r->ops->tick ? r->ops->tick(r) : 0;
		if (rc)
			reporter_failed(r, "tick", rc);
	}
}

void reporter_set_destroy(struct reporter_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		set->items[i]->ops->destroy(set->items[i]);
	free(set->items);
	set->items = NULL;
	set->n = 0;
}
