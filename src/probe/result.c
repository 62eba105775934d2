/* SPDX-License-Identifier: MIT */
#include "probe/site.h"

/* Lives apart from site.c so the CSV writer and its tests need no site engine. */
const char *site_step_name(enum site_step s)
{
	switch (s) {
	case STEP_NONE:
		return "";
	case STEP_EXTERNAL_PING:
		return "external_ping";
	case STEP_VPN_LOGIN:
		return "vpn_login";
	case STEP_INTERNAL_PING:
		return "internal_ping";
	case STEP_TEARDOWN:
		return "teardown";
	}
	return "unknown";
}
