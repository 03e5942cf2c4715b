# leakwatch: eBPF leak observer.
#   make deps    install the Debian packages it needs (nothing when present)
#   make         build ./leakwatch
#   make demo    show it finding a leak in a bundled target
#   make test    unit + integration tests (root, real BPF)
#   make bench   overhead ratios against no observer and bare probes
#   make lint    cppcheck + clang-format check

BUILD := build
CC := gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PKGS := libelf libdw json-c zlib

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	  -Iinclude -Iuser -I$(BUILD) -DLW_VERSION='"$(VERSION)"' \
	  $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libbpf is linked statically: the binary then carries the libbpf it was
# built and tested with, and needs no file beside it.
LDLIBS := -Wl,-Bstatic -lbpf -Wl,-Bdynamic \
	  $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lZydis -liberty -lm

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(BUILD)/main.o,$(USER_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

.PHONY: all deps demo test bench lint format clean unit
all: leakwatch

deps:
	@bash scripts/deps.sh

$(BUILD) $(BUILD)/unit:
	@mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c include/leakwatch.h vmlinux/vmlinux.h | $(BUILD)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Ivmlinux -Iinclude \
		-c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(USER_OBJS): $(BUILD)/%.o: user/%.c $(wildcard user/*.h) include/leakwatch.h $(SKELS) | $(BUILD)
	$(CC) $(CFLAGS) -c $< -o $@

leakwatch: $(USER_OBJS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(UNIT_BINS): $(BUILD)/unit/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/unit
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) \
		$(shell pkg-config --libs cmocka) -o $@

unit: $(UNIT_BINS)

demo: deps
	@$(MAKE) --no-print-directory leakwatch
	@bash scripts/demo.sh

# One Go build cache for every test that builds a Go program: a cold
# standard library takes minutes per toolchain.
test: deps
	@$(MAKE) --no-print-directory leakwatch unit
	@mkdir -p $(BUILD)/gocache
	@LW_GOCACHE=$(CURDIR)/$(BUILD)/gocache python3 tests/run.py --unit $(UNIT_BINS)

bench: deps
	@$(MAKE) --no-print-directory leakwatch
	@bash scripts/bench.sh

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--std=c11 --inline-suppr -Iinclude -Iuser user/ tests/unit/
	clang-format --dry-run --Werror user/*.c user/*.h include/*.h bpf/*.bpf.c

format:
	clang-format -i user/*.c user/*.h include/*.h bpf/*.bpf.c

clean:
	rm -rf $(BUILD) leakwatch
