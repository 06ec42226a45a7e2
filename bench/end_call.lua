-- wrk script for the ingest benchmark: POSTs Convolo's end_call fixture with a fresh call_id on every
-- request, so that each request is a new call (never a duplicate, never a revision).
--
--   wrk -t2 -c50 -d10s --timeout 10s -s bench/end_call.lua <ingest url> -- [body.json] [prefix]
--
-- Arguments after `--`:
--   1. the body template (default: fixtures/end_call.json next to this script)
--   2. a per-run prefix for call_id (default: random). bench/ingest.mjs passes a fresh random one to
--      every wrk invocation, so repeated runs against the same database never collide.
--   3. (optional) a lag L > 0 turns the load into whole calls, as Convolo sends them: requests alternate
--      between a start_call for a new call and the end_call of the call started L calls earlier on the
--      same thread (so the end updates a stored call whose index entries are no longer the newest)
--   4. with 3, the start_call template (default: fixtures/start_call.json next to this script)
--   5. (optional) `scattered`: call_ids spread over the whole key space, as Convolo's (32 hex digits that
--      look random), instead of counting up
-- call_id = prefix .. 2-digit thread number .. 12-digit per-thread counter (32 characters with the
-- 18-character prefix that ingest.mjs passes, the length of Convolo's own 32-hex-digit ids). New calls then
-- sort after the ones before them, so each index keyed by call_id grows at its end. With `scattered`:
-- 16 hex digits of a bijective mix of the counter, then 14 of the prefix and the thread number, so each
-- new call lands anywhere in those indexes, as in production.
--
-- When done, prints one line on stdout: `SWITCHBOARD_WRK_JSON {...}` with
--   requests, duration_us, bytes, non2xx, first_non2xx (status and start of the body of the first one),
--   errors {connect, read, write, timeout, status} (wrk's own counters; wrk's `status` counts only >= 400),
--   latency_us {p50, p90, p99, p999, min, max, mean, stdev}.

local threads = {}

-- per-thread state (each wrk thread has its own Lua state; `tid` is set from setup())
local head, tail, prefix, scattered
local start_head, start_tail, lag
local counter = 0
local step = 0
non2xx = 0
first_non2xx = ""

local function script_dir()
  local source = debug.getinfo(1, "S").source
  if source:sub(1, 1) == "@" then
    return source:sub(2):match("^(.*)/") or "."
  end
  return "."
end

local function random_prefix()
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  local t = {}
  for i = 1, 18 do t[i] = string.format("%x", math.random(0, 15)) end
  return table.concat(t)
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  local path = args[1]
  if path == nil or path == "" then path = script_dir() .. "/fixtures/end_call.json" end
  prefix = args[2]
  if prefix == nil or prefix == "" then prefix = random_prefix() end

  head, tail = split_template(path)
  lag = tonumber(args[3] or "0") or 0
  if lag > 0 then
    local start_path = args[4]
    if start_path == nil or start_path == "" then start_path = script_dir() .. "/fixtures/start_call.json" end
    start_head, start_tail = split_template(start_path)
  end

  scattered = args[5] == "scattered"

  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

-- The template's text before and after the value of "call_id".
function split_template(path)
  local f = assert(io.open(path, "rb"))
  local body = f:read("*a")
  f:close()
  local _, value_start = body:find('"call_id"%s*:%s*"')
  assert(value_start, "no \"call_id\": \"...\" in " .. path)
  local value_end = body:find('"', value_start + 1, true)
  return body:sub(1, value_start), body:sub(value_end)
end

-- a * b modulo 2^32 (LuaJIT's numbers are doubles: the product is taken in two exact halves).
local function mul32(a, b)
  return bit.tobit(a * bit.band(b, 0xffff) + bit.lshift(bit.tobit(a * bit.rshift(b, 16)), 16))
end

-- MurmurHash3's finaliser: a bijection of 32-bit integers whose outputs look random.
local function fmix32(h)
  h = bit.bxor(h, bit.rshift(h, 16))
  h = mul32(h, 0x85ebca6b)
  h = bit.bxor(h, bit.rshift(h, 13))
  h = mul32(h, 0xc2b2ae35)
  return bit.bxor(h, bit.rshift(h, 16))
end

local function call_id(n)
  if scattered then
    return string.format("%s%s%s%02d", bit.tohex(fmix32(n)), bit.tohex(fmix32(n + 0x9e3779b9)), prefix:sub(1, 14), tid)
  end
  return string.format("%s%02d%012d", prefix, tid, n)
end

function request()
  if lag > 0 then
    step = step + 1
    -- Even steps end the call started `lag` calls ago; odd steps (and the first calls) start a new one.
    if step % 2 == 0 and counter > lag then
      return wrk.format(nil, nil, nil, head .. call_id(counter - lag) .. tail)
    end
    counter = counter + 1
    return wrk.format(nil, nil, nil, start_head .. call_id(counter) .. start_tail)
  end
  counter = counter + 1
  return wrk.format(nil, nil, nil, head .. call_id(counter) .. tail)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_non2xx == "" then
      first_non2xx = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

local function json_string(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local bad, first = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    local f = thread:get("first_non2xx")
    if first == "" and f ~= nil then first = f end
  end
  local e = summary.errors
  io.write(string.format(
    'SWITCHBOARD_WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"first_non2xx":%s,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"min":%d,"max":%d,"mean":%.1f,"stdev":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes, bad, json_string(first),
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.min, latency.max, latency.mean, latency.stdev))
  -- The latency at a grid of percentiles (QUANTILE_GRID), so that runs can be merged into one distribution
  -- (bench/lib/wrk.mjs, mergedPercentile): one more line, `SWITCHBOARD_WRK_QUANTILES [us, ...]`.
  local values = {}
  -- (wrk answers 0 for the 100th percentile: the maximum stands for it.)
  for i, p in ipairs(quantile_grid()) do values[i] = string.format("%d", p >= 100 and latency.max or latency:percentile(p)) end
  io.write("SWITCHBOARD_WRK_QUANTILES [" .. table.concat(values, ",") .. "]\n")
end

-- 50 to 98 by 1, 98 to 99.9 by 0.1, then 99.95, 99.99 and 100 (the same grid as QUANTILE_GRID in bench/lib/wrk.mjs).
function quantile_grid()
  local grid = {}
  for p = 50, 97 do grid[#grid + 1] = p end
  for i = 0, 19 do grid[#grid + 1] = 98 + i / 10 end
  grid[#grid + 1] = 99.95
  grid[#grid + 1] = 99.99
  grid[#grid + 1] = 100
  return grid
end
