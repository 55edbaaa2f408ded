#include "junit_merge.h"

#include "text.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define MAX_MESSAGE 400 /* bytes of one error line */

struct junit_merge {
	char *name;
	xmlDocPtr doc; /* the output document, built as inputs are added */
	xmlNodePtr root;
	struct junit_merge_counts k;
	char timestamp[24]; /* earliest input timestamp, "" when none */
};

/* Parser hooks: a JUnit report has no DTD, so any DOCTYPE or entity
 * declaration is refused before libxml2 does anything with it. */
struct guard {
	bool dtd;
};

static void refuse_subset(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	xmlParserCtxtPtr p = ctx;
	struct guard *g = p->_private;
	(void)name;
	(void)eid;
	(void)sid;
	g->dtd = true;
	xmlStopParser(p);
}

static void refuse_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
			  const xmlChar *sid, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)pid;
	(void)sid;
	(void)content;
	refuse_subset(ctx, NULL, NULL, NULL);
}

/* Appends one line "LABEL:LINE: message" to err. The message can quote the
 * input (names, libxml2's diagnostics), so it is sanitised to one line and
 * cut. Returns -EINVAL for the caller's convenience. */
static int fail(struct strbuf *err, const char *label, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct strbuf *err, const char *label, long line, const char *fmt, ...)
{
	struct strbuf msg = {0};
	va_list ap;

	if (line > 0)
		sb_printf(&msg, "%s:%ld: ", label, line);
	else
		sb_printf(&msg, "%s: ", label);
	va_start(ap, fmt);
	sb_vprintf(&msg, fmt, ap);
	va_end(ap);
	size_t n = text_utf8_cut(sb_str(&msg), msg.len, MAX_MESSAGE);
	text_sanitize(err, sb_str(&msg), n, TEXT_ONE_LINE);
	sb_release(&msg);
	return -EINVAL;
}

static bool is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST name);
}

/* Parses a non-negative decimal number of seconds ("12", "0.5", "1e-3"
 * from other tools) into nanoseconds. */
static int parse_seconds(const char *s, uint64_t *ns)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > 1e9)
		return -EINVAL;
	*ns = (uint64_t)(v * 1e9 + 0.5);
	return 0;
}

struct suite_counts {
	unsigned tests, failures, errors, skipped;
};

/* Counts the testcases below n (any depth: some tools nest suites). */
static void count_cases(const xmlNode *n, struct suite_counts *c)
{
	for (const xmlNode *ch = n->children; ch; ch = ch->next) {
		if (is(ch, "testcase")) {
			c->tests++;
			bool f = false, e = false, s = false;
			for (const xmlNode *x = ch->children; x; x = x->next) {
				f |= is(x, "failure");
				e |= is(x, "error");
				s |= is(x, "skipped");
			}
			c->errors += e;
			c->failures += f && !e;
			c->skipped += s && !e && !f;
		} else if (is(ch, "testsuite")) {
			count_cases(ch, c);
		}
	}
}

static int set_uint(xmlNodePtr n, const char *attr, unsigned v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u", v);
	return xmlSetProp(n, BAD_CAST attr, BAD_CAST buf) ? 0 : -ENOMEM;
}

/* Checks one <testsuite> of an input and counts it (into *c, *time). */
static int check_suite(const xmlNode *s, const char *label, struct strbuf *err,
		       struct suite_counts *c, uint64_t *time_ns)
{
	xmlChar *t = xmlGetProp(s, BAD_CAST "time");
	int rc = 0;

	*time_ns = 0;
	if (t && parse_seconds((const char *)t, time_ns))
		rc = fail(err, label, xmlGetLineNo(s),
			  "<testsuite> time=\"%.40s\" is not a number of seconds", (const char *)t);
	xmlFree(t);
	if (rc)
		return rc;
	for (const xmlNode *ch = s->children; ch; ch = ch->next) {
		if (!is(ch, "testcase"))
			continue;
		xmlChar *ct = xmlGetProp(ch, BAD_CAST "time");
		uint64_t ns;
		if (ct && parse_seconds((const char *)ct, &ns))
			rc = fail(err, label, xmlGetLineNo(ch),
				  "<testcase> time=\"%.40s\" is not a number of seconds",
				  (const char *)ct);
		xmlFree(ct);
		if (rc)
			return rc;
	}
	memset(c, 0, sizeof(*c));
	count_cases(s, c);
	return 0;
}

