-- wrk script for bench/edge/run.mjs (LuaJIT). Arguments after "--":
--   mode   "measure" (no response() hook: wrk skips header parsing) or
--          "check" (counts every status, printed by done())
--   kind   "static"  <header> <value>          the same header on every request
--          "garbage" <header> <prefix>         prefix .. random token68 text, new per request
--          "forged"  <header> <prefix> <bytes> prefix .. random canonical base64url
--                                              signature of <bytes> bytes, new per request
-- done() prints one line "BENCH_RESULT {json}" that run.mjs parses.

local mode, kind, header, value, sig_bytes

-- Random text is assembled from a pool of random 16-character chunks: 22 picks
-- give 1024^22 combinations per request at a fraction of the cost of drawing
-- every character, so wrk's own CPU use stays close to the static case.
local B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local GARBAGE = B64URL .. "."
local pool_b64, pool_garbage = {}, {}
local POOL = 1024

local function random_chunk(alphabet)
  local t = {}
  for i = 1, 16 do
    local k = math.random(1, #alphabet)
    t[i] = alphabet:sub(k, k)
  end
  return table.concat(t)
end

local function random_text(pool, n)
  local parts, len = {}, 0
  while len < n do
    parts[#parts + 1] = pool[math.random(1, POOL)]
    len = len + 16
  end
  return table.concat(parts):sub(1, n)
end

-- RFC 4648 §3.5: the unused low bits of the last character are zero, so the
-- validator decodes the signature and really runs the verification (a
-- non-canonical encoding would be refused before any crypto).
local LAST_2 = { "A", "Q", "g", "w" }            -- 4 unused bits
local LAST_3 = {}                                -- 2 unused bits
for i = 0, 63, 4 do LAST_3[#LAST_3 + 1] = B64URL:sub(i + 1, i + 1) end

local function signature(bytes)
  local n = math.ceil(bytes * 8 / 6)
  local body = random_text(pool_b64, n - 1)
  local r = n % 4
  local last
  if r == 2 then last = LAST_2[math.random(1, 4)]
  elseif r == 3 then last = LAST_3[math.random(1, 16)]
  else local k = math.random(1, 64); last = B64URL:sub(k, k) end
  return body .. last
end

local counter = 1
function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
  threads = threads or {}
  threads[#threads + 1] = thread
end

function init(args)
  mode, kind, header, value = args[1], args[2], args[3], args[4]
  sig_bytes = tonumber(args[5] or "0")
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919 + math.floor(os.clock() * 1e6))
  for i = 1, POOL do
    pool_b64[i] = random_chunk(B64URL)
    pool_garbage[i] = random_chunk(GARBAGE)
  end
  statuses = {}
  if kind == "static" then
    wrk.headers[header] = value
  elseif kind == "garbage" then
    request = function()
      return wrk.format(nil, nil, { [header] = value .. random_text(pool_garbage, math.random(8, 400)) })
    end
  elseif kind == "forged" then
    request = function()
      return wrk.format(nil, nil, { [header] = value .. signature(sig_bytes) })
    end
  else
    error("unknown kind " .. tostring(kind))
  end
  if mode == "check" then
    response = function(status, headers, body)
      statuses[status] = (statuses[status] or 0) + 1
    end
  end
end

local function json_statuses()
  local merged = {}
  for _, t in ipairs(threads or {}) do
    local s = t:get("statuses") or {}
    for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"durationUs":%d,"requests":%d,"bytes":%d,"connectErrors":%d,"readErrors":%d,' ..
    '"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,' ..
    '"meanUs":%.1f,"statuses":%s}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    json_statuses()))
end
