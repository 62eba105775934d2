/* SPDX-License-Identifier: MIT */
/* What a client or server said, quoted in a note or a log line, reaches a
 * terminal, the journal or a file as one line of valid UTF-8: no escape
 * sequence, no line break, no C1 control, invalid bytes as '?'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/note.h"

/* ESC [31m, a line break, CSI as U+009B, a lone 0xff, OSC title */
#define HOSTILE "\x1b[31mred\nsecond\xc2\x9b" "2J\xff \x1b]0;title\x07 end"

static void note_is_one_clean_line(void **state)
{
	char buf[128] = "";

	(void)state;
	note_add(buf, sizeof(buf), "client said '%s'", HOSTILE);
	assert_string_equal(buf, "client said ' [31mred second  2J?  ]0;title  end'");
	note_add(buf, sizeof(buf), "%s", "\ttab");
	assert_non_null(strstr(buf, "';  tab"));
}

static void note_keeps_valid_text(void **state)
{
	char buf[64] = "";

	(void)state;
	note_add(buf, sizeof(buf), "%s", "Zürich gateway — ok <tag> \"q\"");
	assert_string_equal(buf, "Zürich gateway — ok <tag> \"q\"");
}

static void log_line_is_clean(void **state)
{
	char got[4096];
	int fds[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
	log_init(0);
	log_error("site", "FAIL: %s", HOSTILE);
	/* longer than the line: cut, still one line */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warn(NULL, "%s", big);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], got, sizeof(got) - 1);
	close(fds[0]);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(strtok(got, "\n"),
			    "<3>error: [site] FAIL:  [31mred second  2J?  ]0;title  end");
	char *second = strtok(NULL, "\n");
	assert_non_null(second);
	assert_int_equal(strncmp(second, "<4>warning: xxx", 15), 0);
	assert_null(strtok(NULL, "\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(note_is_one_clean_line),
		cmocka_unit_test(note_keeps_valid_text),
		cmocka_unit_test(log_line_is_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
