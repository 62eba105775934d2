# SPDX-License-Identifier: MIT
# epmon - VPN gateway monitor.  `make` builds build/epmon (the daemon only);
# `make check` builds the tests too (cmocka) and runs them, with -Werror.
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
CC        ?= cc
VERSION   := 0.1.0

# -Werror in `make check` and CI (WERROR=-Werror), not in a user's or packager's build
WERROR    ?=
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 $(WERROR)
CFLAGS    ?= -O2 -g
# CPPFLAGS and LDFLAGS as given (a distribution's hardening flags reach every object)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DEPMON_VERSION='"$(VERSION)"' -Isrc $(CPPFLAGS) $(WARN) $(CFLAGS) $(SANFLAGS)
LDLIBS    := -lyaml -lmnl -lnftables -lseccomp -ldl -lpthread -lutil -lm
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRC       := $(wildcard src/*.c src/*/*.c)
LIB_SRC   := $(filter-out src/main.c,$(SRC))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
# tests/unit/<folder>/test_x.c mirrors src/<folder>/; each builds to BUILD/tests/test_x
UNIT_SRC  := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN  := $(addprefix $(BUILD)/tests/,$(notdir $(UNIT_SRC:.c=)))
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

DEB_PKGS  := build-essential pkg-config libyaml-dev libcmocka-dev libmnl-dev libseccomp-dev libcurl4-openssl-dev python3-aiosmtpd libmicrohttpd-dev libnftables-dev nftables iproute2 iputils-ping \
             ocserv openconnect openvpn gnutls-bin procps python3 psmisc strace prometheus prometheus-alertmanager chromium curl tzdata \
             dpkg-dev debhelper lintian systemd
# installed without their recommendations (wireguard-tools recommends a kernel image);
# strongSwan: charon and swanctl, kernel-libipsec (extra), eap-mschapv2 (extauth), openssl
# (standard: ECDSA, curve25519, the MD4/DES EAP-MSCHAPv2 needs through OpenSSL's legacy provider)
DEB_PKGS_NORECS := wireguard-go wireguard-tools strongswan-charon strongswan-swanctl \
             libcharon-extra-plugins libcharon-extauth-plugins libstrongswan-standard-plugins

.PHONY: all tests deps check unit e2e bench soak fuzz install deb clean asan demo lab-up lab-down

all: $(BUILD)/epmon

# the unit tests and the test tools (echo responder, HTTP load)
tests: $(BUILD)/epmon $(UNIT_BIN) $(TOOL_BIN)

# each object depends on the headers it includes (-MMD -MP: BUILD/x.d beside BUILD/x.o)
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d

$(BUILD)/libepmon.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/epmon: $(BUILD)/src/main.o $(BUILD)/libepmon.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

define unit_rule
$(BUILD)/tests/$(notdir $(1:.c=)): $(1) $(BUILD)/libepmon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) -Wno-unused-parameter -MMD -MP $$(LDFLAGS) -o $$@ $$< $(BUILD)/libepmon.a $$(LDLIBS) -lcmocka
endef
$(foreach t,$(UNIT_SRC),$(eval $(call unit_rule,$(t))))

-include $(UNIT_BIN:=.d)

$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -lm

# Installs every build and test dependency (no-op when all are present).
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@missing=$$(for p in $(DEB_PKGS_NORECS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

asan:
	$(MAKE) BUILD=build-asan SANFLAGS="$(SAN)" CFLAGS="-O1 -g" tests

unit: tests
	tests/run.sh unit $(BUILD)

check: deps
	$(MAKE) WERROR=-Werror tests
	$(MAKE) WERROR=-Werror asan
	tests/run.sh all build build-asan

e2e: tests
	tests/run.sh e2e $(BUILD)

bench: tests
	bench/run.sh $(BUILD)

# Not part of `check`: SOAK_CYCLES (1000) cycles every SOAK_FREQUENCY (2) s against the lab with
# faults injected; prints RSS, fds, lateness, faults and alerts seen, fails on a missed target.
soak: all
	bench/soak.sh $(BUILD)

# libFuzzer harnesses (fuzz/fuzz_NAME.c), not part of `check` (README "Fuzzing"):
# clang with ASan+UBSan, the library objects rebuilt the same way in
# $(BUILD)/fuzz/; each harness runs FUZZ_SECONDS, and a crash, leak, sanitizer
# report or input over 1 s fails (fuzz/run.sh). Other FUZZ_SAN: another BUILD
# (objects do not track flags).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     ?= -fsanitize=address,undefined -fno-sanitize-recover=all
# (-Wno-format-nonliteral: clang, unlike gcc, warns on vprintf(fmt, ap) too)
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -DEPMON_VERSION='"$(VERSION)"' -Isrc $(CPPFLAGS) $(WARN) \
		-Wno-format-nonliteral -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_SRC     := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(BUILD)/fuzz/%.o)

fuzz: $(FUZZ_BIN)
	fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

$(BUILD)/fuzz/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(BUILD)/fuzz/libepmon.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(BUILD)/fuzz/libepmon.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP $(LDFLAGS) -o $@ $< \
		$(BUILD)/fuzz/libepmon.a $(LDLIBS)

-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:=.d)

demo: deps tests
	tests/lab/demo.sh $(BUILD)/epmon

install: $(BUILD)/epmon
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/doc/epmon \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0755 $(BUILD)/epmon $(DESTDIR)$(PREFIX)/sbin/epmon
	install -m 0644 config.example.yml README.md doc/config.md LICENSE $(DESTDIR)$(PREFIX)/share/doc/epmon/
	install -m 0644 doc/epmon.8 $(DESTDIR)$(PREFIX)/share/man/man8/epmon.8
	install -m 0644 doc/epmon.yml.5 $(DESTDIR)$(PREFIX)/share/man/man5/epmon.yml.5

# The Debian package (debian/): dpkg-buildpackage -b in a copy of what the build needs under
# $(BUILD)/deb, so nothing is written in the tree; the .deb lands in $(BUILD)/deb/.
# MAKEFLAGS cleared (this make's jobserver and variables); debian/rules sets BUILD and the rest.
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/epmon-$(VERSION)
	tar -c Makefile LICENSE README.md config.example.yml src doc contrib/systemd debian | \
		tar -x -C $(BUILD)/deb/epmon-$(VERSION)
	cd $(BUILD)/deb/epmon-$(VERSION) && \
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -b -us -uc -jauto
	@ls $(BUILD)/deb/*.deb

clean:
	rm -rf build build-asan
