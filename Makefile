# Berth: the one entry point. `make run` boots the appliance in QEMU, `make test`
# runs every test tier. Both start with `make deps`.
.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD   ?= build
B       := $(abspath $(BUILD))
VERSION := $(shell cat VERSION)
GITREV  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
SYSROOT := $(B)/sysroot

# Hardened flags (style.md #12); tests/unit/check-hardening confirms they took effect.
WARN    := -std=gnu11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes
DEFS    := -D_GNU_SOURCE -DBERTH_VERSION='"$(VERSION) ($(GITREV))"'
# inih is compiled with Berth's options; every includer of ini.h must agree.
INIH_DEFS := -DINI_ALLOW_INLINE_COMMENTS=0 -DINI_ALLOW_MULTILINE=0 -DINI_MAX_LINE=4096 \
             -DINI_HANDLER_LINENO=1

# Target: static PIE against musl (specs made by deps/build-sysroot).
TCC     := gcc -specs $(B)/musl-static-pie.specs
TCFLAGS := $(WARN) $(DEFS) $(INIH_DEFS) -O2 -fPIE -fstack-protector-strong \
           -fstack-clash-protection -fcf-protection -isystem $(B)/kheaders -I$(SYSROOT)/include
TLDFLAGS := -Wl,-z,relro,-z,now,-z,noexecstack

# Host: glibc with ASan and UBSan, for the unit tests.
HCC     := gcc
HCFLAGS := $(WARN) $(DEFS) $(INIH_DEFS) -g -O1 -fno-omit-frame-pointer \
           -fsanitize=address,undefined -fno-sanitize-recover=all -I$(SYSROOT)/include

