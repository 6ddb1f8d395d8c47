#!/bin/sh
# Installs the Debian packages the build, the specs and the demo need, when
# they are missing. Needs root (apt-get) only when something is missing.
# lua5.1 and its headers: the LuaRocks check installs for 5.1 too;
# libluajit2-5.1-dev: the nginx spec builds the module for nginx's LuaJIT
# (luajit2 is the OpenResty LuaJIT that nginx's Lua module links; Debian's
# luajit and libluajit-5.1-dev would remove that module).
# locales: localedef and the de_DE source, for the spec that decodes numbers
# under a locale whose decimal separator is a comma (scripts/run-specs.sh).
# python3-jsonschema, python3-yaml: the contract spec checks the emulator's
# answers against the OpenAPI document (spec/support/validate_contract.py,
# run as /usr/bin/python3).
# Targets with more needs pass their own list in PACKAGES (the Makefile's
# FUZZ_PACKAGES, VALGRIND_PACKAGES, LINT_PACKAGES).
set -eu

PACKAGES=${PACKAGES:-"gcc make pkg-config curl openssl
  lua5.4 liblua5.4-dev libcurl4-openssl-dev
  lua-cjson lua-busted lua-check lua-socket luarocks
  nginx-light libnginx-mod-http-lua tmux
  lua5.1 liblua5.1-0-dev libluajit2-5.1-dev locales
  python3-jsonschema python3-yaml ca-certificates"}

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: run this as root, or: sudo apt-get install$missing" >&2
  exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null
