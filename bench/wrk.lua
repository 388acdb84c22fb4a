-- One scenario of the benchmark, chosen by environment variables (see bench/run.py):
--   SCENARIO  list | get | list-one-list | create | update | toggle | update-many | toggle-many | delete | health
--             | chat | chat-stream
--   USER_ID, TOKEN, TASK_ID, LIST_ID, DELETE_FIRST, DELETE_LAST, MANY_FIRST, MANY_COUNT
local scenario = os.getenv("SCENARIO")
local user = os.getenv("USER_ID")
local base = "/api/" .. user .. "/tasks"
local task_id = os.getenv("TASK_ID")
local headers = {["Authorization"] = "Bearer " .. os.getenv("TOKEN"), ["Content-Type"] = "application/json"}

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local next_delete

function init(args)
  -- Each thread deletes its own stripe of ids, so no id is deleted twice.
  local stride = tonumber(os.getenv("THREADS") or "2")
  next_delete = tonumber(os.getenv("DELETE_FIRST") or "0") + thread_index
  delete_stride = stride
  many_first = tonumber(os.getenv("MANY_FIRST") or "0")
  many_count = tonumber(os.getenv("MANY_COUNT") or "1")
  many_next = thread_index
end

function request()
  if scenario == "list" then
    return wrk.format("GET", base, headers)
  elseif scenario == "list-one-list" then
    return wrk.format("GET", base .. "?list=" .. os.getenv("LIST_ID"), headers)
  elseif scenario == "get" then
    return wrk.format("GET", base .. "/" .. task_id, headers)
  elseif scenario == "create" then
    return wrk.format("POST", base, headers, '{"title": "Benchmark task", "description": "created by wrk"}')
  elseif scenario == "update" then
    return wrk.format("PUT", base .. "/" .. task_id, headers, '{"title": "Renamed by wrk"}')
  elseif scenario == "toggle" then
    return wrk.format("PATCH", base .. "/" .. task_id .. "/complete", headers)
  elseif scenario == "update-many" or scenario == "toggle-many" then
    -- Each thread walks its own stripe of the writer's MANY_COUNT tasks, from MANY_FIRST on.
    local id = many_first + many_next % many_count
    many_next = many_next + delete_stride
    if scenario == "toggle-many" then
      return wrk.format("PATCH", base .. "/" .. id .. "/complete", headers)
    end
    return wrk.format("PUT", base .. "/" .. id, headers, '{"title": "Renamed by wrk"}')
  elseif scenario == "delete" then
    local id = next_delete
    next_delete = next_delete + delete_stride
    return wrk.format("DELETE", base .. "/" .. id, headers)
  elseif scenario == "chat" then
    return wrk.format("POST", "/api/" .. user .. "/chat", headers, '{"message": "show my pending tasks"}')
  elseif scenario == "chat-stream" then
    return wrk.format("POST", "/api/" .. user .. "/chat/stream", headers, '{"message": "show my pending tasks"}')
  else
    return wrk.format("GET", "/health")
  end
end

stream_errors = 0
busy = 0
pause_ms = 0

-- A stream reports a failed turn in-band, after its 200. A chat answered 503 with Retry-After found
-- every chat slot of its worker taken (CHAT_TURNS_PER_WORKER): counted as "busy", not as an error,
-- and the next request waits as long as the server asked, as a client should. (Defined for the chat
-- scenarios only: with a response() function wrk keeps every body.)
if scenario == "chat-stream" or scenario == "chat" then
  function response(status, headers, body)
    local retry_after = headers["Retry-After"] or headers["retry-after"]  -- uvicorn sends names lowercase
    if status == 503 and retry_after then
      busy = busy + 1
      pause_ms = tonumber(retry_after) * 1000
    elseif scenario == "chat-stream" and status == 200
        and (body:find("event: error", 1, true) or not body:find("event: done", 1, true)) then
      stream_errors = stream_errors + 1
    end
  end

  function delay()
    local wait = pause_ms
    pause_ms = 0
    return wait
  end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  local refused = 0
  for _, thread in ipairs(threads) do
    errors = errors + thread:get("stream_errors")
    refused = refused + thread:get("busy")
  end
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, "errors": %d, "status_errors": %d, "busy": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors - refused, summary.errors.status - refused, refused))
end
