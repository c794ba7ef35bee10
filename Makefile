# Cove: end-to-end encrypted group chat with an untrusted relay.
#
#   make              build the three programs into build/
#   make demo         run a local demo (three nodes, one room)
#   make check        build and run every test
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan (build/san/)
#   make install PREFIX=/usr/local DESTDIR=
#
# Every entry point first makes sure the Debian packages Cove needs are
# installed (scripts/deps.sh installs them when run as root, otherwise
# prints the exact apt-get line), then runs the real rules below.

VERSION := 0.2.0

PKG_CONFIG ?= pkg-config
PYTHON ?= python3
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build
SAN_FLAGS :=
endif

ENTRY_TARGETS := all check check-valgrind demo install unit integration replay fuzz fuzz-build fuzz-regress \
		 bench

ifndef COVE_DEPS_OK
# ---- first pass: make sure the packages are there, then re-run make ------

.PHONY: $(ENTRY_TARGETS) clean
$(ENTRY_TARGETS):
	@scripts/deps.sh $(if $(filter fuzz%,$@),fuzz,$(if $(filter bench,$@),bench,$(if $(filter check check-valgrind unit integration replay,$@),test,build)))
	@$(MAKE) --no-print-directory COVE_DEPS_OK=1 $@

clean:
	rm -rf build

else
# ---- second pass: the real build -----------------------------------------

ifeq ($(V),1)
Q :=
else
Q := @
endif

MSGPACK_PC := $(shell $(PKG_CONFIG) --exists msgpack-c && echo msgpack-c || echo msgpack)
LIB_PKGS := libsodium libevent $(MSGPACK_PC)

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wformat=2 -Wvla -fstack-protector-strong -MMD -MP -I. \
	  -DCOVE_VERSION=\"$(VERSION)\" $(SAN_FLAGS) \
	  $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS) jansson sqlite3)
LDFLAGS += $(SAN_FLAGS)
LIBS := $(shell $(PKG_CONFIG) --libs $(LIB_PKGS))
SQLITE_CFLAGS := $(shell $(PKG_CONFIG) --cflags sqlite3)
SQLITE_LIBS := $(shell $(PKG_CONFIG) --libs sqlite3)
# libevent's pkg-config file names only the core library; the relay and
# nodes also use libevent_extra (evutil_parse_sockaddr_port lives in core).