INIT_SRCS := $(wildcard init/*.c)
INIT_HDRS := $(wildcard init/*.h)
INIT_PURE := init/parse.c init/conf.c

# Unit tests and fuzzers of the supervisor's pure parts (host, ASan+UBSan; the
# fuzzers with libFuzzer). Each links the sources it needs and the same inih.
HOST_TESTS := $(B)/host/test-values $(B)/host/test-authz $(B)/host/test-units $(B)/host/test-netlink \
              $(B)/host/test-nft
HOST_FUZZ := $(B)/host/fuzz-authz $(B)/host/fuzz-unit $(B)/host/fuzz-proto
HOST_TESTS += $(B)/host/test-archive $(B)/host/test-imgmeta
HOST_FUZZ += $(B)/host/fuzz-archive
HOST_TESTS += $(B)/host/test-trust
.PHONY: all deps image test test-unit test-system run bench clean distclean
all: $(B)/init/berth-init $(B)/supervisor/berth-run $(B)/supervisor/berthd $(B)/supervisor/berthctl \
	$(B)/supervisor/berth-image $(B)/supervisor/berth-sign

deps: $(B)/stamps/deps
$(B)/stamps/deps: deps/pins deps/host-packages deps/install-host-packages deps/fetch deps/build-sysroot \
		deps/dropbear-localoptions.h
	deps/install-host-packages
	BUILD=$(B) deps/fetch
	BUILD=$(B) deps/build-sysroot
	@touch $@

$(B)/init/berth-init.unstripped: $(INIT_SRCS) $(INIT_HDRS) VERSION $(B)/stamps/deps
	@mkdir -p $(@D)
	$(TCC) $(TCFLAGS) $(TLDFLAGS) -o $@ $(INIT_SRCS) $(SYSROOT)/lib/libinih.a

$(B)/init/berth-init: $(B)/init/berth-init.unstripped
	strip -o $@ $<

# Host builds for the unit tests: the same sources and the same inih.
$(B)/host/inih.o: $(B)/stamps/deps
	@mkdir -p $(@D)
	$(HCC) $(HCFLAGS) -w -c -o $@ $(B)/inih-src/ini.c

$(B)/host/test-init: tests/unit/test-init.c tests/unit/t.h $(INIT_PURE) $(INIT_HDRS) $(B)/host/inih.o
	$(HCC) $(HCFLAGS) -Iinit -Itests/unit -o $@ tests/unit/test-init.c $(INIT_PURE) $(B)/host/inih.o

# SSH: the public key authorized for admin and ops. Without SSH_KEY=, a key
# pair made once under build/ssh (a throwaway for `make run` and the tests).
SSH_KEY ?= $(B)/ssh/id_ed25519.pub
$(B)/ssh/id_ed25519.pub:
	@mkdir -p $(@D)
	ssh-keygen -q -t ed25519 -N '' -C 'berth throwaway key' -f $(B)/ssh/id_ed25519

# Image trust: the root key whose public half the image carries. Without
# TRUST_ROOT=, a key pair made once under build/trust (a throwaway for `make run`
# and the tests; docs/trust.md says how to keep a real one offline).
TRUST_ROOT ?= $(B)/trust/root.pub
$(B)/trust/root.pub: | $(B)/supervisor/berth-sign
	@mkdir -p $(@D)
	cd $(@D) && $(B)/supervisor/berth-sign keygen root

# Container images, baked into both root images at /usr/lib/berth/images/NAME
# (images/README.md); the stamp sits beside the tree, not in it.
IMAGES := base httpd
$(B)/images/%.stamp: $(shell find images -type f) VERSION $(B)/stamps/deps
	images/build-image $* $(B)/images/$* $(B)/deps/busybox/bin/busybox
	@touch $@

# Images: the shipped one, and the test one (the shipped root plus tests/system/overlay,
# without the example units of configs/units).
IMAGE_INPUTS := $(B)/init/berth-init $(B)/supervisor/berth-run $(B)/supervisor/berthd $(B)/supervisor/berthctl \
                $(B)/supervisor/berth-image $(TRUST_ROOT) $(SSH_KEY) $(wildcard rootfs/* rootfs/skel/*/* configs/* configs/units/*) VERSION \
                $(IMAGES:%=$(B)/images/%.stamp)
image: $(B)/image/root.img
$(B)/image/root.img: $(IMAGE_INPUTS)
	BUILD=$(B) VERSION="$(VERSION) ($(GITREV))" SSH_KEY=$(SSH_KEY) TRUST_ROOT=$(TRUST_ROOT) rootfs/mkimage $(B)/image

$(B)/test-image/root.img: $(IMAGE_INPUTS) $(B)/ssh/id_ed25519.pub $(B)/tests/probe $(B)/tests/rootfs/.stamp \
		$(B)/tests/nft-check \
		$(shell find tests/system/overlay -type f 2>/dev/null)
	BUILD=$(B) VERSION="$(VERSION) ($(GITREV))" SSH_KEY=$(B)/ssh/id_ed25519.pub TRUST_ROOT=$(TRUST_ROOT) UNITS= rootfs/mkimage $(B)/test-image tests/system/overlay \
		$(B)/tests/probe:/usr/libexec/berth-test/probe $(B)/tests/rootfs:/usr/lib/berth/images/probe \
		$(B)/tests/nft-check:/usr/libexec/berth-test/nft-check \
		$(B)/supervisor/berthd:/usr/libexec/berth-test/berthd

# The shipped image as the operations scenarios boot it (tests/system/test_ops.py):
# the same root, units and images, with the tests' key and the probe image beside
# base and httpd.
$(B)/ops-image/root.img: $(IMAGE_INPUTS) $(B)/ssh/id_ed25519.pub $(B)/tests/rootfs/.stamp
	BUILD=$(B) VERSION="$(VERSION) ($(GITREV))" SSH_KEY=$(B)/ssh/id_ed25519.pub TRUST_ROOT=$(TRUST_ROOT) rootfs/mkimage $(B)/ops-image \
		$(B)/tests/rootfs:/usr/lib/berth/images/probe

# The container image the probe suite runs in: busybox, the probe, and a
# setuid-root copy of it (which must gain nothing under no_new_privs).
$(B)/tests/rootfs/.stamp: images/build-rootfs $(B)/tests/probe $(B)/stamps/deps
	images/build-rootfs $(B)/tests/rootfs $(B)/deps/busybox/bin/busybox \
		$(B)/tests/probe:usr/bin/probe $(B)/tests/probe:usr/bin/probe-suid:4755
	@touch $@

# The nftables and netlink checks (tests/unit/test-nft.c), built for the guest:
# the appliance's own kernel and modules must run the rules too.
$(B)/tests/nft-check: tests/unit/test-nft.c tests/unit/t.h supervisor/nft.c supervisor/netlink.c supervisor/lib/err.c \
		supervisor/lib/values.c $(SUP_HDRS) $(B)/stamps/deps
	@mkdir -p $(@D)
	$(TCC) $(TCFLAGS) $(TLDFLAGS) -Isupervisor -Itests/unit -o $@ $< supervisor/nft.c supervisor/netlink.c \
		supervisor/lib/err.c supervisor/lib/values.c

$(B)/tests/probe: tests/helpers/probe.c $(B)/stamps/deps
	@mkdir -p $(@D)
	$(TCC) $(TCFLAGS) $(TLDFLAGS) -o $@ $<

run: deps image
	@echo "berth: log in with: ssh -i $(SSH_KEY:.pub=) -p $${BERTH_SSH_PORT:-2222} -o UserKnownHostsFile=$(B)/ssh/known_hosts admin@127.0.0.1"
	qemu/run --image $(B)/image -- berth.debug_shell=1 $(RUN_ARGS)

test: deps all $(B)/tests/seccomp-dump \
		$(B)/host/test-init $(B)/host/test-supervisor $(B)/host/fuzz-init-parse $(B)/host/fuzz-seccomp-profile \
		$(HOST_TESTS) $(HOST_FUZZ) $(B)/test-image/root.img $(B)/image/root.img $(B)/ops-image/root.img
	BUILD=$(B) tests/run

# make bench (docs/benchmarks.md): the shipped image plus Debian's crun and runc
# (with the shared libraries they load), a busybox rootfs with benchtool, and the
# OCI bundles. Benchmarks report; they never fail on a timing.
$(B)/bench/benchtool: tests/bench/benchtool.c $(B)/stamps/deps
	@mkdir -p $(@D)
	$(TCC) $(TCFLAGS) $(TLDFLAGS) -o $@ $<
$(B)/bench/rootfs.stamp: images/build-rootfs $(B)/bench/benchtool
	images/build-rootfs $(B)/bench/rootfs $(B)/deps/busybox/bin/busybox $(B)/bench/benchtool:usr/bin/benchtool
	@touch $@
$(B)/bench/overlay.stamp: tests/bench/make-overlay tests/bench/oci-config deps/bench-packages
	deps/install-host-packages deps/bench-packages
	tests/bench/make-overlay $(B)/bench/overlay
	@touch $@
$(B)/bench-image/root.img: $(IMAGE_INPUTS) $(B)/ssh/id_ed25519.pub $(B)/bench/rootfs.stamp $(B)/bench/overlay.stamp
	BUILD=$(B) VERSION="$(VERSION) ($(GITREV))" SSH_KEY=$(B)/ssh/id_ed25519.pub TRUST_ROOT=$(TRUST_ROOT) rootfs/mkimage $(B)/bench-image \
		$(B)/bench/overlay $(B)/bench/rootfs:/usr/lib/berth/images/bench $(B)/bench/benchtool:/usr/bin/benchtool
bench: deps all $(B)/image/root.img $(B)/bench-image/root.img
	BUILD=$(B) tests/bench/run

clean:
	rm -rf $(B)/init $(B)/supervisor $(B)/host $(B)/tests $(B)/image/root.img $(B)/image/initramfs.img \
		$(B)/test-image $(B)/ops-image $(B)/bench-image $(B)/bench $(B)/rootfs $(B)/images
distclean:
	rm -rf $(B)

# Fuzz targets (libFuzzer, clang), run for a bounded number of inputs by make test.
$(B)/host/fuzz-init-parse: tests/fuzz/fuzz-init-parse.c init/parse.c init/conf.c $(INIT_HDRS) $(B)/stamps/deps
	@mkdir -p $(@D)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(DEFS) $(INIH_DEFS) \
		-Iinit -I$(SYSROOT)/include -o $@ $< init/parse.c init/conf.c $(B)/inih-src/ini.c

# supervisor/: the container runtime (and, later, berthd and berthctl).
# The runtime and supervisor library: one archive, so each program links only what it uses.
SUP_LIB_SRCS := supervisor/lib/err.c supervisor/lib/diag.c supervisor/lib/values.c supervisor/lib/buf.c \
                supervisor/caps.c supervisor/cgroup.c supervisor/container.c supervisor/idmap.c \
                supervisor/mounts.c supervisor/seccomp.c supervisor/seccomp-default.c supervisor/seccomp-json.c supervisor/spawn.c supervisor/exec.c supervisor/netlink.c supervisor/nft.c \
                supervisor/unit.c supervisor/unit-keys.c supervisor/service.c supervisor/logs.c supervisor/monitor.c \
                supervisor/proto.c supervisor/authz.c supervisor/score.c supervisor/conf.c supervisor/imgstore.c supervisor/trust.c supervisor/archive.c supervisor/imgmeta.c
SUP_HDRS := $(wildcard supervisor/*.h supervisor/lib/*.h)
SUP_OBJS := $(patsubst supervisor/%.c,$(B)/supervisor/obj/%.o,$(SUP_LIB_SRCS))
SUP_LIBS := $(SYSROOT)/lib/libseccomp.a $(SYSROOT)/lib/libcjson.a $(SYSROOT)/lib/libinih.a $(SYSROOT)/lib/libsodium.a $(SYSROOT)/lib/libz.a
$(B)/supervisor/obj/%.o: supervisor/%.c $(SUP_HDRS) VERSION $(B)/stamps/deps
	@mkdir -p $(@D)
	$(TCC) $(TCFLAGS) -Isupervisor -I$(B)/supervisor/gen -c -o $@ $<
# The default seccomp filter, compiled once at build time by the same code and
# libseccomp a start would use (supervisor/seccomp-default.c).
$(B)/supervisor/seccomp-gen: supervisor/seccomp-gen.c supervisor/seccomp.c supervisor/caps.c supervisor/lib/err.c \
		$(SUP_HDRS) $(B)/stamps/deps
	@mkdir -p $(@D)
	$(TCC) $(TCFLAGS) -Isupervisor $(TLDFLAGS) -o $@ supervisor/seccomp-gen.c supervisor/seccomp.c supervisor/caps.c \
		supervisor/lib/err.c $(SYSROOT)/lib/libseccomp.a
$(B)/supervisor/gen/seccomp-precompiled.h: $(B)/supervisor/seccomp-gen
	@mkdir -p $(@D)
	$< > $@.tmp && mv $@.tmp $@
$(B)/supervisor/obj/seccomp-default.o: $(B)/supervisor/gen/seccomp-precompiled.h
$(B)/supervisor/libberth.a: $(SUP_OBJS)
	rm -f $@ && ar rcs $@ $^
$(B)/supervisor/%.unstripped: supervisor/%.c $(B)/supervisor/libberth.a $(SUP_HDRS)
	$(TCC) $(TCFLAGS) -Isupervisor $(TLDFLAGS) -o $@ $< $(if $(filter berthd,$*),$(BERTHD_SRCS)) $(if $(filter berthctl,$*),$(BERTHCTL_SRCS)) \
		$(if $(filter berth-image,$*),$(BERTH_IMAGE_SRCS)) \
		$(B)/supervisor/libberth.a $(SUP_LIBS)
BERTHD_SRCS := supervisor/control.c supervisor/deploy.c supervisor/metrics.c supervisor/network.c
$(B)/supervisor/berthd.unstripped: $(BERTHD_SRCS)
BERTHCTL_SRCS := supervisor/berthctl-ops.c supervisor/berthctl-image.c
$(B)/supervisor/berthctl.unstripped: $(BERTHCTL_SRCS)
BERTH_IMAGE_SRCS := supervisor/berth-image-store.c supervisor/imgsandbox.c
$(B)/supervisor/berth-image.unstripped: $(BERTH_IMAGE_SRCS)
$(B)/supervisor/%: $(B)/supervisor/%.unstripped
	strip -o $@ $<
.PRECIOUS: $(B)/supervisor/%.unstripped

$(B)/tests/seccomp-dump: tests/unit/seccomp-dump.c supervisor/seccomp.c supervisor/seccomp-default.c supervisor/caps.c \
		supervisor/lib/err.c $(SUP_HDRS) $(B)/supervisor/gen/seccomp-precompiled.h $(B)/stamps/deps
	@mkdir -p $(@D)
	$(TCC) $(TCFLAGS) -Isupervisor -I$(B)/supervisor/gen $(TLDFLAGS) -o $@ tests/unit/seccomp-dump.c supervisor/seccomp.c \
		supervisor/seccomp-default.c supervisor/caps.c supervisor/lib/err.c $(SYSROOT)/lib/libseccomp.a

$(B)/host/test-supervisor: tests/unit/test-supervisor.c tests/unit/t.h supervisor/caps.c supervisor/container.c \
		supervisor/idmap.c supervisor/lib/err.c $(SUP_HDRS)
	@mkdir -p $(@D)
	$(HCC) $(HCFLAGS) -Isupervisor -Itests/unit -o $@ tests/unit/test-supervisor.c supervisor/caps.c \
		supervisor/container.c supervisor/idmap.c supervisor/lib/err.c

$(B)/host/fuzz-seccomp-profile: tests/fuzz/fuzz-seccomp-profile.c supervisor/seccomp-json.c supervisor/seccomp.c \
		supervisor/caps.c supervisor/lib/err.c $(SUP_HDRS) $(B)/stamps/deps
	@mkdir -p $(@D)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(DEFS) -Isupervisor \
		-I$(B)/host-sysroot/include -I$(B)/cjson-src -o $@ $< supervisor/seccomp-json.c supervisor/seccomp.c \
		supervisor/caps.c supervisor/lib/err.c $(B)/cjson-src/cJSON.c $(B)/host-sysroot/lib/libseccomp.a

UNIT_SRCS := supervisor/unit.c supervisor/unit-keys.c supervisor/container.c supervisor/caps.c supervisor/lib/values.c \
             supervisor/lib/diag.c supervisor/lib/err.c supervisor/imgmeta.c supervisor/imgstore.c supervisor/archive.c
$(B)/host/test-values: tests/unit/test-values.c tests/unit/t.h supervisor/lib/values.c $(SUP_HDRS)
	@mkdir -p $(@D)
	$(HCC) $(HCFLAGS) -Isupervisor -Itests/unit -o $@ $< supervisor/lib/values.c
$(B)/host/test-netlink: tests/unit/test-netlink.c tests/unit/t.h supervisor/netlink.c supervisor/lib/err.c \
		supervisor/lib/values.c $(SUP_HDRS)
	@mkdir -p $(@D)
	$(HCC) $(HCFLAGS) -Isupervisor -Itests/unit -o $@ $< supervisor/netlink.c supervisor/lib/err.c supervisor/lib/values.c
$(B)/host/test-nft: tests/unit/test-nft.c tests/unit/t.h supervisor/nft.c supervisor/netlink.c supervisor/lib/err.c \
		supervisor/lib/values.c $(SUP_HDRS)
	@mkdir -p $(@D)
	$(HCC) $(HCFLAGS) -Isupervisor -Itests/unit -o $@ $< supervisor/nft.c supervisor/netlink.c supervisor/lib/err.c \
		supervisor/lib/values.c
$(B)/host/test-trust: tests/unit/test-trust.c tests/unit/t.h supervisor/trust.c supervisor/lib/err.c $(SUP_HDRS)
	@mkdir -p $(@D)
	$(HCC) $(HCFLAGS) -Isupervisor -Itests/unit -o $@ $< supervisor/trust.c supervisor/lib/err.c -lsodium
$(B)/host/test-authz: tests/unit/test-authz.c tests/unit/t.h supervisor/authz.c supervisor/lib/diag.c \
		supervisor/lib/values.c $(SUP_HDRS)
	@mkdir -p $(@D)
	$(HCC) $(HCFLAGS) -Isupervisor -Itests/unit -o $@ $< supervisor/authz.c supervisor/lib/diag.c supervisor/lib/values.c
$(B)/host/test-units: tests/unit/test-units.c tests/unit/t.h $(UNIT_SRCS) supervisor/service.c supervisor/proto.c \
		supervisor/logs.c supervisor/score.c supervisor/conf.c $(SUP_HDRS) $(B)/host/inih.o $(B)/host/cjson-asan.o
	$(HCC) $(HCFLAGS) -Isupervisor -Itests/unit -o $@ $< $(UNIT_SRCS) supervisor/service.c supervisor/proto.c \
		supervisor/logs.c supervisor/score.c supervisor/conf.c $(B)/host/inih.o $(B)/host/cjson-asan.o -lz
FUZZ_CC := clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(DEFS) $(INIH_DEFS) \
           -Isupervisor -I$(SYSROOT)/include
$(B)/host/fuzz-authz: tests/fuzz/fuzz-authz.c supervisor/authz.c supervisor/lib/diag.c supervisor/lib/values.c $(SUP_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -o $@ $< supervisor/authz.c supervisor/lib/diag.c supervisor/lib/values.c
$(B)/host/fuzz-unit: tests/fuzz/fuzz-unit.c $(UNIT_SRCS) $(SUP_HDRS) $(B)/stamps/deps
	@mkdir -p $(@D)
	$(FUZZ_CC) -o $@ $< $(UNIT_SRCS) $(B)/inih-src/ini.c $(B)/cjson-src/cJSON.c -lz
$(B)/host/fuzz-proto: tests/fuzz/fuzz-proto.c supervisor/proto.c $(SUP_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -o $@ $< supervisor/proto.c
# The image archive reader and image JSON parsers (cJSON from deps, zlib from the host).
ARCHIVE_SRCS := supervisor/archive.c supervisor/imgmeta.c supervisor/lib/err.c
$(B)/host/cjson-asan.o: $(B)/stamps/deps
	@mkdir -p $(@D)
	$(HCC) $(HCFLAGS) -w -c -o $@ $(B)/cjson-src/cJSON.c
$(B)/host/test-archive $(B)/host/test-imgmeta: $(B)/host/test-%: tests/unit/test-%.c tests/unit/t.h $(ARCHIVE_SRCS) \
		$(SUP_HDRS) $(B)/host/cjson-asan.o
	$(HCC) $(HCFLAGS) -Isupervisor -Itests/unit -I$(B)/cjson-src -o $@ $< $(ARCHIVE_SRCS) $(B)/host/cjson-asan.o -lz
$(B)/host/fuzz-archive: tests/fuzz/fuzz-archive.c $(ARCHIVE_SRCS) $(SUP_HDRS) $(B)/stamps/deps
	@mkdir -p $(@D)
	$(FUZZ_CC) -I$(B)/cjson-src -o $@ $< $(ARCHIVE_SRCS) $(B)/cjson-src/cJSON.c -lz

# Longer fuzzing than make test does: make fuzz FUZZ_RUNS=N
FUZZ_RUNS ?= 20000000
.PHONY: fuzz
fuzz: $(B)/host/fuzz-init-parse $(B)/host/fuzz-seccomp-profile $(HOST_FUZZ)
	@mkdir -p $(B)/tests
	tests/fuzz/run $(B) $(FUZZ_RUNS)
