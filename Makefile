# intuned-lua: build, test, demo, lint, install; check (fuzz smoke, sanitizers).
# LuaRocks-style variables can be overridden: make LUA_VERSION=5.3

# or by interpreter: make LUA=lua5.1, make LUA=luajit (builds into build/$(LUA)).
ifdef LUA
LUA_VERSION ?= $(if $(filter luajit%,$(notdir $(LUA))),5.1,$(patsubst lua%,%,$(notdir $(LUA))))
endif
LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
ifneq ($(filter luajit%,$(notdir $(LUA))),)
LUA_INCDIR  ?= /usr/include/luajit-2.1
endif
LUA_INCDIR  ?= /usr/include/lua$(LUA_VERSION)
CURL_INCDIR ?= $(shell curl-config --cflags 2>/dev/null | sed -n 's/^-I//p')
PREFIX      ?= /usr/local
LUA_LIBDIR_INSTALL ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
LUA_SHAREDIR_INSTALL ?= $(PREFIX)/share/lua/$(LUA_VERSION)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ALLCFLAGS := -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(CFLAGS) \
             -I$(LUA_INCDIR) $(if $(CURL_INCDIR),-I$(CURL_INCDIR))
LDFLAGS ?=
LIBS    := -lcurl -lpthread

# make test-all: interpreter and header folder of each build.
MATRIX  := lua5.1:/usr/include/lua5.1 lua5.2:/usr/include/lua5.2 lua5.3:/usr/include/lua5.3 \
           lua5.4:/usr/include/lua5.4 luajit:/usr/include/luajit-2.1
MATRIX_PACKAGES := lua5.1 liblua5.1-0-dev lua5.2 liblua5.2-dev lua5.3 liblua5.3-dev \
           lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev valgrind

