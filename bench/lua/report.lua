-- wrk script for the benchmarks: optional method/body from the environment, a count of
-- non-2xx responses, and a done() hook printing one JSON line with requests/s, latency
-- percentiles (p50/p75/p90/p95/p99, ms) and errors.
--   BENCH_METHOD  (default GET)     BENCH_BODY  request body (JSON), sent with Content-Type
local method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY")
if method and method ~= "" then wrk.method = method end
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  first_bad = ""
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local bad, sample = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    if sample == "" then sample = thread:get("first_bad") or "" end
  end
  local function ms(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_s": %.3f, "rps": %.2f, "bytes": %d, ' ..
    '"latency_ms": {"p50": %.3f, "p75": %.3f, "p90": %.3f, "p95": %.3f, "p99": %.3f, ' ..
    '"mean": %.3f, "max": %.3f}, "non_2xx": %d, "first_non_2xx": %s, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    ms(50), ms(75), ms(90), ms(95), ms(99), latency.mean / 1000, latency.max / 1000,
    bad, json_string(sample), e.connect, e.read, e.write, e.status, e.timeout))
end