/* Rewrites a time attribute that check_suite() accepted ("1e-3" from some
 * other tool) in this format's own form ("0.001"). */
static int normalise_time(xmlNodePtr n)
{
	xmlChar *t = xmlGetProp(n, BAD_CAST "time");
	uint64_t ns;
	char secs[24];
	int rc = 0;

	if (t && !parse_seconds((const char *)t, &ns) &&
	    !xmlSetProp(n, BAD_CAST "time", BAD_CAST text_format_seconds(ns, secs, sizeof(secs))))
		rc = -ENOMEM;
	xmlFree(t);
	return rc;
}

static int normalise_suite(xmlNodePtr copy, const struct suite_counts *c)
{
	if (set_uint(copy, "tests", c->tests) || set_uint(copy, "failures", c->failures) ||
	    set_uint(copy, "errors", c->errors) || set_uint(copy, "skipped", c->skipped) ||
	    normalise_time(copy))
		return -ENOMEM;
	for (xmlNodePtr ch = copy->children; ch; ch = ch->next)
		if (is(ch, "testcase") && normalise_time(ch))
			return -ENOMEM;
	return 0;
}

static void keep_earliest(struct junit_merge *m, const xmlNode *s)
{
	xmlChar *ts = xmlGetProp(s, BAD_CAST "timestamp");
	if (ts && xmlStrlen(ts) < (int)sizeof(m->timestamp) &&
	    (!m->timestamp[0] || strcmp((const char *)ts, m->timestamp) < 0))
		snprintf(m->timestamp, sizeof(m->timestamp), "%s", (const char *)ts);
	xmlFree(ts);
}

/* Parses with the guard hooks; NULL with a message in err on failure. */
static xmlDocPtr parse(const char *buf, size_t len, const char *label, struct strbuf *err)
{
	struct guard g = {false};
	xmlParserCtxtPtr p = xmlNewParserCtxt();
	xmlDocPtr doc = NULL;

	if (!p)
		return NULL;
	p->_private = &g;
	p->sax->internalSubset = refuse_subset;
	p->sax->externalSubset = refuse_subset;
	p->sax->entityDecl = refuse_entity;
	/* NONET: no network; no NOENT (entities are not substituted), no
	 * DTDLOAD/DTDATTR/DTDVALID, no HUGE (libxml2's size and depth limits
	 * stay on), no XINCLUDE. */
	doc = xmlCtxtReadMemory(p, buf, (int)len, label, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				    XML_PARSE_NOCDATA);
	if (g.dtd) {
		fail(err, label, xmlSAX2GetLineNumber(p),
		     "has a DOCTYPE or entity declaration, which JUnit reports never need; "
		     "refusing it");
		xmlFreeDoc(doc);
		doc = NULL;
	} else if (!doc || !p->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(p);
		char msg[256] = "not well-formed XML";
		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\r\n")] = '\0';
		}
		fail(err, label, e ? e->line : 0, "not well-formed XML: %s", msg);
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(p);
	return doc;
}

int junit_merge_add_buffer(struct junit_merge *m, const char *buf, size_t len, const char *label,
			   struct strbuf *err)
{
	xmlNodePtr *copies = NULL;
	size_t n = 0;
	struct junit_merge_counts add = {0};
	int rc = 0;

	if (len > JUNIT_MERGE_MAX_INPUT || len > INT_MAX) {
		fail(err, label, 0, "is larger than the 64 MiB limit for a JUnit report");
		return -EFBIG;
	}
	xmlDocPtr doc = parse(buf, len, label, err);
	if (!doc)
		return -EINVAL;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!is(root, "testsuites") && !is(root, "testsuite")) {
		rc = fail(
		    err, label, root ? xmlGetLineNo(root) : 0,
		    "not a JUnit report: the root element is <%.64s>, expected <testsuites> or "
		    "<testsuite>",
		    root ? (const char *)root->name : "(none)");
		goto out;
	}
	if (!m->name) {
		xmlChar *nm = xmlGetProp(root, BAD_CAST "name");
		m->name = strdup(nm ? (const char *)nm : "smoltest");
		xmlFree(nm);
		if (!m->name) {
			rc = -ENOMEM;
			goto out;
		}
	}
	/* Validate everything before changing the merge. */
	for (xmlNodePtr s = is(root, "testsuite") ? root : root->children; s; s = s->next) {
		if (is(s, "testsuite")) {
			struct suite_counts c;
			uint64_t t;
			rc = check_suite(s, label, err, &c, &t);
			if (rc)
				goto out;
			xmlNodePtr *v = realloc(copies, (n + 1) * sizeof(*v));
			if (!v) {
				rc = -ENOMEM;
				goto out;
			}
			copies = v;
			copies[n] = xmlDocCopyNode(s, m->doc, 1);
			if (!copies[n] || normalise_suite(copies[n], &c)) {
				xmlFreeNode(copies[n]);
				rc = -ENOMEM;
				goto out;
			}
			n++;
			add.suites++;
			add.tests += c.tests;
			add.failures += c.failures;
			add.errors += c.errors;
			add.skipped += c.skipped;
			add.time_ns += t;
		}
		if (is(root, "testsuite"))
			break;
	}
	for (size_t i = 0; i < n; i++) {
		keep_earliest(m, copies[i]);
		xmlAddChild(m->root, copies[i]);
	}
	n = 0;
	m->k.suites += add.suites;
	m->k.tests += add.tests;
	m->k.failures += add.failures;
	m->k.errors += add.errors;
	m->k.skipped += add.skipped;
	m->k.time_ns += add.time_ns;
