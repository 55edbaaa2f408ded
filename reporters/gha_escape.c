/* gha_escape: escaping for GitHub Actions workflow commands.
 *
 * Rules from the runner's toolkit (actions/toolkit packages/core/src/
 * command.ts): escapeData() encodes '%', '\r', '\n'; escapeProperty() also
 * ':' and ','. The text is sanitised first, so no control characters or ANSI
 * escapes reach the log parser. */
#include "gha.h"

#include "text.h"

/* Appends freely and returns sb's sticky error (strbuf.h). */
static int escape(struct strbuf *sb, const char *s, size_t len, bool property)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '%':
			sb_append_str(sb, "%25");
			break;
		case '\r':
			sb_append_str(sb, "%0D");
			break;
		case '\n':
			sb_append_str(sb, "%0A");
			break;
		case ':':
			if (property)
				sb_append_str(sb, "%3A");
			else
				sb_append_char(sb, ':');
			break;
		case ',':
			if (property)
				sb_append_str(sb, "%2C");
			else
				sb_append_char(sb, ',');
			break;
		default:
			sb_append_char(sb, s[i]);
		}
	}
	return sb_error(sb);
}

int gha_escape_data(struct strbuf *sb, const char *s, size_t len)
{
	struct strbuf clean = {0};
	/* A failure of the scratch buffer is sb's too, so that callers that
	 * check sb once at the end see it. */
	if (!sb_set_error(sb, text_sanitize(&clean, s, len, 0)))
		escape(sb, sb_str(&clean), clean.len, false);
	sb_release(&clean);
	return sb_error(sb);
}

int gha_escape_property(struct strbuf *sb, const char *s)
{
	struct strbuf clean = {0};
	if (!sb_set_error(sb, text_sanitize_str(&clean, s, TEXT_ONE_LINE)))
		escape(sb, sb_str(&clean), clean.len, true);
	sb_release(&clean);
	return sb_error(sb);
}
