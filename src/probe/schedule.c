/* SPDX-License-Identifier: MIT */
#include "probe/schedule.h"

#include <time.h>

void schedule_init(struct schedule *s, double period_s, double now_s)
{
	s->period_s = period_s;
	s->next_s = now_s;
}

int schedule_advance(struct schedule *s, double now_s)
{
	double started = s->next_s;

	s->next_s = started + s->period_s;
	if (now_s > s->next_s) {
		s->next_s = now_s;
		return 1;
	}
	return 0;
}

void schedule_set_period(struct schedule *s, double period_s)
{
	s->period_s = period_s;
}

