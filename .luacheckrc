std = "max"
max_line_length = 120
files["spec"] = { std = "+busted" }
files["spec/server"] = { globals = { "ngx" } }
exclude_files = { "build", "luarocks-tree", "lua_modules" }
files["lua/intuned/ngx.lua"] = { read_globals = { "ngx" } }
files["lua/intuned/cosocket.lua"] = { read_globals = { "ngx" } }
files["lua/intuned/http1.lua"] = { read_globals = { "ngx" } }
files["lua/intuned/transport.lua"] = { read_globals = { "ngx" } }
files["lua/intuned/fanout.lua"] = { read_globals = { "ngx" } }
-- Generated, one schema a line (scripts/gen-schemas.py).
files["lua/intuned/schemas.lua"] = { max_line_length = false }
files["spec/nginx"] = { globals = { "ngx" } }
files["examples/openresty"] = { globals = { "ngx" } }
