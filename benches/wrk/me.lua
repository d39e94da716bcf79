-- wrk script: the authenticated query `{ me { id roles } }`, as a client sends it.
-- The bearer token comes from the environment: KEYDECK_TOKEN=kd_… wrk -s benches/wrk/me.lua URL
local token = os.getenv("KEYDECK_TOKEN")
if token == nil or token == "" then
  error("KEYDECK_TOKEN is not set")
end
wrk.method = "POST"
wrk.body = '{"query":"{ me { id roles } }"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
