# Build, test and install the coordinator (zkd), the broker (kafkad) and their shared code.
#
#   make            build everything into build/<variant>/
#   make SAN=1      AddressSanitizer + UndefinedBehaviorSanitizer variant (build/san/)
#   make deps       install the Debian packages that are missing
#   make check      unit suites, then integration tests against the real programs
#   make bench      benchmarks against the reference implementations
#   make run        build and start a local three-host cluster (zkd + kafkad), show it serving
#   make install    PREFIX=/usr/local SYSCONFDIR=$(PREFIX)/etc DESTDIR=

SHELL    := /bin/bash
CC       ?= cc
PREFIX   ?= /usr/local
SYSCONFDIR ?= $(PREFIX)/etc
DESTDIR  ?=
SAN      ?= 0

ifeq ($(SAN),1)
VARIANT  := san
OPTFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -DKZ_DEBUG=1
LDSAN    := -fsanitize=address,undefined
else
VARIANT  := release
OPTFLAGS := -O2 -g
LDSAN    :=
endif

O        := build/$(VARIANT)
CPPFLAGS += -D_GNU_SOURCE -Icommon -Icoordinator -Ibroker
CFLAGS   += -std=c11 $(OPTFLAGS) -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 \
            -Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing -MMD -MP -pthread
LDFLAGS  += $(LDSAN) -pthread
LIBS_ZKD := -levent -levent_pthreads -lcrypto -lz -lm
# The broker also speaks to ZooKeeper through libzookeeper_mt, keeps znode payloads as JSON
# (jansson) and reads and writes every codec Kafka producers use.
LIBS_KB  := -levent -levent_pthreads -lzookeeper_mt -ljansson -lz -llz4 -lzstd -lsnappy -lcrypto -lm
LIBS_ALL := $(LIBS_KB)

COMMON_SRC := $(wildcard common/*.c)
COORD_SRC  := $(filter-out coordinator/zkd_main.c,$(wildcard coordinator/*.c))
BROKER_SRC := $(filter-out broker/kb_main.c,$(wildcard broker/*.c))
UNIT_SRC   := $(wildcard test/unit/check_*.c)
BENCH_SRC  := $(wildcard bench/*.c)
FUZZ_SRC   := $(wildcard test/fuzz/fuzz_*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)
COORD_OBJ  := $(COORD_SRC:%.c=$(O)/%.o)
BROKER_OBJ := $(BROKER_SRC:%.c=$(O)/%.o)
UNIT_BIN   := $(UNIT_SRC:test/unit/%.c=$(O)/test/%)
# Keep the test objects: they are intermediates of a pattern chain, which make would delete.
.SECONDARY: $(UNIT_SRC:%.c=$(O)/%.o) $(O)/broker/kb_main.o $(O)/coordinator/zkd_main.o
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(O)/bench/%)

ZKD        := $(O)/zkd
KAFKAD     := $(O)/kafkad
LIBKZ      := $(O)/libkz.a
LIBZKD     := $(O)/libzkd.a
LIBKB      := $(O)/libkb.a

.PHONY: all deps check unit integration bench run stop install clean fuzz fuzz-smoke
all: $(ZKD) $(KAFKAD) $(UNIT_BIN) $(BENCH_BIN)

V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

$(O)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBKZ): $(COMMON_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(LIBZKD): $(COORD_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(LIBKB): $(BROKER_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(ZKD): $(O)/coordinator/zkd_main.o $(LIBZKD) $(LIBKZ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_ZKD)

$(KAFKAD): $(O)/broker/kb_main.o $(LIBKB) $(LIBKZ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_KB)

$(O)/test/check_%: $(O)/test/unit/check_%.o $(LIBKB) $(LIBZKD) $(LIBKZ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_ALL) $$(pkg-config --libs check)

# bench/lib/*.c: code shared by the load generators, linked into each of them.
BENCH_LIB_OBJ := $(patsubst %.c,$(O)/%.o,$(wildcard bench/lib/*.c))
.SECONDARY: $(BENCH_LIB_OBJ)

$(O)/bench/%: $(O)/bench/%.o $(BENCH_LIB_OBJ) $(LIBKZ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_ALL)

deps:
	@bash scripts/deps.sh

unit: $(UNIT_BIN) $(ZKD)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ZKD_BIN=$(abspath $(ZKD)) CK_FORK=yes $$t; done

integration: $(ZKD) $(KAFKAD)
	ZKD_BIN=$(abspath $(ZKD)) KAFKAD_BIN=$(abspath $(KAFKAD)) /usr/bin/python3 -m pytest -q -p no:cacheprovider test/integration

# The fuzz smoke run is sanitized already: only the plain variant runs it.
ifeq ($(SAN),1)
check: unit integration
else
check: unit integration fuzz-smoke
endif

fuzz-smoke:
	@bash test/fuzz/run.sh

# The coordinator part (bench/run.sh, BENCH_ENSEMBLE=only|0), then the broker part
# (bench/kafka.sh, BENCH_KAFKA=only runs it alone, 0 skips it).
bench: $(ZKD) $(KAFKAD) $(BENCH_BIN)
	@rc=0; \
	if [ "$${BENCH_KAFKA:-1}" != only ]; then \
	  ZKD_BIN=$(abspath $(ZKD)) ZKLOAD_BIN=$(abspath $(O)/bench/zkload) \
	  ZKBENCH_BIN=$(abspath $(O)/bench/zkbench) bash bench/run.sh || rc=1; \
	fi; \
	ZKD_BIN=$(abspath $(ZKD)) KAFKAD_BIN=$(abspath $(KAFKAD)) \
	KPERF_BIN=$(abspath $(O)/bench/kperf) TCPBW_BIN=$(abspath $(O)/bench/tcpbw) \
	bash bench/kafka.sh || rc=1; \
	exit $$rc

run: deps $(ZKD) $(KAFKAD)
	@bash scripts/run.sh start $(abspath $(ZKD)) $(abspath $(KAFKAD))

stop:
	@bash scripts/run.sh stop

# libFuzzer harnesses need clang. The project sources are compiled once with
# fuzzer instrumentation; each harness links them.
FUZZ_BIN    := $(FUZZ_SRC:test/fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=all -pthread
FUZZ_OBJ    := $(patsubst %.c,build/fuzz/obj/%.o,$(COMMON_SRC) $(COORD_SRC) $(BROKER_SRC))
fuzz: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_OBJ)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)clang $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
build/fuzz/%: test/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)clang $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_OBJ) $(LIBS_ALL)

install: $(ZKD) $(KAFKAD)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)
	install -m 0755 $(ZKD) $(DESTDIR)$(PREFIX)/bin/zkd
	install -m 0755 $(KAFKAD) $(DESTDIR)$(PREFIX)/bin/kafkad
	install -m 0644 etc/zookeeper.properties $(DESTDIR)$(SYSCONFDIR)/zookeeper.properties
	install -m 0644 etc/server.properties $(DESTDIR)$(SYSCONFDIR)/server.properties
	for h in 1 2 3; do \
	  install -d $(DESTDIR)$(SYSCONFDIR)/hosts/$$h; \
	  install -m 0644 etc/hosts/$$h/server.properties $(DESTDIR)$(SYSCONFDIR)/hosts/$$h/server.properties; \
	done

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