out:
	for (size_t i = 0; i < n; i++)
		xmlFreeNode(copies[i]);
	free(copies);
	xmlFreeDoc(doc);
	return rc;
}

int junit_merge_add_file(struct junit_merge *m, const char *path, struct strbuf *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = util_read_file(path, JUNIT_MERGE_MAX_INPUT, &buf, &len);
	if (rc == -EFBIG) {
		sb_printf(err, "%s: is larger than the 64 MiB limit for a JUnit report", path);
		return rc;
	}
	if (rc) {
		sb_printf(err, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	rc = junit_merge_add_buffer(m, buf, len, path, err);
	free(buf);
	return rc;
}

void junit_merge_counts(const struct junit_merge *m, struct junit_merge_counts *out)
{
	*out = m->k;
}

int junit_merge_render(struct junit_merge *m, struct strbuf *out)
{
	char secs[24];
	xmlChar *mem = NULL;
	int size = 0;
	int rc;

	if (xmlSetProp(m->root, BAD_CAST "name", BAD_CAST(m->name ? m->name : "smoltest")) ==
		NULL ||
	    set_uint(m->root, "tests", m->k.tests) ||
	    set_uint(m->root, "failures", m->k.failures) ||
	    set_uint(m->root, "errors", m->k.errors) ||
	    set_uint(m->root, "skipped", m->k.skipped) ||
	    !xmlSetProp(m->root, BAD_CAST "time",
			BAD_CAST text_format_seconds(m->k.time_ns, secs, sizeof(secs))))
		return -ENOMEM;
	if (m->timestamp[0] && !xmlSetProp(m->root, BAD_CAST "timestamp", BAD_CAST m->timestamp))
		return -ENOMEM;
	xmlDocDumpFormatMemoryEnc(m->doc, &mem, &size, "UTF-8", 1);
	if (!mem)
		return -ENOMEM;
	rc = sb_append(out, mem, (size_t)size);
	xmlFree(mem);
	return rc;
}

int junit_merge_write(struct junit_merge *m, const char *path, struct strbuf *err)
{
	struct strbuf xml = {0};
	int rc = junit_merge_render(m, &xml);
	if (!rc && !strcmp(path, "-"))
		rc = util_write_all(STDOUT_FILENO, xml.buf, xml.len);
	else if (!rc)
		rc = util_write_file_atomic(path, xml.buf, xml.len, 0644);
	if (rc)
		sb_printf(err, "%s: cannot write the merged report: %s", path, strerror(-rc));
	sb_release(&xml);
	return rc;
}

int junit_merge_create(const char *name, struct junit_merge **out)
{
	struct junit_merge *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	if (name && !(m->name = strdup(name)))
		goto nomem;
	m->doc = xmlNewDoc(BAD_CAST "1.0");
	if (!m->doc)
		goto nomem;
	m->root = xmlNewDocNode(m->doc, NULL, BAD_CAST "testsuites", NULL);
	if (!m->root)
		goto nomem;
	xmlDocSetRootElement(m->doc, m->root);
	*out = m;
	return 0;
nomem:
	junit_merge_destroy(m);
	return -ENOMEM;
}

void junit_merge_destroy(struct junit_merge *m)
{
	if (!m)
		return;
	xmlFreeDoc(m->doc);
	free(m->name);
	free(m);
}