BUILD   := build/$(notdir $(LUA))
SRCS    := $(wildcard src/*.c)
OBJS    := $(patsubst src/%.c,$(BUILD)/%.o,$(SRCS))
MODULE  := $(BUILD)/intuned/core.so

# `make check`: the decoder fuzzed, the specs under ASan/UBSan/LSan and under
# valgrind. Each target installs the Debian packages it needs when missing.
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_BUILD   := build/asan/lua$(LUA_VERSION)
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_CC      ?= clang
FUZZ_PACKAGES     := clang libclang-rt-14-dev
VALGRIND_PACKAGES := valgrind
LINT_PACKAGES     := cppcheck clang-tidy

.PHONY: all deps test test-all embed demo emulator lint install clean bench bench-deps bench-sequential \
        bench-concurrent bench-runs bench-nginx bench-nginx-baseline check fuzz test-asan test-valgrind lint-c

all: $(MODULE)

$(BUILD)/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/intuned
	$(CC) $(ALLCFLAGS) -c $< -o $@

$(MODULE): $(OBJS)
	$(CC) -shared $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/intuned:
	mkdir -p $@

deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUILD=$(BUILD) scripts/run-specs.sh

# The whole suite on Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT, one build folder each,
# ending with one combined "N passed, N failed" line.
test-all: deps
	@PACKAGES="$(MATRIX_PACKAGES)" scripts/deps.sh
	@scripts/test-all.sh $(MATRIX)

# examples/embed: a C host program that embeds Lua and uses the module.
EMBED := $(BUILD)/embed
embed: $(EMBED)

$(EMBED): examples/embed/embed.c | $(BUILD)/intuned
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -I$(LUA_INCDIR) $< -o $@ \
		$(LDFLAGS) $(shell pkg-config --libs $(notdir $(LUA)) 2>/dev/null || echo -llua$(LUA_VERSION)) -lm -ldl

demo: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUILD=$(BUILD) $(LUA) scripts/demo.lua

# The local API emulator in the foreground, for trying the command line and
# the examples by hand: prints its base URL and the export lines to paste
# into another shell, serves project my-project until Ctrl-C.
emulator: deps
	@$(MAKE) --no-print-directory -s all
	@LUA=$(LUA) BUILD=$(BUILD) LUA_CPATH='$(BUILD)/?.so;;' sh scripts/emulator.sh

# Benchmarks (bench/README.md). Each benchmark target is one line of
# BENCH_TARGETS; `make bench` runs them all in order.
BENCH_DEBS := valgrind lua-socket lua-sec lua-cjson lua-dkjson curl openssl \
              nginx-light libnginx-mod-http-lua gcc libcurl4-openssl-dev
RAW_CURL := $(BUILD)/raw_curl
# The same module without the stale-bytes guard (src/conn.c), to show its cost.
NOGUARD_BUILD := build/noguard/$(notdir $(LUA))
# The decoder without each of its speed tricks, one build per flag
# (-DINTUNED_NO_<trick> into build/INTUNED_NO_<trick>/), to show what each earns.
DECODER_TRICKS := STRING_CACHE SSE2 SIZE_MEMORY SIZE_SCAN KEY_HINTS SIBLING_HINTS FAST_PATHS
TRICK_BUILDS := $(foreach t,$(DECODER_TRICKS),$(t)=build/INTUNED_NO_$(t)/$(notdir $(LUA)))
BENCH_TARGETS := bench-sequential bench-concurrent bench-runs

bench: $(BENCH_TARGETS)

bench-deps: deps
	@PACKAGES="$(BENCH_DEBS)" scripts/deps.sh

$(RAW_CURL): bench/raw_curl.c | $(BUILD)/intuned
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) \
	  $(if $(CURL_INCDIR),-I$(CURL_INCDIR)) -o $@ $< $(LDFLAGS) -lcurl

# get_job_runs against sequential get_job_run calls (bench/concurrent.lua).
bench-concurrent: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUILD=$(BUILD) nice -n 10 $(LUA) bench/concurrent.lua

# wait_for_runs against wait_for_run one run after another (bench/many_runs.lua).
bench-runs: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUILD=$(BUILD) nice -n 10 $(LUA) bench/many_runs.lua

bench-sequential: bench-deps
	@$(MAKE) --no-print-directory all $(RAW_CURL)
	@$(MAKE) --no-print-directory all BUILD=$(NOGUARD_BUILD) CFLAGS="$(CFLAGS) -DINTUNED_NO_STRAY_GUARD"
	@for t in $(DECODER_TRICKS); do \
	  $(MAKE) --no-print-directory all BUILD=build/INTUNED_NO_$$t/$(notdir $(LUA)) \
	    CFLAGS="$(CFLAGS) -DINTUNED_NO_$$t" || exit 1; \
	done
	@LUA=$(LUA) BUILD=$(BUILD) NOGUARD_BUILD=$(NOGUARD_BUILD) RAW_CURL=$(RAW_CURL) \
	  TRICK_BUILDS="$(TRICK_BUILDS)" \
	  nice -n 10 $(LUA) bench/run.lua $(BENCH_ARGS)

# The client inside a real nginx against ngx.location.capture + proxy_pass
# (bench/nginx_bench.lua, bench/README.md); not part of `make bench`.
# "Today's pool" runs the pool transport of the tree at NGINX_BASELINE,
# extracted into NGINX_BASELINE_DIR and built there for nginx's LuaJIT.
# NGINX_VM_POOL: lua_worker_thread_vm_pool_size of the application nginx.
NGINX_BASELINE     ?= 5c69b9e
NGINX_BASELINE_DIR := build/bench-baseline
NGINX_BENCH_DEBS   := wrk curl openssl lua-socket lua-cjson nginx-light libnginx-mod-http-lua \
                      libnginx-mod-http-echo libluajit2-5.1-dev gcc libcurl4-openssl-dev
NGINX_VM_POOL      ?= 4
LUAJIT_BUILD_ARGS  := LUA=luajit LUA_INCDIR=/usr/include/luajit-2.1 BUILD=build/luajit

bench-nginx: deps
	@PACKAGES="$(NGINX_BENCH_DEBS)" scripts/deps.sh
	@$(MAKE) --no-print-directory all $(LUAJIT_BUILD_ARGS)
	@$(MAKE) --no-print-directory bench-nginx-baseline
	@LUAJIT_BUILD=build/luajit BASELINE_DIR=$(NGINX_BASELINE_DIR) NGINX_VM_POOL=$(NGINX_VM_POOL) \
	  NGINX_BASELINE=$(NGINX_BASELINE) \
	  BASELINE_REV="$$(test -e $(NGINX_BASELINE_DIR).skip || cat $(NGINX_BASELINE_DIR)/REVISION 2>/dev/null)" \
	  $(LUA) bench/nginx_bench.lua $(BENCH_ARGS)

# Extracted again only when NGINX_BASELINE names another commit; without
# git (or that commit) the reason goes to NGINX_BASELINE_DIR.skip and the
# row is skipped.
bench-nginx-baseline:
	@mkdir -p build; rm -f $(NGINX_BASELINE_DIR).skip; \
	if ! command -v git >/dev/null 2>&1; then \
	  echo "git is not installed" >$(NGINX_BASELINE_DIR).skip; \
	elif ! rev=$$(git rev-parse --verify -q "$(NGINX_BASELINE)^{commit}" 2>/dev/null); then \
	  echo "revision $(NGINX_BASELINE) is not in this checkout" >$(NGINX_BASELINE_DIR).skip; \
	else \
	  if [ "$$(cat $(NGINX_BASELINE_DIR)/REVISION 2>/dev/null)" != "$$rev" ]; then \
	    rm -rf $(NGINX_BASELINE_DIR) && mkdir -p $(NGINX_BASELINE_DIR) && \
	    git archive "$$rev" lua src | tar -x -C $(NGINX_BASELINE_DIR) && \
	    echo "$$rev" >$(NGINX_BASELINE_DIR)/REVISION || exit 1; \
	  fi; \
	  $(MAKE) --no-print-directory -C $(NGINX_BASELINE_DIR) -f $(CURDIR)/Makefile all $(LUAJIT_BUILD_ARGS) \
	    >/dev/null || exit 1; \
	fi

lint: deps
	@PACKAGES="$(LINT_PACKAGES)" scripts/deps.sh
	@MAKE="$(MAKE)" CFLAGS="$(CFLAGS)" LUA_INCDIR="$(LUA_INCDIR)" CURL_INCDIR="$(CURL_INCDIR)" \
	  SRCS="$(SRCS)" scripts/lint.sh

# The C part of `make lint` alone (scripts/lint.sh does both).
lint-c: lint

check: fuzz test-asan test-valgrind

# libFuzzer on the real core.decode, seeded with spec/json/; the working
# corpus grows in build/fuzz/corpus. Crashes land in build/fuzz/artifacts/.
fuzz: deps
	@PACKAGES="$(FUZZ_PACKAGES)" scripts/deps.sh
	@mkdir -p $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/artifacts
	$(FUZZ_CC) -O1 -g $(SAN_FLAGS) -fsanitize=fuzzer -I src -I$(LUA_INCDIR) \
	  $(if $(CURL_INCDIR),-I$(CURL_INCDIR)) fuzz/decode_fuzz.c $(SRCS) \
	  -llua$(LUA_VERSION) $(LIBS) -lm -o $(FUZZ_BUILD)/decode_fuzz
	cd $(FUZZ_BUILD) && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ./decode_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -print_final_stats=1 \
	  -dict=../../fuzz/json.dict -artifact_prefix=artifacts/ $(FUZZ_FLAGS) corpus ../../spec/json

test-asan: deps
	@$(MAKE) --no-print-directory all BUILD=$(ASAN_BUILD) CFLAGS="-O1 -g $(SAN_FLAGS)" \
	  LDFLAGS="$(SAN_FLAGS)"
	@LUA=$(LUA) BUILD=$(ASAN_BUILD) CC=$(CC) LUA_INCDIR=$(LUA_INCDIR) scripts/test-asan.sh

test-valgrind: deps
	@PACKAGES="$(VALGRIND_PACKAGES)" scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUILD=$(BUILD) CC=$(CC) LUA_INCDIR=$(LUA_INCDIR) scripts/test-valgrind.sh

clean-objs:
	rm -f $(OBJS) $(MODULE)

install: all
	install -d $(DESTDIR)$(LUA_LIBDIR_INSTALL)/intuned $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned \
	  $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned/cli
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_LIBDIR_INSTALL)/intuned/core.so
	install -m 0644 lua/intuned.lua $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned.lua
	install -m 0644 lua/intuned/*.lua $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned/
	install -m 0644 lua/intuned/cli/*.lua $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned/cli/
	install -d $(DESTDIR)$(PREFIX)/bin
	sed '1s|^#!.*|#!/usr/bin/env $(LUA)|' bin/intuned >$(DESTDIR)$(PREFIX)/bin/intuned
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/intuned

clean:
	rm -rf build
