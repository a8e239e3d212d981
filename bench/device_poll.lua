-- wrk script for bench/device_poll.sh: device-code polls at the token endpoint
-- (grant_type=urn:ietf:params:oauth:grant-type:device_code), counting the answers by "error".
-- Environment:
--   WRK_CODES=FILE    one device code per line; thread k of WRK_THREADS takes the k-th contiguous
--                     slice of the file
--   WRK_THREADS=T     wrk -t
--   WRK_BODY=FORM     the form body without the code: grant_type=...&client_id=...
--   WRK_ONCE=1        poll every code at most once (no answer can be slow_down: the first poll of
--                     a code is never too soon); a thread stops when its slice is used up, and the
--                     rate is computed here over each thread's own window, from its first request
--                     to its last answer. Otherwise each thread cycles through its slice for the
--                     whole run (wrk's own Requests/sec is the rate).
-- done() prints "TGBENCH key=value ..." with the counts per answer and the first unexpected
-- answer ("TGBENCH_FIRST_OTHER ...").
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } tgbench_timespec;
  int clock_gettime(int clk_id, tgbench_timespec *tp);
]]
local ts = ffi.new("tgbench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local code_file = os.getenv("WRK_CODES")
local nthreads = tonumber(os.getenv("WRK_THREADS") or "")
local prefix = os.getenv("WRK_BODY")
local once = os.getenv("WRK_ONCE") == "1"
if not code_file or code_file == "" then error("device_poll.lua: WRK_CODES is not set") end
if not nthreads then error("device_poll.lua: WRK_THREADS is not set") end
if not prefix or prefix == "" then error("device_poll.lua: WRK_BODY is not set") end
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- globals read back by done() through thread:get()
ncodes, sent, pending, slow_down, other, stopped, t_first, t_last, first_other = 0, 0, 0, 0, 0, 0, nil, nil, ""
local requests, idx = {}, 0

function init(args)
  local count = 0
  for line in io.lines(code_file) do if line ~= "" then count = count + 1 end end
  local lo = math.floor(count * tid / nthreads) + 1
  local hi = math.floor(count * (tid + 1) / nthreads)
  local i = 0
  for line in io.lines(code_file) do
    if line ~= "" then
      i = i + 1
      if i > hi then break end
      if i >= lo then
        requests[#requests + 1] = wrk.format("POST", nil, headers, prefix .. "&device_code=" .. line)
      end
    end
  end
  ncodes = #requests
  if ncodes == 0 then error("device_poll.lua: thread " .. tid .. " got no codes from " .. code_file) end
end

local verify_done = false
local spent = wrk.format("POST", nil, headers, prefix .. "&device_code=USED-UP")
function request()
  if not verify_done then
    verify_done = true
    -- wrk calls thread 0's request() once before the run to count pipelined requests: not sent
    if tid == 0 then return requests[1] end
  end
  if t_first == nil then t_first = now_us() end
  idx = idx + 1
  if idx > ncodes then
    if once then
      -- used up: stop; this request (an unknown code) may still go out, its answer is "other"
      -- but is not counted once the thread has stopped
      if stopped == 0 then stopped = 1; wrk.thread:stop() end
      return spent
    end
    idx = 1
  end
  sent = sent + 1
  return requests[idx]
end

function response(status, resp_headers, body)
  if stopped == 1 then return end
  t_last = now_us()
  local err = status == 400 and body:match('"error"%s*:%s*"([^"]+)"') or nil
  if err == "authorization_pending" then
    pending = pending + 1
  elseif err == "slow_down" then
    slow_down = slow_down + 1
  else
    other = other + 1
    if first_other == "" then first_other = status .. " " .. (body or ""):sub(1, 300):gsub("%s+", " ") end
  end
end

function done(summary, latency, reqs)
  local e = summary.errors
  local n_codes, n_sent, n_pending, n_slow, n_other, n_stopped, rate, window, other_body = 0, 0, 0, 0, 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    n_codes = n_codes + t:get("ncodes")
    n_sent = n_sent + t:get("sent")
    local p, s, o = t:get("pending"), t:get("slow_down"), t:get("other")
    n_pending, n_slow, n_other = n_pending + p, n_slow + s, n_other + o
    n_stopped = n_stopped + t:get("stopped")
    local t0, t1 = t:get("t_first"), t:get("t_last")
    if t0 and t1 and t1 > t0 then
      local w = (t1 - t0) / 1e6
      rate = rate + (p + s + o) / w
      if w > window then window = w end
    end
    if other_body == "" then other_body = t:get("first_other") end
  end
  if not once and summary.duration > 0 then
    rate = summary.requests / (summary.duration / 1e6)
    window = summary.duration / 1e6
  end
  io.write(string.format(
    "TGBENCH requests=%d errors=%d codes=%d sent=%d pending=%d slow_down=%d other=%d threads_stopped=%d/%d window_s=%.3f rate=%.1f p50_us=%.0f p99_us=%.0f\n",
    summary.requests, e.connect + e.read + e.write + e.timeout, n_codes, n_sent, n_pending, n_slow, n_other,
    n_stopped, #threads, window, rate, latency:percentile(50), latency:percentile(99)))
  if other_body ~= "" then io.write("TGBENCH_FIRST_OTHER " .. other_body .. "\n") end
end
