/* SPDX-License-Identifier: MIT */
/* gen_results: writes a synthetic results history for the `epmon report`
 * benchmark, in the format of src/results.c: DIR/results-YYYY-MM-DD.csv,
 * one file per local day ending yesterday, one row per site per cycle.
 * Sites fail now and then in outages of consecutive cycles at one step.
 * Rows are formatted by hand: printf of ~5 M rows would take longer than
 * the report it feeds.  Usage: gen_results DIR [DAYS [SITES [FREQUENCY_S]]]
 * (defaults 365, 50, 300); prints "ROWS BYTES" on stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char header[] =
	"timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct,"
	"login_ms,internal_rtt_ms,internal_loss_pct,teardown_ms,detail\n";

/* xorshift64*: deterministic, so every run of the benchmark reads the same data */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_uint(char *p, unsigned long v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < width);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* value in units of 10^-decimals, printed as fixed point */
static char *put_fixed(char *p, unsigned long units, int decimals)
{
	static const unsigned long scale[] = { 1, 10, 100, 1000 };

	p = put_uint(p, units / scale[decimals], 1);
	*p++ = '.';
	return put_uint(p, units % scale[decimals], decimals);
}

struct site_state {
	char name[32];
	int outage_left;     /* cycles still failing */
	int step;            /* 1..4: the failing step of the outage */
};

static const char *const step_names[] = { "", "external_ping", "vpn_login",
					  "internal_ping", "teardown" };

static char *put_row(char *p, const char *stamp, int ms, const char *off,
		     struct site_state *s)
{
	int step = 0;

	if (s->outage_left == 0 && rnd(1000) < 3) {
		s->outage_left = 1 + (rnd(4) ? rnd(3) : rnd(40)); /* mostly short */
		s->step = 1 + rnd(4);
	}
	if (s->outage_left > 0) {
		s->outage_left--;
		step = s->step;
	}
	p = put_str(p, stamp);
	*p++ = '.';
	p = put_uint(p, (unsigned long)ms, 3);
	p = put_str(p, off);
	*p++ = ',';
	p = put_str(p, s->name);
	p = put_str(p, step ? ",FAIL," : ",OK,,");
	if (step) {
		p = put_str(p, step_names[step]);
		*p++ = ',';
	}
	if (step == 1) /* external ping: nothing else ran */
		return put_str(p, ",100.0,,,,,\"no reply from 192.0.2.1 in 2.0 s\"\n");
	p = put_fixed(p, 5000 + rnd(60000), 3);
	p = put_str(p, ",0.0,");
	p = put_fixed(p, step == 2 ? 300000 : 8000 + rnd(20000) + rnd(5) * rnd(10000), 1);
	*p++ = ',';
	if (step == 2)
		return put_str(p, ",,150.0,\"login timed out after 30.0 s\"\n");
	if (step == 3) {
		p = put_str(p, ",100.0,");
	} else {
		p = put_fixed(p, 6000 + rnd(80000), 3);
		p = put_str(p, rnd(50) ? ",0.0," : ",20.0,");
	}
	p = put_fixed(p, 1000 + rnd(3000), 1);
	if (step == 3)
		return put_str(p, ",\"no reply from 10.1.0.1 through the tunnel\"\n");
	if (step == 4)
		return put_str(p, ",\"client still running after 10.0 s, killed\"\n");
	return put_str(p, ",\"\"\n");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	int days = argc > 2 ? atoi(argv[2]) : 365;
	int nsites = argc > 3 ? atoi(argv[3]) : 50;
	int freq = argc > 4 ? atoi(argv[4]) : 300;
	unsigned long long rows = 0, bytes = 0;
	struct site_state *sites;
	char *buf;
	time_t now = time(NULL);
	struct tm tm;

	if (!dir || days < 1 || nsites < 1 || freq < 1) {
		fprintf(stderr, "usage: gen_results DIR [DAYS [SITES [FREQUENCY_S]]]\n");
		return 2;
	}
	sites = calloc((size_t)nsites, sizeof(*sites));
	buf = malloc(4u << 20);
	if (!sites || !buf)
		return 1;
	for (int i = 0; i < nsites; i++)
		snprintf(sites[i].name, sizeof(sites[i].name), "branch-office-%02d", i + 1);

	/* local midnight DAYS days ago */
	localtime_r(&now, &tm);
	tm.tm_mday -= days;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	for (int d = 0; d < days; d++, tm.tm_mday++) {
		struct tm day = tm, next = tm;
		time_t t0, t1;
		char path[4096];
		FILE *f;

		day.tm_isdst = next.tm_isdst = -1;
		next.tm_mday++;
		t0 = mktime(&day);
		t1 = mktime(&next);
		snprintf(path, sizeof(path), "%s/results-%04d-%02d-%02d.csv", dir,
			 day.tm_year + 1900, day.tm_mon + 1, day.tm_mday);
		f = fopen(path, "w");
		if (!f) {
			fprintf(stderr, "gen_results: %s: %s\n", path, strerror(errno));
			return 1;
		}
		setvbuf(f, NULL, _IOFBF, 1u << 20);
		fputs(header, f);
		bytes += sizeof(header) - 1;
		for (time_t c = t0; c < t1; c += freq) {
			char stamp[32], off[24], *p = buf;
			struct tm lt;
			long o;

			/* sites one after another, ~1.5 s each, within the same second's day */
			for (int i = 0; i < nsites; i++) {
				time_t t = c + (time_t)(i * 3 / 2);
				localtime_r(&t, &lt);
				if (i == 0 || lt.tm_sec == 0 || i * 3 / 2 != (i - 1) * 3 / 2) {
					strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &lt);
					o = lt.tm_gmtoff;
					snprintf(off, sizeof(off), "%c%02ld:%02ld", o < 0 ? '-' : '+',
						 labs(o) / 3600, labs(o) % 3600 / 60);
				}
				p = put_row(p, stamp, (int)rnd(1000), off, &sites[i]);
				rows++;
			}
			fwrite(buf, 1, (size_t)(p - buf), f);
			bytes += (unsigned long long)(p - buf);
		}
		if (fclose(f) != 0) {
			fprintf(stderr, "gen_results: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	printf("%llu %llu\n", rows, bytes);
	free(buf);
	free(sites);
	return 0;
}
