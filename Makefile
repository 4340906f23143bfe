# SPDX-License-Identifier: GPL-2.0
# kmemlab: see README.md. Every target installs what it needs (scripts/deps.sh).

SHELL := /bin/bash
KVER = $(shell scripts/deps.sh --kver)
KDIR ?= /lib/modules/$(KVER)/build
B := build
KSRC := $(B)/ksrc
KSFT := $(abspath $(KSRC)/tools/testing/selftests)
SRC_TARBALL := /usr/src/linux-source-6.1.tar.xz

CORE_SRCS := $(wildcard module/core/*.c)
CORE_HDRS := $(wildcard module/core/*.h)
MODULE_SRCS := Kbuild $(wildcard module/*.c module/*.h module/include/*.h \
	module/include/uapi/*.h module/tests/*.c) $(CORE_SRCS) $(CORE_HDRS)
HOST_TESTS := $(patsubst selftests/core/%.c,$(B)/host/%,$(wildcard selftests/core/*_test.c))
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
HOST_CFLAGS := -g -O1 -Wall -Werror -I$(KSFT) -Iselftests/core $(SANITIZE)

.PHONY: all deps module selftests host-tests image check demo vm lint clean

all: module selftests host-tests

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

# The module is built in a copy of the sources per kernel, so that the
# source tree stays clean and two kernels never share objects.

module: $(KSRC)/.stamp | deps
	@mkdir -p $(B)/std/kbuild
	@cp -u --parents $(MODULE_SRCS) $(B)/std/kbuild/
	@cp -u $(KSFT)/kselftest_module.h $(B)/std/kbuild/module/tests/
	@set -o pipefail; $(MAKE) -C $(KDIR) M=$(abspath $(B)/std/kbuild) W=1 modules 2>&1 | tee $(B)/std/build.log
	@! grep -E 'warning:|error:' $(B)/std/build.log

selftests: $(KSRC)/.stamp
	@mkdir -p $(B)/std/selftests/kmemlab
	$(MAKE) -C selftests/kmemlab KSFT_DIR=$(KSFT) OUTPUT=$(abspath $(B)/std/selftests/kmemlab)

$(B)/host/%: selftests/core/%.c selftests/core/host_platform.c $(CORE_SRCS) $(CORE_HDRS) $(KSRC)/.stamp
	@mkdir -p $(B)/host
	$(CC) $(HOST_CFLAGS) -o $@ $< selftests/core/host_platform.c $(CORE_SRCS) -lpthread

host-tests: $(HOST_TESTS)

# The guest's /kmemlab: module, test modules, selftests, kselftest runner, tool.
image: module selftests
	@rm -rf $(B)/std/guest && mkdir -p $(B)/std/guest/selftests/kmemlab
	@$(MAKE) -s -C selftests/kmemlab KSFT_DIR=$(KSFT) \
		OUTPUT=$(abspath $(B)/std/selftests/kmemlab) \
		INSTALL_PATH=$(abspath $(B)/std/guest/selftests/kmemlab) install >/dev/null
	@$(MAKE) -s --no-print-directory -C selftests/kmemlab KSFT_DIR=$(KSFT) \
		OUTPUT=$(abspath $(B)/std/selftests/kmemlab) COLLECTION=kmemlab emit_tests \
		| grep '^kmemlab:' > $(B)/std/guest/selftests/kselftest-list.txt
	@{ echo "scripts/guest-init /init"; \
	   echo "/bin/busybox /bin/busybox"; \
	   echo "/usr/bin/timeout /usr/bin/timeout"; \
	   echo "scripts/kmemlab /kmemlab/bin/kmemlab"; \
	   for k in $(B)/std/kbuild/*.ko; do echo "$$k /kmemlab/$$(basename $$k)"; done; \
	   echo "$(KSFT)/kselftest /kmemlab/selftests/kselftest"; \
	   echo "$(KSFT)/run_kselftest.sh /kmemlab/selftests/run_kselftest.sh"; \
	   echo "$(B)/std/guest/selftests /kmemlab/selftests"; \
	} > $(B)/std/manifest
	@scripts/mkinitramfs.sh $(B)/std/stage $(B)/std/initramfs.cpio < $(B)/std/manifest

check: all
	@scripts/check.sh

demo: image
	scripts/vm.sh --load kmemlab -- kmemlab demo

vm: image
	scripts/vm.sh --load kmemlab

lint: $(KSRC)/.stamp
	@files=$$(git ls-files 'module/*.c' 'module/*.h' 'shim/*.c' 'shim/*.h'); \
	perl $(KSRC)/scripts/checkpatch.pl --strict --no-tree --quiet -f $$files \
		&& echo "lint: clean ($$(echo $$files | wc -w) files)"

clean:
	rm -rf $(B)
