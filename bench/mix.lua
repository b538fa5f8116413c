-- wrk script for bench/run.py: cycle through a list of request paths.
--
--   wrk -t1 -c8 -d15s -s bench/mix.lua http://127.0.0.1:8731 -- PATHS_FILE [TOKEN] [ORGANIZATION_ID]
--
-- PATHS_FILE holds one path (with its query string) per line. The summary is printed
-- as one JSON line starting with "BENCH_JSON ".

local paths = {}
local headers = {}
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  if args[2] and args[2] ~= "" then
    headers["Authorization"] = "Bearer " .. args[2]
  end
  if args[3] and args[3] ~= "" then
    headers["X-Organization-ID"] = args[3]
  end
end

function request()
  next_index = next_index % #paths + 1
  return wrk.format("GET", paths[next_index], headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"latency_p50_us": %d, "latency_p99_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(99)))
end
