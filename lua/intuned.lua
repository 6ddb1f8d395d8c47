-- intuned: a Lua client for the Intuned Client API.
--
--   local intuned = require("intuned")
--   local client = intuned.new{ workspace_id = ..., api_key = ... }
--   local res, err = client:get_job_run("my-project", "my-job", "jr_123")
--
-- The C core (intuned.core) performs requests and decodes JSON; the Lua
-- layer (intuned.client and the modules it uses) checks arguments, builds
-- paths and bodies, turns responses into results or error objects and
-- applies the retry policy. This module is the front: what a user needs.

local core = require("intuned.core")
local client = require("intuned.client")
local errors = require("intuned.errors")
local json = require("intuned.json")
local status = require("intuned.status")

return {
  VERSION = core.VERSION,
  DEFAULT_BASE_URL = client.DEFAULT_BASE_URL,
  -- intuned.new(opts) -> client (intuned.client)
  new = client.new,
  -- JSON null, as decoded (with keep_nulls) and as written in bodies.
  null = core.null,
  -- intuned.array([t]) -> t marked as a JSON array (so {} is written []).
  array = json.array,
  is_error = errors.is_error,
  is_terminal = status.is_terminal,
}
