/* gha_escape: escaping for GitHub Actions workflow commands.
 *
 * Rules from the runner's toolkit (actions/toolkit packages/core/src/
 * command.ts): escapeData() encodes '%', '\r', '\n'; escapeProperty() also
 * ':' and ','. The text is sanitised first, so no control characters or ANSI
 * escapes reach the log parser. */
#include "gha.h"

#include "text.h"

static int escape(struct strbuf *sb, const char *s, size_t len, bool property)
{
	int rc = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		switch (s[i]) {
		case '%':
			rc = sb_append_str(sb, "%25");
			break;
		case '\r':
			rc = sb_append_str(sb, "%0D");
			break;
		case '\n':
			rc = sb_append_str(sb, "%0A");
			break;
		case ':':
			rc = property ? sb_append_str(sb, "%3A") : sb_append_char(sb, ':');
			break;
		case ',':
			rc = property ? sb_append_str(sb, "%2C") : sb_append_char(sb, ',');
			break;
		default:
			rc = sb_append_char(sb, s[i]);
		}
	}
	return rc;
}

int gha_escape_data(struct strbuf *sb, const char *s, size_t len)
{
	struct strbuf clean = {0};
	int rc = text_sanitize(&clean, s, len, 0);
	if (!rc)
		rc = escape(sb, sb_str(&clean), clean.len, false);
	sb_release(&clean);
	return rc;
}

int gha_escape_property(struct strbuf *sb, const char *s)
{
	struct strbuf clean = {0};
	int rc = text_sanitize_str(&clean, s, TEXT_ONE_LINE);
	if (!rc)
		rc = escape(sb, sb_str(&clean), clean.len, true);
	sb_release(&clean);
	return rc;
}
