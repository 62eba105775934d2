/* SPDX-License-Identifier: MIT */
/* Scheduler: fixed grid, overrun detection, no catch-up bursts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "probe/schedule.h"
#include "util/clock.h"

static void grid_is_fixed_not_sleep_after_end(void **state)
{
	struct schedule s;

	schedule_init(&s, 10.0, 100.0);
	assert_true(s.next_s == 100.0);
	/* cycles of varying length never shift the grid */
	assert_int_equal(schedule_advance(&s, 103.7), 0);
	assert_true(s.next_s == 110.0);
	assert_int_equal(schedule_advance(&s, 119.99), 0);
	assert_true(s.next_s == 120.0);
	assert_int_equal(schedule_advance(&s, 120.5), 0);
	assert_true(s.next_s == 130.0);
}

static void overrun_starts_next_cycle_at_once_without_burst(void **state)
{
	struct schedule s;

	schedule_init(&s, 10.0, 0.0);
	/* a cycle of 35 s: one overrun, the next starts at its end, not 3 catch-ups */
	assert_int_equal(schedule_advance(&s, 35.0), 1);
	assert_true(s.next_s == 35.0);
	/* the grid is re-anchored at 35 */
	assert_int_equal(schedule_advance(&s, 36.0), 0);
	assert_true(s.next_s == 45.0);
	assert_int_equal(schedule_advance(&s, 50.0), 0);
	assert_true(s.next_s == 55.0);
}

static void exactly_one_period_is_not_an_overrun(void **state)
{
	struct schedule s;

	schedule_init(&s, 5.0, 0.0);
	assert_int_equal(schedule_advance(&s, 5.0), 0);
	assert_true(s.next_s == 5.0);
	assert_int_equal(schedule_advance(&s, 10.001), 1);
}

static void new_period_applies_from_current_start(void **state)
{
	struct schedule s;

	schedule_init(&s, 10.0, 0.0);
	schedule_set_period(&s, 3.0);
	assert_int_equal(schedule_advance(&s, 1.0), 0);
	assert_true(s.next_s == 3.0);
}

static void monotonic_clock_advances(void **state)
{
	double a = monotonic_s(), b = monotonic_s();

	assert_true(a > 0);
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grid_is_fixed_not_sleep_after_end),
		cmocka_unit_test(overrun_starts_next_cycle_at_once_without_burst),
		cmocka_unit_test(exactly_one_period_is_not_an_overrun),
		cmocka_unit_test(new_period_applies_from_current_start),
		cmocka_unit_test(monotonic_clock_advances),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
