-- What a client keeps out of reach of the code that holds it: its session
-- (which sends the API key), the transport settings of results downloads
-- (which may carry proxy credentials), and the transport. One entry per
-- client, collected with it. Internal: only the library's modules use it.

return setmetatable({}, { __mode = "k" })
