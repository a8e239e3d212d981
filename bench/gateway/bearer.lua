-- wrk script for bench/gateway.sh: GET requests with a bearer token, optional pacing and a
-- machine-readable summary line. Environment:
--   WRK_TOKENS=FILE     one JWT per line. Thread k of WRK_THREADS takes the k-th contiguous slice of
--                       the file and cycles through it, so the threads start at different offsets
--                       and no two requests carry the same token until a thread wraps around.
--                       Without it, the request is wrk's default (use wrk -H for a fixed token).
--   WRK_THREADS=N       wrk -t (needed to slice the token file)
--   WRK_STOP_AT_REPEAT=1  a thread stops as soon as it would send a token a second time; the
--                       "fresh" request rate is then computed here over each thread's own window
--                       (wrk's Requests/sec divides by the whole -d duration and is not used)
--   WRK_DURATION=SECS   wrk -d, the window end for threads that did not run out of tokens
--   WRK_RATE=R          pace the whole run at R requests/s (wrk2's constant rate is not in Debian;
--                       this is the approximation): each thread hands out send slots every
--                       WRK_THREADS/R s and delay() holds a connection until its slot. A thread
--                       that falls behind sends at once (catching up, as wrk2 does); latency is
--                       still measured from the actual send, i.e. not corrected for coordinated
--                       omission.
-- done() prints one line "TGBENCH key=value ..." that the script parses.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } tgbench_timespec;
  int clock_gettime(int clk_id, tgbench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("tgbench_timespec")
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local token_file = os.getenv("WRK_TOKENS")
if token_file == "" then token_file = nil end
local nthreads = tonumber(os.getenv("WRK_THREADS") or "")
local stop_at_repeat = os.getenv("WRK_STOP_AT_REPEAT") == "1"
local duration_s = tonumber(os.getenv("WRK_DURATION") or "")
local rate = tonumber(os.getenv("WRK_RATE") or "")
if (token_file or rate) and not nthreads then error("bearer.lua: WRK_TOKENS and WRK_RATE need WRK_THREADS") end

-- ---------------------------------------------------------------- main state: setup / done
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- ---------------------------------------------------------------- thread state
-- globals read back by done() through thread:get()
ntok, sent, fresh, t0, t_stop, wrapped = 0, 0, 0, nil, nil, 0
local requests = {}
local idx = 0

function init(args)
  if not token_file then return end
  local count = 0
  for _ in io.lines(token_file) do count = count + 1 end
  local lo = math.floor(count * tid / nthreads) + 1
  local hi = math.floor(count * (tid + 1) / nthreads)
  local i = 0
  for line in io.lines(token_file) do
    i = i + 1
    if i > hi then break end
    if i >= lo and line ~= "" then
      requests[#requests + 1] = wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. line })
    end
  end
  ntok = #requests
  if ntok == 0 then error("bearer.lua: thread " .. tid .. " got no tokens from " .. token_file) end
end

if token_file then
  local verify_done = false
  function request()
    if not verify_done then
      verify_done = true
      -- wrk calls thread 0's request() once before the run to count pipelined requests: not sent
      if tid == 0 then return requests[1] end
    end
    if t0 == nil then t0 = now_us() end
    idx = idx + 1
    if idx > ntok then
      idx = 1
      if wrapped == 0 then
        t_stop = now_us()
        if stop_at_repeat then wrk.thread:stop() end
      end
      wrapped = wrapped + 1
    end
    sent = sent + 1
    if wrapped == 0 then fresh = fresh + 1 end
    return requests[idx]
  end
end

if rate and rate > 0 then
  local interval_us = 1e6 * nthreads / rate
  local next_slot = nil
  function delay()
    local now = now_us()
    if next_slot == nil or next_slot < now - 1e6 then next_slot = now end -- start, or >1 s behind
    local slot = next_slot
    next_slot = next_slot + interval_us
    local ms = (slot - now) / 1000
    if ms <= 0 then return 0 end
    -- wrk's timers have 1 ms resolution: round up or down at random so the mean stays exact
    return math.floor(ms + math.random())
  end
end

function done(summary, latency, reqs)
  local e = summary.errors
  local line = string.format(
    "TGBENCH requests=%d non2xx_or_3xx=%d errors=%d duration_us=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f mean_us=%.1f",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean)
  if token_file then
    -- per-thread windows: from the thread's first request to its first repeated token (or to the
    -- end of the run); fresh_rps = sum over the threads of fresh requests / window (a request
    -- still in flight when its thread stops counts: at most c/t per thread)
    local distinct, sent_all, fresh_all, fresh_rps, wmax, nwrapped = 0, 0, 0, 0, 0, 0
    for _, t in ipairs(threads) do
      local n, tstart, tstop = t:get("fresh"), t:get("t0"), t:get("t_stop")
      distinct = distinct + t:get("ntok")
      sent_all = sent_all + t:get("sent")
      fresh_all = fresh_all + n
      if tstop then nwrapped = nwrapped + 1 end
      if tstart then
        local tend = tstop or (tstart + (duration_s or summary.duration / 1e6) * 1e6)
        local w = (tend - tstart) / 1e6
        if w > 0 then fresh_rps = fresh_rps + n / w end
        if w > wmax then wmax = w end
      end
    end
    if nwrapped == 0 and summary.duration > 0 then
      -- no thread ran out of tokens: every completed request was fresh, and wrk's own count over
      -- its measured duration is exact (the per-thread count includes requests still in flight)
      fresh_rps = summary.requests / (summary.duration / 1e6)
      wmax = summary.duration / 1e6
    end
    line = line .. string.format(
      " tokens=%d sent=%d fresh=%d threads_wrapped=%d/%d window_s=%.3f fresh_rps=%.1f",
      distinct, sent_all, fresh_all, nwrapped, #threads, wmax, fresh_rps)
  end
  io.write(line .. "\n")
end
