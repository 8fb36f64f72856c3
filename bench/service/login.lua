-- wrk script for bench/service/run.mjs: one login per request, a different user each
-- time, and every response checked (a failed login is not a login).
--   wrk ... -s login.lua URL -- password <users> <threads>
--       POST /token grant_type=password, scope "openid api", for user u<i> (password pw-<i>-bench):
--       an access, a refresh and an ID token
--   wrk ... -s login.lua URL -- password-api <users> <threads>
--       the same with scope "api": an access and a refresh token, no ID token
--   wrk ... -s login.lua URL -- form <users> <threads> <forms file> <cookie>
--       POST /authorize with a login form fetched before the run (each form once: its
--       CSRF nonce is single use); the forms file holds one urlencoded body per line
--   wrk ... -s login.lua URL -- healthz <users> <threads>
--       GET /healthz (the HTTP floor, no login)
-- done() prints one line "BENCH_JSON {...}" with the counts and latency percentiles.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local mode, users, nthreads, forms, cookie
local n = 0
ok = 0
bad = 0
exhausted = 0
badsample = ""

function init(args)
  mode = args[1]
  users = tonumber(args[2])
  nthreads = tonumber(args[3])
  if mode == "form" then
    forms = {}
    local i = 0
    for line in io.lines(args[4]) do
      -- Thread t takes forms t, t+T, t+2T, ...: no form is sent twice.
      if i % nthreads == tid then table.insert(forms, line) end
      i = i + 1
    end
    cookie = args[5]
  end
end

local token_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request()
  n = n + 1
  if mode == "password" or mode == "password-api" then
    -- Thread t serves users t, t+T, ...; consecutive requests of all threads cover every user.
    local i = ((n - 1) * nthreads + tid) % users
    local scope = mode == "password" and "openid%20api" or "api"
    local body = "grant_type=password&client_id=cli&scope=" .. scope .. "&username=u" .. i .. "&password=pw-" .. i .. "-bench"
    return wrk.format("POST", "/token", token_headers, body)
  elseif mode == "form" then
    local body = forms[n]
    if body == nil then
      exhausted = exhausted + 1
      body = forms[#forms]
    end
    return wrk.format("POST", "/authorize", { ["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie }, body)
  else
    return wrk.format("GET", "/healthz")
  end
end

function response(status, headers, body)
  local good
  if mode == "password" or mode == "password-api" then
    good = status == 200 and body ~= nil and string.find(body, '"access_token":"', 1, true) ~= nil
      and string.find(body, '"refresh_token":"', 1, true) ~= nil
      and (string.find(body, '"id_token":"', 1, true) ~= nil) == (mode == "password")
  elseif mode == "form" then
    local loc = headers["Location"] or headers["location"] or ""
    good = status == 303 and string.find(loc, "https://app.bench.example/callback?code=", 1, true) == 1
  else
    good = status == 200
  end
  if good then
    ok = ok + 1
  else
    bad = bad + 1
    if badsample == "" then badsample = tostring(status) .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local okt, badt, ex = 0, 0, 0
  local sample = ""
  for _, t in ipairs(threads) do
    okt = okt + t:get("ok")
    badt = badt + t:get("bad")
    ex = ex + t:get("exhausted")
    local s = t:get("badsample")
    if sample == "" and s ~= nil then sample = s end
  end
  local e = summary.errors
  sample = string.gsub(sample, '[%c"\\]', "?")
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"exhausted":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"bad_sample":"%s"}\n',
    summary.requests, summary.duration, okt, badt, ex, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, sample))
end
