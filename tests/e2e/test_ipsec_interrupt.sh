#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ipsec interrupted and left over (lab.sh up 1 --ipsec):
# A. SIGTERM to `epmon -v run` while charon is logging in, once with isolation netns (the
#    default: charon in a site namespace) and once with isolation mode none (charon in the
#    probe namespace; its private /run either way). The moment is made certain: the
#    responder is stopped first (lab.sh ike-stop: UDP 500/4500 closed, nothing answers)
#    and login_timeout is 30 s, so once epmon's -v log shows charon's "sending packet: ...
#    to RESPONDER[500]" epmon has loaded the connection over VICI, swanctl --initiate runs
#    and charon waits for an IKE_SA_INIT answer that cannot come; only then SIGTERM. epmon
#    must exit 0 within teardown_timeout (3 s) + 10 s, log the site as aborted, write no
#    row, and leave nothing: no charon (its pid gone), no private directory
#    /run/epmon/SITE.XXXXXX (it holds the EAP secret), no site namespace, no epmon-v* veth,
#    no nftables table, no ipsec0, the probe's routes, ip_forward and resolv.conf as
#    before. The responder is started again (ike-start) after each exit and holds no SA;
#    the lab is this test's own and lab_exit takes it down if a check fails.
# B. A real charon left running in the probe namespace (isolation mode none), as after a
#    crash of an earlier monitor: started by the test as epmon starts it (a private 0700
#    directory /run/epmon/SITE.XXXXXX bound onto /run in a mount namespace of its own,
#    epmon's strongswan.conf with kernel-libipsec, STRONGSWAN_CONF, the inline connection
#    "epmon" with the EAP secret in a 0600 swanctl.conf there), loaded and initiated with
#    swanctl over its VICI socket: connected (CHILD_SA installed, the route to the
#    intranet host through ipsec0). It holds UDP 500/4500 and ipsec0 in the probe
#    namespace: a second charon there gets no IKE answer ("gateway unreachable").
#    B1. with `process_names: [charon]` (the documented way to name stale clients):
#        `epmon once` stops it ("stopped 1 stale client process(es)"), logs in OK, and the
#        probe is as it was;
#    B2. with the default configuration: what a user expects is the same (epmon stops its
#        own leftover charon, logs in OK, leaves the probe as it was).
#    After each, the responder holds no IKE_SA (the stale one replaced by epmon's
#    INITIAL_CONTACT or deleted, epmon's own terminated).
set -u
E2E_PREFIX=${E2E_PREFIX:-ikint$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ike_test_setup
require_cmd unshare base64
SITE=ikint$$
TD=3
write_config "$TMP/netns.yml" <<YAML
$(lab_ipsec_site "$SITE" login_timeout=30 teardown_timeout=$TD)
YAML
E2E_CONFIG_EXTRA=$(isolation_none_yaml)
write_config "$TMP/none-a.yml" <<YAML
$(lab_ipsec_site "$SITE" login_timeout=30 teardown_timeout=$TD)
YAML
write_config "$TMP/none.yml" <<YAML
$(lab_ipsec_site "$SITE" login_timeout=5 teardown_timeout=$TD)
YAML
write_config "$TMP/none-names.yml" <<YAML
$(lab_ipsec_site "$SITE" login_timeout=5 teardown_timeout=$TD process_names="[charon]")
YAML
probe_snapshot "$TMP"

# assert_no_ike_sas WHAT: the responder holds no IKE_SA (it may take a moment to process a
# DELETE: up to 3 s).
assert_no_ike_sas() {
	local i
	for i in $(seq 60); do
		[ -z "$(ike_responder_sas)" ] && break
		sleep 0.05
	done
	[ -z "$(ike_responder_sas)" ] || fail "$1: the responder still holds an IKE_SA: $(ike_responder_sas)"
	e2e_log "ok: $1: the responder holds no IKE_SA"
}

# A. SIGTERM mid-login, in both isolation modes
for mode in netns none; do
	cfg=$TMP/netns.yml
	[ "$mode" = none ] && cfg=$TMP/none-a.yml
	lab_cmd ike-stop
	run_until_moment "term-$mode" "$cfg" "$SITE" \
		"\[$SITE\] client: .*sending packet: from .* to $LAB_IKE_IP\[500\]"
	compgen -G "/run/epmon/$SITE.??????" >/dev/null ||
		fail "A $mode: no private directory /run/epmon/$SITE.XXXXXX while charon logs in"
	sigterm_assert "term-$mode" "$SITE" $TD
	lab_cmd ike-start
	grep -q "\[$SITE\] client stopped in .* by SIGINT" "$TMP/term-$mode.err" ||
		fail "A $mode: charon was not stopped by SIGINT"
	ike_assert_no_dir "$SITE"
	assert_no_ike_sas "A $mode"
	probe_assert_clean "$TMP"
done

# stale_charon: start a charon in the probe namespace as epmon starts it (its private
# directory, in STALE_DIR, bound onto /run) and connect it; its pid in STALE.
stale_charon() {
	local i route
	# /run/epmon as epmon makes it (0700) if it is not there yet
	[ -d /run/epmon ] || mkdir -m 700 /run/epmon || fail "mkdir /run/epmon"
	STALE_DIR=$(mktemp -d "/run/epmon/$SITE.XXXXXX") ||
		fail "mktemp -d /run/epmon/$SITE.XXXXXX"
	E2E_DIRS+=("$STALE_DIR")
	cat >"$STALE_DIR/strongswan.conf" <<-'EOF' || fail "cannot write $STALE_DIR/strongswan.conf"
		# written by epmon for one site test; charon sees this directory as /run
		charon {
		    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints revocation sha1 sha2 hmac kdf aes gcm kernel-libipsec kernel-netlink socket-default vici eap-identity eap-mschapv2 eap-md5
		    routing_table = 254
		    routing_table_prio = 0
		    install_dns = no
		    plugins {
		        vici { socket = unix:///run/charon.vici }
		    }
		    filelog {
		        stderr { default = 1 }
		    }
		}
		swanctl {
		    load = pem pkcs1 pkcs8 x509 openssl
		}
	EOF
	# the secret as epmon writes it (base64, from the password file; never in argv)
	(umask 077
	 cat <<-EOF
		connections {
		    epmon {
		        version = 2
		        remote_addrs = $LAB_IKE_IP
		        vips = 0.0.0.0
		        encap = yes
		        local {
		            auth = eap-mschapv2
		            eap_id = $LAB_USER
		        }
		        remote {
		            auth = pubkey
		            id = $LAB_IKE_REMOTE_ID
		            cacerts = $LAB_IKE_CA
		        }
		        children {
		            epmon {
		                remote_ts = 0.0.0.0/0
		            }
		        }
		    }
		}
		secrets {
		    eap-epmon {
		        id = $LAB_USER
	EOF
	 printf '        secret = 0s%s\n    }\n}\n' "$(head -n 1 "$LAB_PASSWORD_FILE" | tr -d '\r\n' | base64 -w 0)"
	) >"$STALE_DIR/swanctl.conf" || fail "cannot write $STALE_DIR/swanctl.conf"
	ip netns exec "$LAB_NS_PROBE" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		STRONGSWAN_CONF=/run/strongswan.conf unshare -m --propagation private \
		sh -c "mount --bind '$STALE_DIR' /run && exec /usr/lib/ipsec/charon" \
		>"$TMP/stale-charon.log" 2>&1 &
	STALE=$!
	register_pid "$STALE"
	for i in $(seq 200); do
		[ -S "$STALE_DIR/charon.vici" ] && break
		lab_alive "$STALE" || break
		sleep 0.05
	done
	[ -S "$STALE_DIR/charon.vici" ] ||
		{ sed 's/^/    stale| /' "$TMP/stale-charon.log" >&2; fail "the stale charon did not open its VICI socket"; }
	stale_swanctl --load-all --noprompt --file "$STALE_DIR/swanctl.conf"
	stale_swanctl --initiate --ike epmon --child epmon --timeout 10
	route=$(ip -n "$LAB_NS_PROBE" route get "$LAB_IKE_INTRANET_IP" 2>&1 | head -1)
	assert_match "dev ipsec0" "$route" "route of the stale charon $STALE"
	assert_eq charon "$(cat "/proc/$STALE/comm")" "comm of the stale client $STALE"
	e2e_log "stale charon $STALE connected ($STALE_DIR): $route"
}

# stale_swanctl ARGS...: swanctl ARGS against the stale charon (as epmon runs it).
stale_swanctl() {
	local out
	out=$(STRONGSWAN_CONF=$STALE_DIR/strongswan.conf swanctl "$@" \
		--uri "unix://$STALE_DIR/charon.vici" 2>&1) && return 0
	printf '%s\n' "$out" | sed 's/^/    swanctl| /' >&2
	sed 's/^/    stale| /' "$TMP/stale-charon.log" >&2
	fail "swanctl $1 of the stale charon $STALE failed"
}

# assert_ok_after_stale RUN ROWS: the row of once RUN is OK, says one stale client was
# stopped, the stale charon is gone; then its directory is removed and nothing of epmon's
# own is left.
assert_ok_after_stale() {
	local run=$1 rows=$2
	CSV=$(results_file "$TMP/results")
	assert_eq "$rows" "$(csv_count "$TMP/results")" "$run: rows written"
	get() { csv_get "$CSV" "$SITE" "$1"; }
	assert_eq OK "$(get result)" "$run: result (detail: $(get detail))"
	assert_positive "$(get login_ms)" "$run: login_ms"
	assert_positive "$(get internal_rtt_ms)" "$run: internal_rtt_ms"
	assert_match "^stopped 1 stale client process\(es\) before the test$" "$(get detail)" "$run: detail"
	grep -q "stale VPN client pid $STALE stopped before the test" "$TMP/$run.err" ||
		fail "$run: the log does not name the stale charon $STALE"
	lab_alive "$STALE" && fail "$run: stale charon $STALE still alive"
	wait "$STALE" 2>/dev/null
	e2e_log "ok: $run: stale charon $STALE is gone"
	rm -rf -- "$STALE_DIR"
	ike_assert_no_dir "$SITE"
	assert_no_ike_sas "$run"
}

# B1. process_names: [charon]
stale_charon
probe_epmon once-names -v once -c "$TMP/none-names.yml"
assert_ok_after_stale once-names 1
assert_eq 0 "$EPMON_RC" "B1: exit status of once"
probe_assert_clean "$TMP"

# B2. the default configuration
stale_charon
probe_epmon once-default -v once -c "$TMP/none.yml"
assert_ok_after_stale once-default 2
assert_eq 0 "$EPMON_RC" "B2: exit status of once"
probe_assert_clean "$TMP"
e2e_log "PASS"
