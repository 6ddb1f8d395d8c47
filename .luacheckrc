std = "max"
max_line_length = 120
files["spec"] = { std = "+busted" }
files["spec/server"] = { globals = { "ngx" } }
exclude_files = { "build", "luarocks-tree", "lua_modules" }
