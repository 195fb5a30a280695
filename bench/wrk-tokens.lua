-- wrk script: one bearer token per request, round-robin over the file in $WRK_TOKENS
-- (one token per line), on the path in $WRK_PATH. Used for fresh-token runs.
local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
end
local path = os.getenv("WRK_PATH") or "/people/1"
local i = 0

request = function()
  i = i % #tokens + 1
  return wrk.format("GET", path, { ["Authorization"] = tokens[i] })
end
