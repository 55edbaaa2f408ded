/* list_json: `smoltest list --json`, one JSON object per selected test
 * (docs/suite.md, "Listing tests"). */
#ifndef SMOL_LIST_JSON_H
#define SMOL_LIST_JSON_H

#include "strbuf.h"
#include "suite/suite.h"

/* Appends test t of suite s to out as one JSON object and a newline.
 * Strings from the suite are sanitised and escaped. 0 or -ENOMEM. */
int list_json_test(struct strbuf *out, const struct suite *s, const struct suite_test *t);

/* Appends a tests_from generator whose tests are not known yet (no cache
 * entry keeps them) as one JSON object: "name" null, so that a reader
 * taking names skips it, "generator" the name template, where it is
 * written, and the lister's command. 0 or -ENOMEM. */
int list_json_generator(struct strbuf *out, const struct suite *s, const struct suite_gen *g);

#endif
