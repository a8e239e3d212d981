-- wrk script for bench/issuer_refresh.sh: the refresh_token grant with rotation, never presenting
-- a refresh token twice (a rotated token presented again is reuse: the server revokes its family).
-- Environment:
--   WRK_TOKENS=FILE   one refresh token per line; thread k of WRK_THREADS takes lines k, k+T, ...
--                     (give it exactly as many tokens as connections: one per connection)
--   WRK_THREADS=T     wrk -t
--   WRK_BODY=FORM     the form body without the token, e.g.
--                     grant_type=refresh_token&client_id=...&scope=...
-- Each thread keeps a FIFO queue of unused refresh tokens: request() takes one, response() puts
-- the "refresh_token" of a 200 answer back. A non-200 answer or a 200 without a refresh_token
-- loses that token (and is counted); if a thread ever runs out, it sends "EXHAUSTED" (a 400).
-- done() prints one line "TGBENCH key=value ..." and the first error body, for the bench script.
local token_file = os.getenv("WRK_TOKENS")
local nthreads = tonumber(os.getenv("WRK_THREADS") or "")
local prefix = os.getenv("WRK_BODY")
if not token_file or token_file == "" then error("refresh_rotation.lua: WRK_TOKENS is not set") end
if not nthreads then error("refresh_rotation.lua: WRK_THREADS is not set") end
if not prefix or prefix == "" then error("refresh_rotation.lua: WRK_BODY is not set") end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local function urlenc(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- ---------------------------------------------------------------- main state: setup / done
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- ---------------------------------------------------------------- thread state
-- globals read back by done() through thread:get()
seeded, sent, rotated, missing, bad, exhausted, first_error = 0, 0, 0, 0, 0, 0, ""
local queue, head, tail = {}, 1, 0

function init(args)
  local i = 0
  for line in io.lines(token_file) do
    if line ~= "" then
      if i % nthreads == tid then
        tail = tail + 1
        queue[tail] = line
      end
      i = i + 1
    end
  end
  seeded = tail
  if seeded == 0 then error("refresh_rotation.lua: thread " .. tid .. " got no tokens from " .. token_file) end
end

local verify_done = false
function request()
  if not verify_done then
    verify_done = true
    -- wrk calls thread 0's request() once before the run to count pipelined requests: it is not
    -- sent, so it must not take a token
    if tid == 0 then return wrk.format("POST", nil, headers, prefix .. "&refresh_token=VERIFY") end
  end
  if head > tail then
    exhausted = exhausted + 1
    return wrk.format("POST", nil, headers, prefix .. "&refresh_token=EXHAUSTED")
  end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  sent = sent + 1
  return wrk.format("POST", nil, headers, prefix .. "&refresh_token=" .. urlenc(token))
end

function response(status, resp_headers, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
      rotated = rotated + 1
      return
    end
    missing = missing + 1
  else
    bad = bad + 1
  end
  if first_error == "" then first_error = status .. " " .. (body or ""):sub(1, 400):gsub("%s+", " ") end
end

function done(summary, latency, reqs)
  local e = summary.errors
  local s_seeded, s_sent, s_rotated, s_missing, s_bad, s_exhausted, err = 0, 0, 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    s_seeded = s_seeded + t:get("seeded")
    s_sent = s_sent + t:get("sent")
    s_rotated = s_rotated + t:get("rotated")
    s_missing = s_missing + t:get("missing")
    s_bad = s_bad + t:get("bad")
    s_exhausted = s_exhausted + t:get("exhausted")
    if err == "" then err = t:get("first_error") end
  end
  io.write(string.format(
    "TGBENCH requests=%d non2xx_or_3xx=%d errors=%d duration_us=%d p50_us=%.0f p99_us=%.0f seeded=%d sent=%d rotated=%d no_refresh_token=%d non200=%d exhausted=%d\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), s_seeded, s_sent, s_rotated, s_missing, s_bad, s_exhausted))
  if err ~= "" then io.write("TGBENCH_FIRST_ERROR " .. err .. "\n") end
end
