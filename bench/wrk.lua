-- wrk script for the Peerly benchmark: cycles through the requests of $BENCH_REQUESTS, one per line
-- (METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY), all formatted once at start-up; prints a JSON summary line at the end.
local formatted = {}
local next_index = 0

function init(args)
  local file = assert(io.open(os.getenv("BENCH_REQUESTS"), "r"))
  for line in file:lines() do
    local method, path, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["Accept"] = "application/vnd.peerly.v1" }
    if token ~= "" then headers["Authorization"] = "Bearer " .. token end
    if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
    formatted[#formatted + 1] = wrk.format(method, path, headers, body)
  end
  file:close()
end

function request()
  next_index = next_index % #formatted + 1
  return formatted[next_index]
end

-- With $BENCH_STOP_AFTER, the thread stops after that many responses and creates $BENCH_DONE_FILE, on which
-- bench/main.py interrupts wrk (which then prints its summary): the memory run counts requests, not seconds.
-- Defined only then: a `response` function makes wrk hand every response to Lua.
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "")
if stop_after then
  local responses = 0
  function response(status, headers, body)
    responses = responses + 1
    if responses == stop_after then
      wrk.thread:stop()
      local done = assert(io.open(os.getenv("BENCH_DONE_FILE"), "w"))
      done:close()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "socket_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