LIB_SRC := $(wildcard common/*.c crypto/*.c wire/*.c proto/*.c cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBCOVE := $(BUILD)/libcove.a
# The relay's store, in a library of its own so that only the programs
# that keep frames (cove-rendezvous) link SQLite.
STORE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard store/*.c))
LIBSTORE := $(BUILD)/libcovestore.a

# The node's history and state file (hist/): a layer of its own, since
# only what keeps history links SQLite.
HIST_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard hist/*.c))
LIBHIST := $(BUILD)/libcovehist.a

# The chat core (chat/): rooms, keys and messages without sockets, a
# library of its own that cove-node, cove-bench and the tests link.
CHAT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard chat/*.c))
LIBCHAT := $(BUILD)/libcovechat.a

# The relay's room logic: no sockets, no event loop (room/room.h).
ROOM_SRC := $(wildcard room/*.c)
ROOM_OBJ := $(ROOM_SRC:%.c=$(BUILD)/%.o)
LIBROOM := $(BUILD)/libcoveroom.a

# The verification pool (verify/): signature checks on worker threads,
# for the relay's ingress and a node's catch-up; it brings pthreads.
VERIFY_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard verify/*.c))
LIBVERIFY := $(BUILD)/libcoveverify.a

KEYS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard keys/*.c))
RV_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard rendezvous/*.c))
NODE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard node/*.c))
# Each program's objects but its main(): test programs link these with a
# main of their own that installs a hook (tests/tools/tamper.c, keylog.c).
RV_RUN_OBJ := $(filter-out $(BUILD)/rendezvous/main.o,$(RV_OBJ))
NODE_RUN_OBJ := $(filter-out $(BUILD)/node/main.o,$(NODE_OBJ))

PROGS := $(BUILD)/cove-keys $(BUILD)/cove-rendezvous $(BUILD)/cove-node

# The load generator links the chat core, the node's link and its history
# (not its front-ends) to run real nodes beside its simulated ones, and
# the store to measure what a relay kept.
BENCH_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/*.c)) $(BUILD)/node/net.o \
	     $(BUILD)/node/keep.o
BENCH := $(BUILD)/cove-bench

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HOOK_OBJ := $(BUILD)/tests/tools/tamper.o $(BUILD)/tests/tools/keylog.o
# The fuzz targets, built by the project's compiler with a plain main()
# (tests/fuzz/replay.c) that runs them over the committed corpus.
REPLAY_TARGETS := frame stream whitelist keyfile payload chat room
REPLAY_BIN := $(REPLAY_TARGETS:%=$(BUILD)/tests/fuzz/replay_%)
REPLAY_OBJ := $(REPLAY_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%.o) $(BUILD)/tests/fuzz/replay.o
TEST_HELPERS := $(BUILD)/tests/cove-rendezvous-tamper $(BUILD)/tests/cove-node-keylog \
		$(BUILD)/tests/tools/vectors $(BUILD)/tests/tools/datopen

.SECONDARY: $(REPLAY_OBJ)
.PHONY: all check check-valgrind unit integration replay demo install clean bench
all: $(PROGS) $(LIBHIST)

$(LIBCOVE): $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBHIST): $(HIST_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBSTORE): $(STORE_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(STORE_OBJ) $(HIST_OBJ): CFLAGS += $(SQLITE_CFLAGS)

$(LIBCHAT): $(CHAT_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBROOM): $(ROOM_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBVERIFY): $(VERIFY_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# The programs print VERSION (--version): a new one must reach them.
$(BUILD)/keys/main.o $(BUILD)/node/run.o $(BUILD)/rendezvous/run.o: Makefile

$(BUILD)/cove-keys: $(KEYS_OBJ) $(LIBCOVE)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/cove-rendezvous: $(RV_OBJ) $(LIBROOM) $(LIBSTORE) $(LIBVERIFY) $(LIBCOVE)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LIBS) $(SQLITE_LIBS)

$(BUILD)/cove-node: $(NODE_OBJ) $(LIBCHAT) $(LIBHIST) $(LIBVERIFY) $(LIBCOVE)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LIBS) $(SQLITE_LIBS) $(shell $(PKG_CONFIG) --libs jansson) \
		-lreadline

$(BENCH): $(BENCH_OBJ) $(LIBCHAT) $(LIBHIST) $(LIBSTORE) $(LIBVERIFY) $(LIBCOVE)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LIBS) $(SQLITE_LIBS) -lm

# The chat core's unit tests drive the core itself, with a fake relay.
$(BUILD)/tests/test_core_%: tests/unit/test_core_%.c tests/unit/core_world.h tests/unit/mem_persist.h \
			   $(LIBCHAT) $(LIBCOVE)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) -o $@ $< \
		$(LIBCHAT) $(LIBCOVE) $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

# The history's tests link it, and SQLite.
$(BUILD)/tests/test_hist_%: tests/unit/test_hist_%.c tests/unit/hist_fixture.h $(LIBHIST) \
			   $(LIBCOVE)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) -o $@ $< \
		$(LIBHIST) $(LIBCOVE) $(LIBS) $(SQLITE_LIBS) $(shell $(PKG_CONFIG) --libs cmocka)
# The store's tests run every backend, SQLite's on real files.
STORE_TESTS := $(filter $(BUILD)/tests/test_store%,$(UNIT_BIN))
$(STORE_TESTS): $(BUILD)/tests/%: tests/unit/%.c tests/unit/store_world.h $(LIBSTORE) $(LIBCOVE)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(SQLITE_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) -o $@ $< \
		$(LIBSTORE) $(LIBCOVE) $(LIBS) $(SQLITE_LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

# The relay's room logic, with a fake clock, timers and network.
# They keep rooms in every store backend, so they link the store and SQLite.
ROOM_TESTS := $(filter $(BUILD)/tests/test_room%,$(UNIT_BIN))
$(ROOM_TESTS): $(BUILD)/tests/%: tests/unit/%.c tests/unit/room_world.h tests/unit/room_fixture.h \
	       $(LIBROOM) $(LIBSTORE) $(LIBCOVE)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) -o $@ $< \
		$(LIBROOM) $(LIBSTORE) $(LIBCOVE) $(LIBS) $(SQLITE_LIBS) \
		$(shell $(PKG_CONFIG) --libs cmocka)

$(BUILD)/tests/%: tests/unit/%.c $(LIBCOVE)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) -o $@ $< \
		$(LIBCOVE) $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

$(BUILD)/tests/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(LIBROOM) \
			      $(LIBSTORE) $(LIBCOVE)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(SQLITE_LIBS)

# The chat target drives the chat core itself.
$(BUILD)/tests/fuzz/replay_chat: $(BUILD)/tests/fuzz/fuzz_chat.o $(BUILD)/tests/fuzz/replay.o \
				 $(LIBCHAT) $(LIBCOVE)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The tampering relay and the node that logs its keys: the very objects
# of cove-rendezvous and cove-node, with a main that installs a test hook.
$(BUILD)/tests/cove-rendezvous-tamper: $(BUILD)/tests/tools/tamper.o $(RV_RUN_OBJ) $(LIBROOM) $(LIBSTORE) \
				       $(LIBVERIFY) $(LIBCOVE)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LIBS) $(SQLITE_LIBS)

$(BUILD)/tests/cove-node-keylog: $(BUILD)/tests/tools/keylog.o $(NODE_RUN_OBJ) $(LIBCHAT) \
				 $(LIBHIST) $(LIBVERIFY) $(LIBCOVE)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LIBS) $(SQLITE_LIBS) $(shell $(PKG_CONFIG) --libs jansson) \
		-lreadline

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIBCOVE)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBCOVE) $(LIBS)

# The layer check reads the programs' objects too: no folder's files may
# call each other in a circle.
unit: $(UNIT_BIN) $(PROGS) $(BENCH)
	$(Q)scripts/layers.sh $(BUILD)
	$(Q)fail=0; for t in $(UNIT_BIN); do \
		echo "  UNIT    $$t"; $$t || fail=1; done; exit $$fail

integration: $(PROGS) $(TEST_HELPERS) $(BENCH)
	$(Q)COVE_BUILD=$(BUILD) $(if $(filter 1,$(SANITIZE)),COVE_SANITIZE=1 COVE_SOAK_NODES=25 COVE_SOAK_MESSAGES=25) \
		$(PYTHON) -m unittest discover -s tests/integration -p "test_*.py" $(if $(V),-v,)

# Every fuzz target over its seed corpus and its regression inputs: quick,
# and needs no clang ('make fuzz' is the real fuzzing).
replay: $(REPLAY_BIN)
	$(Q)fail=0; for t in $(REPLAY_TARGETS); do \
		set -- tests/fuzz/corpus/$$t; \
		[ -d tests/fuzz/regress/$$t ] && set -- "$$@" tests/fuzz/regress/$$t; \
		$(BUILD)/tests/fuzz/replay_$$t "$$@" || fail=1; done; exit $$fail

check: unit replay integration

# The unit tests, and the programs of the chat and access tests, under
# valgrind (memcheck): no invalid access, no definite or indirect leak.
VALGRIND_TESTS ?= test_chat test_access test_hostile
check-valgrind: $(UNIT_BIN) $(PROGS) $(TEST_HELPERS)
	$(Q)fail=0; for t in $(UNIT_BIN); do echo "  VALGRIND $$t"; \
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 $$t >/dev/null || fail=1; done; exit $$fail
	$(Q)cd tests/integration && COVE_BUILD=$(BUILD) COVE_VALGRIND=1 COVE_TEST_TIMEOUT=60 \
		$(PYTHON) -m unittest $(VALGRIND_TESTS)

demo: $(PROGS)
	$(Q)COVE_BUILD=$(BUILD) scripts/demo.sh

# Every benchmark, a few minutes (QUICK=1: a smaller load); see
# docs/PERFORMANCE.md. Results in bench/results/.
bench: $(PROGS) $(BENCH)
	$(Q)COVE_BENCH=$(BENCH) bench/run.sh $(if $(filter 1,$(QUICK)),-q,)

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)
	install -m 0644 docs/cove-keys.1 docs/cove-node.1 $(DESTDIR)$(MANDIR)/man1
	install -m 0644 docs/cove-rendezvous.8 $(DESTDIR)$(MANDIR)/man8

clean:
	rm -rf build

# libFuzzer targets (clang): make fuzz [FUZZ_SECONDS=N]
-include tests/fuzz/fuzz.mk

-include $(LIB_OBJ:.o=.d) $(CHAT_OBJ:.o=.d) $(ROOM_OBJ:.o=.d) $(HIST_OBJ:.o=.d) $(STORE_OBJ:.o=.d) \
	 $(KEYS_OBJ:.o=.d) $(RV_OBJ:.o=.d) $(NODE_OBJ:.o=.d) $(BENCH_OBJ:.o=.d)
-include $(UNIT_BIN:=.d) $(REPLAY_OBJ:.o=.d) $(HOOK_OBJ:.o=.d)

endif
