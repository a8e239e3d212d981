-- wrk script for bench/gateway.sh: collect access tokens from the token endpoint.
-- POSTs the form body in $WRK_BODY (client_credentials) over keep-alive HTTPS and appends every
-- "access_token" of a 200 response, one per line, to $WRK_OUT.<thread number>; a thread stops once
-- it has $WRK_PER_THREAD tokens (0 = no limit). One token per response, so no process per token.
local body = os.getenv("WRK_BODY")
local out = os.getenv("WRK_OUT")
local per_thread = tonumber(os.getenv("WRK_PER_THREAD") or "0") or 0
if body == nil or body == "" then error("fetch_tokens.lua: WRK_BODY is not set") end
if out == nil or out == "" then error("fetch_tokens.lua: WRK_OUT is not set") end
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end

got = 0
local f
function init(args)
  f = assert(io.open(out .. "." .. tid, "a"))
  f:setvbuf("line") -- every token reaches the file even if the thread is stopped
end

function response(status, headers, resp_body)
  if status ~= 200 then return end
  local token = resp_body:match('"access_token"%s*:%s*"([^"]+)"')
  if token then
    f:write(token, "\n")
    got = got + 1
    if per_thread > 0 and got >= per_thread then
      f:flush()
      wrk.thread:stop()
    end
  end
end
