-- wrk script: a paced load. Each connection sends a request, waits for the answer, then waits
-- $WRK_DELAY_MS milliseconds before the next, so C connections send about
-- C / (delay + latency) requests per second. Used by bench/soak.py for a constant-rate load
-- below saturation (wrk2 is not packaged). Bearer token from $WRK_TOKEN, path from $WRK_PATH.
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "10")
local path = os.getenv("WRK_PATH") or "/people/1"
local headers = { ["Authorization"] = "Bearer " .. (os.getenv("WRK_TOKEN") or "") }

request = function()
  return wrk.format("GET", path, headers)
end

delay = function()
  return delay_ms
end
