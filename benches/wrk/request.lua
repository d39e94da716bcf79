-- wrk script: one authenticated request, as the environment describes it.
--   KEYDECK_TOKEN  the bearer token (required)
--   WRK_METHOD     GET or POST (default POST)
--   WRK_BODY       the JSON body, e.g. '{"query":"{ apiKeys(first: 50) { totalCount } }"}'
local token = os.getenv("KEYDECK_TOKEN")
if token == nil or token == "" then
  error("KEYDECK_TOKEN is not set")
end
wrk.method = os.getenv("WRK_METHOD") or "POST"
local body = os.getenv("WRK_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
wrk.headers["Authorization"] = "Bearer " .. token
