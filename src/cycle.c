#include "cycle.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "results.h"
#include "schedule.h"

static int selected(const struct site *site, const char *const *only, size_t nonly)
{
	if (nonly == 0)
		return 1;
	for (size_t i = 0; i < nonly; i++)
		if (strcmp(only[i], site->name) == 0)
			return 1;
	return 0;
}

void cycle_run(const struct config *cfg, const char *const *only, size_t nonly,
	       struct results *csv, const struct site_env *env,
	       struct cycle_report *rep)
{
	double start = monotonic_s();

	memset(rep, 0, sizeof(*rep));
	rep->results = calloc(cfg->nsites ? cfg->nsites : 1, sizeof(*rep->results));
	if (!rep->results) {
		log_error(NULL, "out of memory for %zu site results", cfg->nsites);
		rep->aborted = 1;
		return;
	}
	for (size_t i = 0; i < cfg->nsites; i++) {
		const struct site *site = &cfg->sites[i];
		struct site_result *res = &rep->results[rep->nresults];

		if (!selected(site, only, nonly))
			continue;
		if (env->stop && *env->stop) {
			rep->aborted = 1;
			break;
		}
		if (env->before_site)
			env->before_site(env->before_site_arg);
		if (site_test(site, env, res) < 0) {
			log_warn(site->name, "site test aborted by signal; no row written");
			rep->aborted = 1;
			break;
		}
		rep->nresults++;
		if (!res->ok) {
			rep->nfailed++;
			log_warn(site->name, "FAIL at %s: %s",
				 site_step_name(res->failed_step), res->detail);
		} else {
			log_info(site->name, "OK%s%s", res->detail[0] ? ": " : "",
				 res->detail);
		}
		if (csv)
			results_write(csv, res);
	}
	rep->duration_s = monotonic_s() - start;
}

void cycle_report_free(struct cycle_report *rep)
{
	free(rep->results);
	memset(rep, 0, sizeof(*rep));
}

static void fmt_ms(char *buf, size_t len, int ran, double ms, int decimals)
{
	if (ran)
		snprintf(buf, len, "%.*f", decimals, ms);
	else
		snprintf(buf, len, "-");
}

static void fmt_ping(char *rtt, char *loss, size_t len, int ran,
		     const struct ping_stats *p)
{
	fmt_ms(rtt, len, ran && p->received > 0, p->avg_ms, 3);
	if (ran)
		snprintf(loss, len, "%.0f%%", p->loss_pct);
	else
		snprintf(loss, len, "-");
}

void cycle_print_table(const struct cycle_report *rep, FILE *out)
{
	fprintf(out, "%-16s %-6s %-14s %10s %6s %10s %10s %6s %10s  %s\n",
		"SITE", "RESULT", "FAILED_STEP", "EXT_RTT_MS", "LOSS",
		"LOGIN_MS", "INT_RTT_MS", "LOSS", "TEARDOWN", "DETAIL");
	for (size_t i = 0; i < rep->nresults; i++) {
		const struct site_result *r = &rep->results[i];
		char ext[24], extl[24], login[24], in[24], inl[24], td[24];

		fmt_ping(ext, extl, sizeof(ext), r->external_ran, &r->external);
		fmt_ms(login, sizeof(login), r->login_ran, r->login_ms, 1);
		fmt_ping(in, inl, sizeof(in), r->internal_ran, &r->internal);
		fmt_ms(td, sizeof(td), r->teardown_ran, r->teardown_ms, 1);
		fprintf(out, "%-16s %-6s %-14s %10s %6s %10s %10s %6s %10s  %s\n",
			r->site, r->ok ? "OK" : "FAIL",
			r->ok ? "-" : site_step_name(r->failed_step), ext, extl,
			login, in, inl, td, r->detail);
	}
	fprintf(out, "%zu site(s), %zu failed, cycle %.2f s\n", rep->nresults,
		rep->nfailed, rep->duration_s);
}
