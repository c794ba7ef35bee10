# libFuzzer targets, included by the top-level Makefile's second pass.
#
#   make fuzz [FUZZ_SECONDS=30]   build, replay tests/fuzz/regress/, then fuzz
#                                 each target for FUZZ_SECONDS seconds
#   make fuzz-build               only build build/fuzz/fuzz_*
#   make fuzz-regress             only replay the regression inputs
#   make COVE_DEPS_OK=1 fuzz-seeds   regenerate tests/fuzz/corpus/ (make-seeds.c,
#                                 vector-seeds.sh, chat-seeds.c, room-seeds.c)
#
# Everything is built by clang into build/fuzz/: the library sources (and
# the chat core's, for fuzz_chat) with coverage instrumentation
# (-fsanitize=fuzzer-no-link) under ASan and UBSan, never the gcc objects
# of build/. Each run fuzzes a scratch copy of
# the committed corpus in build/fuzz/run/, so new inputs never land in
# tests/fuzz/corpus/; crashes are saved in build/fuzz/run/TARGET/artifacts/.
#
# To reproduce one: build/fuzz/fuzz_TARGET FILE; to shrink it:
# build/fuzz/fuzz_TARGET -minimize_crash=1 -runs=100000 FILE. A fixed crash's
# input goes to tests/fuzz/regress/TARGET/, which every 'make fuzz' replays.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_DIR := build/fuzz
FUZZ_TARGETS := frame stream whitelist keyfile payload chat room
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The project's flags minus optimisation, gcc's sanitizer set and -Werror:
# clang's -Wformat=2 also warns about the va_list format in
# crypto/whitelist.c (diag_set), which gcc does not, and the fuzz build
# must not fail on the library's clang-only warnings.
FUZZ_BASE_CFLAGS := $(filter-out -O% -Werror -fsanitize=% -fno-sanitize-recover=% \
	-fno-omit-frame-pointer,$(CFLAGS)) -O1 -g -Wno-format-nonliteral
FUZZ_LDFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=% -fno-omit-frame-pointer,$(LDFLAGS))
FUZZ_LIB_CFLAGS := $(FUZZ_BASE_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_TGT_CFLAGS := $(FUZZ_BASE_CFLAGS) -Werror -fsanitize=fuzzer-no-link $(FUZZ_SAN)

# The library layers and the relay's room logic (fuzz_room) with its
# store, one archive; what links it links SQLite.
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(ROOM_SRC:%.c=$(FUZZ_DIR)/obj/%.o) \
	$(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(wildcard store/*.c))
FUZZ_LIB := $(FUZZ_DIR)/libcove.a
FUZZ_CHAT_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(wildcard chat/*.c))
FUZZ_CHAT_LIB := $(FUZZ_DIR)/libcovechat.a
FUZZ_TGT_OBJ := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o)
FUZZ_SEEDS := $(FUZZ_DIR)/make-seeds
FUZZ_CHAT_SEEDS := $(FUZZ_DIR)/chat-seeds
FUZZ_ROOM_SEEDS := $(FUZZ_DIR)/room-seeds

.PHONY: fuzz fuzz-build fuzz-regress fuzz-seeds
# kept, so a rebuild after editing one target recompiles only that one
.SECONDARY: $(FUZZ_TGT_OBJ) $(FUZZ_DIR)/obj/tests/fuzz/make-seeds.o \
	    $(FUZZ_DIR)/obj/tests/fuzz/chat-seeds.o $(FUZZ_DIR)/obj/tests/fuzz/room-seeds.o

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)fail=0; for t in $(FUZZ_TARGETS); do \
		tests/fuzz/run.sh $(FUZZ_DIR) $$t $(FUZZ_SECONDS) || fail=1; done; \
	if [ $$fail -ne 0 ]; then echo "  FUZZ    FAILED: see the logs and artifacts above"; fi; \
	exit $$fail

fuzz-regress: $(FUZZ_BINS)
	$(Q)fail=0; for t in $(FUZZ_TARGETS); do \
		tests/fuzz/run.sh $(FUZZ_DIR) $$t 0 || fail=1; done; exit $$fail

# The vectors tool is a gcc test helper of the main Makefile, built from
# the library only.
fuzz-seeds: $(FUZZ_SEEDS) $(FUZZ_CHAT_SEEDS) $(FUZZ_ROOM_SEEDS) $(BUILD)/tests/tools/vectors
	$(Q)rm -rf tests/fuzz/corpus && for t in $(FUZZ_TARGETS); do \
		mkdir -p tests/fuzz/corpus/$$t; done
	$(Q)$(FUZZ_SEEDS) tests/fuzz/corpus
	$(Q)tests/fuzz/vector-seeds.sh $(BUILD)/tests/tools/vectors tests/fuzz/corpus
	$(Q)$(FUZZ_CHAT_SEEDS) tests/fuzz/corpus/chat
	$(Q)$(FUZZ_ROOM_SEEDS) tests/fuzz/corpus/room
	@for t in $(FUZZ_TARGETS); do \
		echo "  SEEDS   $$t: $$(ls tests/fuzz/corpus/$$t | wc -l) files"; done

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_CHAT_LIB): $(FUZZ_CHAT_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	@echo "  CLANG   $<"
	$(Q)$(FUZZ_CC) $(FUZZ_TGT_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CLANG   $<"
	$(Q)$(FUZZ_CC) $(FUZZ_LIB_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS) $(SQLITE_LIBS)

# The chat target drives the chat core itself.
$(FUZZ_DIR)/fuzz_chat: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_chat.o $(FUZZ_CHAT_LIB) $(FUZZ_LIB)
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

# The seed generator needs no fuzzer: libFuzzer's main would replace its
# own. The ASan runtime supplies the coverage hooks of the library.
$(FUZZ_SEEDS): $(FUZZ_DIR)/obj/tests/fuzz/make-seeds.o $(FUZZ_LIB)
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) $(FUZZ_SAN) -o $@ $^ $(LIBS)

# The chat seeds are operations for fuzz_chat.c, bytes only: no library.
$(FUZZ_CHAT_SEEDS): $(FUZZ_DIR)/obj/tests/fuzz/chat-seeds.o
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) $(FUZZ_SAN) -o $@ $^

$(FUZZ_ROOM_SEEDS): $(FUZZ_DIR)/obj/tests/fuzz/room-seeds.o
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) $(FUZZ_SAN) -o $@ $^

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_CHAT_OBJ:.o=.d) $(FUZZ_TGT_OBJ:.o=.d) \
	 $(FUZZ_DIR)/obj/tests/fuzz/make-seeds.d $(FUZZ_DIR)/obj/tests/fuzz/chat-seeds.d \
	 $(FUZZ_DIR)/obj/tests/fuzz/room-seeds.d
