# intuned-lua: build, test, demo, lint, install.
# LuaRocks-style variables can be overridden: make LUA_VERSION=5.3

LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
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
LIBS    := -lcurl

BUILD   := build/lua$(LUA_VERSION)
SRCS    := $(wildcard src/*.c)
OBJS    := $(patsubst src/%.c,$(BUILD)/%.o,$(SRCS))
MODULE  := $(BUILD)/intuned/core.so

.PHONY: all deps test demo lint install clean bench bench-deps bench-sequential

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

demo: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUILD=$(BUILD) $(LUA) scripts/demo.lua

# Benchmarks (bench/README.md). Each benchmark target is one line of
# BENCH_TARGETS; `make bench` runs them all in order.
BENCH_DEBS := valgrind lua-socket lua-sec lua-cjson lua-dkjson curl openssl \
              nginx-light libnginx-mod-http-lua gcc libcurl4-openssl-dev
RAW_CURL := $(BUILD)/raw_curl
BENCH_TARGETS := bench-sequential

bench: $(BENCH_TARGETS)

bench-deps: deps
	@PACKAGES="$(BENCH_DEBS)" scripts/deps.sh

$(RAW_CURL): bench/raw_curl.c | $(BUILD)/intuned
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) \
	  $(if $(CURL_INCDIR),-I$(CURL_INCDIR)) -o $@ $< $(LDFLAGS) -lcurl

bench-sequential: bench-deps
	@$(MAKE) --no-print-directory all $(RAW_CURL)
	@LUA=$(LUA) BUILD=$(BUILD) RAW_CURL=$(RAW_CURL) nice -n 10 $(LUA) bench/run.lua $(BENCH_ARGS)

lint: deps
	luacheck lua spec examples scripts bench
	$(MAKE) --no-print-directory clean-objs all CFLAGS="$(CFLAGS) -Werror"

clean-objs:
	rm -f $(OBJS) $(MODULE)

install: all
	install -d $(DESTDIR)$(LUA_LIBDIR_INSTALL)/intuned $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_LIBDIR_INSTALL)/intuned/core.so
	install -m 0644 lua/intuned.lua $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned.lua
	install -m 0644 lua/intuned/*.lua $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned/

clean:
	rm -rf build
