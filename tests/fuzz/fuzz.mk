# make fuzz: a libFuzzer harness per parser (tests/fuzz/*.c), built by
# clang with ASan and UBSan against the library compiled the same way in
# a directory of its own (the normal build is untouched), then run by
# scripts/fuzz.sh for FUZZ_SECONDS each over corpora seeded from real
# binaries (build/fuzz/corpus, not committed).
#
# The regression replay (build/unit/test_fuzz_regress, in make unit and
# make test): the same harnesses built by gcc, the parsers with ASan and
# UBSan, run over tests/fuzz/regress/<harness>/.

FUZZ_SECONDS ?= 20
FUZZ_CC ?= clang-14
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SRCS := $(filter-out tests/fuzz/replay.c,$(wildcard tests/fuzz/*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS))
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = $(filter-out -O2,$(CFLAGS)) -O1 -g -fno-omit-frame-pointer \
	      $(FUZZ_SAN)
FUZZ_LIB_OBJS := $(patsubst $(BUILD)/%.o,$(FUZZ_DIR)/obj/%.o,$(LIB_OBJS))

$(FUZZ_DIR)/obj:
	@mkdir -p $@

$(FUZZ_DIR)/obj/%.o: user/%.c $(wildcard user/*.h) include/leakwatch.h $(SKELS) $(PROTO_HDRS) | $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/obj/%.pb-c.o: $(BUILD)/%.pb-c.c $(BUILD)/%.pb-c.h | $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/obj/top%.o: CFLAGS += $(shell pkg-config --cflags ncursesw 2>/dev/null)

# An archive: a harness that includes a parser's .c (for its static
# functions) defines that object's symbols, so the link leaves it out.
$(FUZZ_DIR)/liblw.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_DIR)/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/liblw.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_DIR)/liblw.a \
		$(LDLIBS) -o $@

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh $(FUZZ_NAMES)

# ---- the replay, built with gcc ----
# The parsers with the sanitizers (a bug that comes back must trip them
# even when it would not crash), the rest of the library as built.
REPLAY_DIR := $(BUILD)/replay
REPLAY_PARSERS := elfsym gopclntab goinfo goheap_layout godwarf cfi_build cfi_check \
		  regions fdinfo ksyms probe_place goprof symbolize
REPLAY_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
REPLAY_PARSER_OBJS := $(patsubst %,$(REPLAY_DIR)/%.o,$(REPLAY_PARSERS))
REPLAY_REST_OBJS := $(filter-out $(patsubst %,$(BUILD)/%.o,$(REPLAY_PARSERS)),$(LIB_OBJS))
REPLAY_HARNESS_OBJS := $(patsubst tests/fuzz/%.c,$(REPLAY_DIR)/fuzz_%.o,$(FUZZ_SRCS))
FUZZ_REPLAY := $(BUILD)/unit/test_fuzz_regress

$(REPLAY_DIR):
	@mkdir -p $@

$(REPLAY_PARSER_OBJS): $(REPLAY_DIR)/%.o: user/%.c $(wildcard user/*.h) include/leakwatch.h $(SKELS) $(PROTO_HDRS) | $(REPLAY_DIR)
	$(CC) $(CFLAGS) $(REPLAY_SAN) -c $< -o $@

$(REPLAY_HARNESS_OBJS): $(REPLAY_DIR)/fuzz_%.o: tests/fuzz/%.c tests/fuzz/fuzz.h $(wildcard user/*.h) $(SKELS) $(PROTO_HDRS) | $(REPLAY_DIR)
	$(CC) $(CFLAGS) $(REPLAY_SAN) -DLW_FUZZ_REPLAY -c $< -o $@

$(REPLAY_DIR)/liblw_parsers.a: $(REPLAY_PARSER_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(REPLAY_DIR)/liblw_rest.a: $(REPLAY_REST_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_REPLAY): tests/fuzz/replay.c tests/fuzz/harnesses.h $(REPLAY_HARNESS_OBJS) $(REPLAY_DIR)/liblw_parsers.a $(REPLAY_DIR)/liblw_rest.a | $(BUILD)/unit
	$(CC) $(CFLAGS) $(REPLAY_SAN) -DLW_REGRESS_DIR='"$(CURDIR)/tests/fuzz/regress"' \
		$< $(REPLAY_HARNESS_OBJS) $(REPLAY_DIR)/liblw_parsers.a \
		$(REPLAY_DIR)/liblw_rest.a $(LDLIBS) \
		$(shell pkg-config --libs cmocka) -o $@
