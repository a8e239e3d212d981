-- wrk script for bench/device_poll.sh: create device codes (POST {authority}/oauth2/v2.0/devicecode)
-- over keep-alive HTTPS and append every "device_code" of a 200 answer, one per line, to
-- $WRK_OUT.<thread number>; a thread stops once it has $WRK_PER_THREAD codes. The form body
-- (client_id, scope) is $WRK_BODY. done() prints "TGBENCH created=N non200=N".
local body = os.getenv("WRK_BODY")
local out = os.getenv("WRK_OUT")
local per_thread = tonumber(os.getenv("WRK_PER_THREAD") or "")
if body == nil or body == "" then error("fetch_device_codes.lua: WRK_BODY is not set") end
if out == nil or out == "" then error("fetch_device_codes.lua: WRK_OUT is not set") end
if not per_thread or per_thread < 1 then error("fetch_device_codes.lua: WRK_PER_THREAD is not set") end
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

got, non200 = 0, 0
local f
function init(args)
  f = assert(io.open(out .. "." .. tid, "a"))
  f:setvbuf("line") -- every code reaches the file even if the thread is stopped
end

function response(status, headers, resp_body)
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  if got >= per_thread then return end -- answers still in flight after the stop
  local code = resp_body:match('"device_code"%s*:%s*"([^"]+)"')
  if code then
    f:write(code, "\n")
    got = got + 1
    if got >= per_thread then
      f:flush()
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local created, bad = 0, 0
  for _, t in ipairs(threads) do
    created = created + t:get("got")
    bad = bad + t:get("non200")
  end
  io.write(string.format("TGBENCH created=%d non200=%d duration_us=%d\n", created, bad, summary.duration))
end
