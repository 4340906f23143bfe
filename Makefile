# SPDX-License-Identifier: GPL-2.0
# kmemlab: see README.md. Every target installs what it needs (scripts/deps.sh).

SHELL := /bin/bash
# The guest kernel ("lane"): 6.1 (default; std is its old name), 6.12, rt or
# debug (scripts/kernel.sh). Each lane has its own module tree and initramfs
# in build/LANE. KDIR=... builds against another tree instead.
KERNEL ?= 6.1
LANE := $(if $(filter std,$(KERNEL)),6.1,$(KERNEL))
ifeq ($(filter $(LANE),6.1 6.12 rt debug),)
$(error KERNEL is one of 6.1, 6.12, rt, debug (std = 6.1), not '$(KERNEL)')
endif
B := build
KSRC := $(B)/ksrc
KSFT := $(abspath $(KSRC)/tools/testing/selftests)
SRC_TARBALL := /usr/src/linux-source-6.1.tar.xz

CORE_SRCS := $(wildcard module/core/*.c)
CORE_HDRS := $(wildcard module/core/*.h)
MODULE_SRCS := Kbuild $(wildcard module/*.c module/*.h module/include/*.h \
	module/include/uapi/*.h module/tests/*.c module/bench/*.c) $(CORE_SRCS) $(CORE_HDRS)
HOST_TESTS := $(patsubst selftests/core/%.c,$(B)/host/%,$(wildcard selftests/core/*_test.c))
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# The host tests check every internal invariant (platform.h's KML_DEBUG).
HOST_CFLAGS := -g -O1 -Wall -Werror -DKML_DEBUG=2 -I$(KSFT) -Iselftests/core $(SANITIZE)

.PHONY: all shim tools deps module module-debug kbuild kbuild-run extern extern-run guest-image-run selftests host-tests image image-debug guest-image \
	check check-debug stress demo vm lint sparse bench clean

all: module selftests host-tests tools shim

# The malloc shim, its tests and benchmark programs (built in shim/).
shim: $(KSRC)/.stamp
	@$(MAKE) --no-print-directory -s -C shim progs KSFT=$(KSFT)

# What the VM needs of the host for the shim's tests: the programs run
# under LD_PRELOAD, and python3's standard library without its tests.
PY_LIB := /usr/lib/python3.11
PY_EXCLUDES := test idlelib tkinter turtledemo lib2to3 ensurepip pydoc_data __pycache__ \
	site-packages dist-packages 'config-3.11-*' '_test*' 'xx*' '_ctypes_test*' '_curses*' \
	'_dbm*' 'nis.*' 'ossaudiodev*' 'readline*' '_sqlite3*' '_tkinter*'

$(B)/python/.stamp: | deps
	@rm -rf $(B)/python && mkdir -p $(B)/python
	tar -C $(dir $(PY_LIB)) -cf - $(addprefix --exclude=,$(PY_EXCLUDES)) $(notdir $(PY_LIB)) \
		| tar -C $(B)/python -xf -
	@touch $@

# User-space tools that go into the guest.
tools: $(B)/tools/kmlctl $(B)/tools/kmlheap $(B)/tools/mallocdemo

$(B)/tools/%: tools/%.c module/include/uapi/kmemlab.h
	@mkdir -p $(B)/tools
	$(CC) -O2 -Wall -Wextra -Werror -Imodule/include/uapi -o $@ $<

$(B)/tools/kmlheap: tools/kmlheap.c shim/kml.c shim/kml.h module/include/uapi/kmemlab.h
	@mkdir -p $(B)/tools
	$(CC) -O2 -Wall -Wextra -Werror -Imodule/include/uapi -Ishim -o $@ tools/kmlheap.c shim/kml.c

deps:
	@scripts/deps.sh

# kselftest and checkpatch come from Debian's linux-source-6.1 at build time.
KSRC_FILES := tools/testing/selftests/kselftest.h \
	tools/testing/selftests/kselftest_harness.h \
	tools/testing/selftests/kselftest_module.h \
	tools/testing/selftests/kselftest/runner.sh \
	tools/testing/selftests/kselftest/prefix.pl \
	tools/testing/selftests/run_kselftest.sh \
	tools/testing/selftests/lib.mk \
	scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch

$(KSRC)/.stamp: | deps
	@mkdir -p $(KSRC)
	tar -xJf $(SRC_TARBALL) -C $(KSRC) --strip-components=1 \
		$(addprefix linux-source-6.1/,$(KSRC_FILES))
	@touch $@

# The module is built in a copy of the sources per lane, so that the source
# tree stays clean and two kernels never share objects. The lane's kernel
# tree is looked up (and fetched) only once deps.sh has run.
FDIR = $(B)/$(LANE)

module: $(KSRC)/.stamp | deps
	@kdir=$${KDIR:-$$(scripts/kernel.sh $(LANE) --kdir)} && \
	$(MAKE) --no-print-directory kbuild KBUILD_KDIR=$$kdir

module-debug:
	@$(MAKE) --no-print-directory module KERNEL=debug

# Kbuild takes seconds to find nothing to do: skip it when no source is
# newer than the built modules (the stamp is written after a clean build).
kbuild:
	@if [ -f $(FDIR)/kbuild/.built ] && [ -z "$$(find $(MODULE_SRCS) -newer $(FDIR)/kbuild/.built | head -n 1)" ] && \
	    [ "$$(cat $(FDIR)/kbuild/.built)" = "$(KBUILD_KDIR)" ]; then exit 0; fi; \
	$(MAKE) --no-print-directory kbuild-run KBUILD_KDIR=$(KBUILD_KDIR)

kbuild-run:
	@mkdir -p $(FDIR)/kbuild
	@cp -u --parents $(MODULE_SRCS) $(FDIR)/kbuild/
	@cp -u $(KSFT)/kselftest_module.h $(FDIR)/kbuild/module/tests/
	@echo "  KBUILD  kmemlab for kernel $(LANE) ($(KBUILD_KDIR))"
	@set -o pipefail; $(MAKE) -C $(KBUILD_KDIR) M=$(abspath $(FDIR)/kbuild) W=1 \
		$(if $(filter debug,$(LANE)),KML_DEBUG=1) modules 2>&1 | tee $(FDIR)/build.log
	@! grep -E 'warning:|error:' $(FDIR)/build.log
	@echo "$(KBUILD_KDIR)" > $(FDIR)/kbuild/.built

# Unmodified kernel modules on kmemlab (module/extern/Kbuild): brd.ko and
# minix.ko from drivers/block/brd.c and fs/minix/ of the Debian linux-source
# that matches the lane (scripts/linux-source.sh), extracted into build/ at
# build time and compiled with -include module/include/kmemlab/redirect.h
# against kmemlab's Module.symvers. Warnings in their sources are theirs and
# do not fail the build (W=1 shows them in build/LANE/extern.log); errors,
# undefined symbols and any warning in kmemlab's headers do.
SRC_SERIES := $(if $(filter 6.12,$(LANE)),6.12,6.1)
EXTERN_SRCS := drivers/block/brd.c fs/minix
EXTERN_DEPS := module/extern/Kbuild module/include/kmemlab/redirect.h module/include/kmemlab.h \
	module/include/kmemlab_flags.h

extern: module
	@kdir=$${KDIR:-$$(scripts/kernel.sh $(LANE) --kdir)} && \
	if [ -f $(FDIR)/extern/.built ] && [ "$$(cat $(FDIR)/extern/.built)" = "$$kdir" ] && \
	    [ -z "$$(find $(EXTERN_DEPS) $(FDIR)/kbuild/Module.symvers -newer $(FDIR)/extern/.built | head -n 1)" ]; then \
		exit 0; fi; \
	$(MAKE) --no-print-directory extern-run KBUILD_KDIR=$$kdir

extern-run:
	@tarball=$$(scripts/linux-source.sh $(LANE)) && src=$(B)/src-$(SRC_SERIES) && \
	if [ "$$(cat $$src/.stamp 2>/dev/null)" != "$$tarball $$(stat -c %Y $$tarball)" ]; then \
		echo "  EXTRACT $(EXTERN_SRCS) from $$tarball"; \
		rm -rf $$src && mkdir -p $$src && \
		tar -xJf $$tarball -C $$src --strip-components=1 \
			$(addprefix linux-source-$(SRC_SERIES)/,$(EXTERN_SRCS)) && \
		echo "$$tarball $$(stat -c %Y $$tarball)" > $$src/.stamp; \
	fi && \
	rm -rf $(FDIR)/extern && mkdir -p $(FDIR)/extern/minix && \
	cp $$src/drivers/block/brd.c $(FDIR)/extern/ && cp $$src/fs/minix/*.[ch] $(FDIR)/extern/minix/ && \
	cp module/extern/Kbuild $(FDIR)/extern/
	@echo "  KBUILD  brd.ko and minix.ko (linux-source-$(SRC_SERIES), unmodified) on kmemlab for kernel $(LANE)"
	@set -o pipefail; $(MAKE) -C $(KBUILD_KDIR) M=$(abspath $(FDIR)/extern) W=1 \
		KML_REDIRECT=$(abspath module/include/kmemlab/redirect.h) \
		KBUILD_EXTRA_SYMBOLS=$(abspath $(FDIR)/kbuild/Module.symvers) modules 2>&1 | tee $(FDIR)/extern.log
	@! grep -E 'error:|ERROR:|module/include/.*warning:' $(FDIR)/extern.log
	@echo "  extern: $$(grep -c 'warning:' $(FDIR)/extern.log) warnings, all in the kernel's own sources (build/$(LANE)/extern.log)"
	@echo "$(KBUILD_KDIR)" > $(FDIR)/extern/.built

selftests: $(KSRC)/.stamp
	@mkdir -p $(B)/selftests/kmemlab
	$(MAKE) -C selftests/kmemlab KSFT_DIR=$(KSFT) OUTPUT=$(abspath $(B)/selftests/kmemlab)

$(B)/host/%: selftests/core/%.c selftests/core/host_platform.c $(CORE_SRCS) $(CORE_HDRS) $(KSRC)/.stamp
	@mkdir -p $(B)/host
	$(CC) $(HOST_CFLAGS) -o $@ $< selftests/core/host_platform.c $(CORE_SRCS) -lpthread

host-tests: $(HOST_TESTS)

$(B)/host-bench/%: selftests/core/%.c selftests/core/host_platform.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(B)/host-bench
	$(CC) -g -O2 -Wall -Werror -Iselftests/core -o $@ $< selftests/core/host_platform.c $(CORE_SRCS) -lpthread

# The VM part runs on the lane first, then on 6.1 and 6.12 (those not yet run).
BENCH_LANES := $(LANE) $(filter-out $(LANE),6.1 6.12)

bench: image $(B)/host-bench/bench_buddy $(B)/host-bench/bench_slab
	@for l in $(filter-out $(LANE),$(BENCH_LANES)); do \
		$(MAKE) --no-print-directory image KERNEL=$$l || exit 1; done
	@scripts/bench.sh $(BENCH_LANES)

# The guest's /kmemlab: module, test modules, selftests, kselftest runner, tool.
image: module extern selftests tools shim $(B)/python/.stamp
	@$(MAKE) --no-print-directory guest-image

image-debug:
	@$(MAKE) --no-print-directory image KERNEL=debug

GUEST_INPUTS = $(FDIR)/kbuild $(FDIR)/extern $(B)/selftests $(B)/tools $(KSFT) scripts/guest-init \
	scripts/kmemlab selftests/kmemlab Makefile shim $(B)/python/.stamp

guest-image:
	@if [ -f $(FDIR)/initramfs.cpio ] && \
	    [ -z "$$(find $(GUEST_INPUTS) -newer $(FDIR)/initramfs.cpio | head -n 1)" ]; then exit 0; fi; \
	$(MAKE) --no-print-directory guest-image-run

guest-image-run:
	@rm -rf $(FDIR)/guest && mkdir -p $(FDIR)/guest/selftests/kmemlab
	@$(MAKE) -s -C selftests/kmemlab KSFT_DIR=$(KSFT) \
		OUTPUT=$(abspath $(B)/selftests/kmemlab) \
		INSTALL_PATH=$(abspath $(FDIR)/guest/selftests/kmemlab) install >/dev/null
	@$(MAKE) -s --no-print-directory -C selftests/kmemlab KSFT_DIR=$(KSFT) \
		OUTPUT=$(abspath $(B)/selftests/kmemlab) COLLECTION=kmemlab emit_tests \
		| grep '^kmemlab:' > $(FDIR)/guest/selftests/kselftest-list.txt
	@{ echo "scripts/guest-init /init"; \
	   echo "/bin/busybox /bin/busybox"; \
	   echo "/usr/bin/timeout /usr/bin/timeout"; \
	   echo "scripts/kmemlab /kmemlab/bin/kmemlab"; \
	   echo "$(B)/tools/kmlctl /kmemlab/bin/kmlctl"; \
	   echo "$(B)/tools/kmlheap /kmemlab/bin/kmlheap"; \
	   echo "$(B)/tools/mallocdemo /kmemlab/bin/mallocdemo"; \
	   echo "shim/libkmemlab-malloc.so /kmemlab/shim/libkmemlab-malloc.so"; \
	   echo "shim/tests/run.sh /kmemlab/shim/tests/run.sh"; \
	   for t in shim/tests/t_*; do case $$t in *.c) ;; *) echo "$$t /kmemlab/$$t" ;; esac; done; \
	   for t in shim/bench/*; do case $$t in *.[ch]) ;; *) echo "$$t /kmemlab/$$t" ;; esac; done; \
	   for p in sort gzip find; do echo "/usr/bin/$$p /kmemlab/host/bin/$$p"; done; \
	   echo "$$(readlink -f /usr/bin/python3) /kmemlab/host/bin/python3"; \
	   echo "$(B)/python/$(notdir $(PY_LIB)) $(PY_LIB)"; \
	   for k in $(FDIR)/kbuild/*.ko; do echo "$$k /kmemlab/$$(basename $$k)"; done; \
	   for k in $(FDIR)/extern/*.ko; do echo "$$k /kmemlab/extern/$$(basename $$k)"; done; \
	   for p in mkfs.minix fsck.minix; do echo "/sbin/$$p /sbin/$$p"; done; \
	   echo "$(KSFT)/kselftest /kmemlab/selftests/kselftest"; \
	   echo "$(KSFT)/run_kselftest.sh /kmemlab/selftests/run_kselftest.sh"; \
	   echo "$(FDIR)/guest/selftests /kmemlab/selftests"; \
	} > $(FDIR)/manifest
	@scripts/mkinitramfs.sh $(FDIR)/stage $(FDIR)/initramfs.cpio < $(FDIR)/manifest

# CHECK_HOST=0 skips the host suites (they do not depend on the lane).
CHECK_HOST ?= 1
check: all
	@KML_CHECK_HOST=$(CHECK_HOST) scripts/check.sh $(LANE)

# The VM suites on the debug kernel (KASAN, lockdep, kmemleak, lockup
# detectors; built once and cached): make check KERNEL=debug CHECK_HOST=0.
check-debug: selftests
	@KML_CHECK_HOST=0 scripts/check.sh debug

# The big sizes (64 000 VMAs, 32 000 heaps, 3000 forks) and the fuzzers at
# 1 000 000 calls, in one boot of the lane (selftests/kmemlab/stress.sh):
# longer than make check wants. make stress KERNEL=debug for the debug lane.
stress: selftests
	@KML_CHECK_HOST=0 KML_CHECK_VM=stress scripts/check.sh $(LANE)

demo: image
	scripts/vm.sh --kernel $(LANE) --load kmemlab -- kmemlab demo

vm: image
	scripts/vm.sh --kernel $(LANE) --load kmemlab

# module/compat.h is the one place that tests LINUX_VERSION_CODE (its job), and
# calls the page-flag helpers whose names are CamelCase (__SetPageHead);
# kmemlab/redirect.h's kfree_rcu(ptr, rhf) names a member, not an expression.
lint: $(KSRC)/.stamp
	@files=$$(git ls-files --cached --others --exclude-standard 'module/*.c' 'module/*.h' 'shim/*.c' 'shim/*.h' 'tools/*.c' \
		'selftests/kmemlab/*.c' 'selftests/kmemlab/*.h' 'selftests/core/*.c' 'selftests/core/*.h' \
		| grep -vx -e module/compat.h -e module/include/kmemlab/redirect.h); \
	perl $(KSRC)/scripts/checkpatch.pl --strict --no-tree --quiet -f $$files && \
	perl $(KSRC)/scripts/checkpatch.pl --strict --no-tree --quiet \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON,CAMELCASE -f module/compat.h && \
	perl $(KSRC)/scripts/checkpatch.pl --strict --no-tree --quiet \
		--ignore MACRO_ARG_PRECEDENCE -f module/include/kmemlab/redirect.h \
		&& echo "lint: clean ($$(echo $$files | wc -w) files, module/compat.h and redirect.h)"
	@$(MAKE) --no-print-directory sparse

# sparse (C=2) over every file of the module, on the default lane's headers:
# lock contexts, address spaces, endianness. Any warning fails.
sparse: $(KSRC)/.stamp
	@scripts/deps.sh --lint
	@kdir=$$(scripts/kernel.sh 6.1 --kdir) && rm -rf $(B)/sparse && mkdir -p $(B)/sparse && \
	cp --parents $(MODULE_SRCS) $(B)/sparse/ && cp $(KSFT)/kselftest_module.h $(B)/sparse/module/tests/ && \
	$(MAKE) -C $$kdir M=$(abspath $(B)/sparse) C=2 modules >$(B)/sparse.log 2>&1; \
	if grep -E 'warning:|error:' $(B)/sparse.log; then echo "sparse: see above ($(B)/sparse.log)"; exit 1; fi; \
	echo "sparse: clean ($$(grep -c '  CHECK' $(B)/sparse.log) files)"

clean:
	rm -rf $(B)
	@$(MAKE) --no-print-directory -s -C shim clean
