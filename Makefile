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

.PHONY: all deps test demo lint install clean bench-concurrent

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

# get_job_runs against sequential get_job_run calls (bench/concurrent.lua).
bench-concurrent: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUILD=$(BUILD) nice -n 10 $(LUA) bench/concurrent.lua

lint: deps
	luacheck lua spec examples scripts bin/intuned bench
	$(MAKE) --no-print-directory clean-objs all CFLAGS="$(CFLAGS) -Werror"

clean-objs:
	rm -f $(OBJS) $(MODULE)

install: all
	install -d $(DESTDIR)$(LUA_LIBDIR_INSTALL)/intuned $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_LIBDIR_INSTALL)/intuned/core.so
	install -m 0644 lua/intuned.lua $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned.lua
	install -m 0644 lua/intuned/*.lua $(DESTDIR)$(LUA_SHAREDIR_INSTALL)/intuned/
	install -d $(DESTDIR)$(PREFIX)/bin
	sed '1s|^#!.*|#!/usr/bin/env $(LUA)|' bin/intuned >$(DESTDIR)$(PREFIX)/bin/intuned
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/intuned

clean:
	rm -rf build
