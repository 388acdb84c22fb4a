-- The soak's mixed load (bench/soak.py starts wrk with it). Environment:
--   SOAK_USERS     a file, one user a line: user_id token expired_token task_id…
--   PROGRESS_DIR   each thread writes its running totals there about once a second
--   WRK_THREADS    wrk's -t (a thread's init runs before the next thread exists)
-- A wrk thread runs many connections, so the last request sent is not the one being answered:
-- every request carries its kind and user in X-Request-ID, which the server echoes back.

-- Per 100 requests: 90 valid (must get a 2xx), 10 invalid (must get exactly their status).
local weights = {
  list = 24, get = 20, create = 10, update = 8, toggle = 8, delete = 11, chat = 5, stream = 4,
  badtoken = 2, expired = 2, otheruser = 2, foreignid = 2, badbody = 1, oversized = 1,
}
local expected = { badtoken = 401, expired = 401, otheruser = 403, foreignid = 404, badbody = 400, oversized = 413 }

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local users, slots, next_slot, turn = {}, {}, 0, {}
local deletable = {} -- {user, id} of tasks this thread created, deleted first in, first out
local oversized_body
counts, wrong, statuses, busy = {}, {}, {}, {}
answered, valid_errors, misanswered, server_errors, untagged = 0, 0, 0, 0, 0
local last_flush = 0

function init(args)
  for line in io.lines(os.getenv("SOAK_USERS")) do
    local fields = {}
    for field in line:gmatch("%S+") do table.insert(fields, field) end
    table.insert(users, { id = fields[1], token = fields[2], expired = fields[3], tasks = { unpack(fields, 4) } })
  end
  for kind, weight in pairs(weights) do
    for _ = 1, weight do table.insert(slots, kind) end
    counts[kind], wrong[kind] = 0, 0
    -- Each kind walks the users in turn (threads start apart), so every user gets an even share
    -- of each kind and stays far below the per-user rates.
    turn[kind] = math.floor(#users * thread_index / tonumber(os.getenv("WRK_THREADS")))
  end
  table.sort(slots) -- pairs() has no order; the seeded shuffle below then repeats run to run
  math.randomseed(thread_index + 1)
  for i = #slots, 2, -1 do
    local j = math.random(i)
    slots[i], slots[j] = slots[j], slots[i]
  end
  oversized_body = '{"title": "' .. string.rep("x", 1024 * 1024) .. '"}'
end

local function pick(kind)
  turn[kind] = turn[kind] % #users + 1
  return turn[kind], users[turn[kind]]
end

local function send(method, path, token, kind, n, body)
  local headers = { ["Authorization"] = "Bearer " .. token, ["X-Request-ID"] = "soak." .. kind .. "." .. n }
  if body then headers["Content-Type"] = "application/json" end
  -- gunicorn drains at most 64 KiB of a body the app did not read, then closes the connection
  -- without saying so: the next request on it would fail. So this client says it will close.
  if kind == "oversized" then headers["Connection"] = "close" end
  return wrk.format(method, path, headers, body)
end

function request()
  next_slot = next_slot % #slots + 1
  local kind = slots[next_slot]
  if kind == "delete" and #deletable == 0 then kind = "create" end
  local n, user = pick(kind)
  local base = "/api/" .. user.id
  local task = user.tasks[(n + next_slot) % #user.tasks + 1]
  local other = users[n % #users + 1]
  if kind == "list" then
    return send("GET", base .. "/tasks", user.token, kind, n)
  elseif kind == "get" then
    return send("GET", base .. "/tasks/" .. task, user.token, kind, n)
  elseif kind == "create" then
    return send("POST", base .. "/tasks", user.token, kind, n, '{"title": "Soak task", "description": "from wrk"}')
  elseif kind == "update" then
    return send("PUT", base .. "/tasks/" .. task, user.token, kind, n, '{"title": "Renamed by the soak"}')
  elseif kind == "toggle" then
    return send("PATCH", base .. "/tasks/" .. task .. "/complete", user.token, kind, n)
  elseif kind == "delete" then
    local doomed = table.remove(deletable, 1)
    local owner = users[doomed[1]]
    return send("DELETE", "/api/" .. owner.id .. "/tasks/" .. doomed[2], owner.token, kind, doomed[1])
  elseif kind == "chat" then
    return send("POST", base .. "/chat", user.token, kind, n, '{"message": "show my pending tasks"}')
  elseif kind == "stream" then
    return send("POST", base .. "/chat/stream", user.token, kind, n, '{"message": "complete task ' .. task .. '"}')
  elseif kind == "badtoken" then
    return send("GET", base .. "/tasks", "not.a.token", kind, n)
  elseif kind == "expired" then
    return send("GET", base .. "/tasks", user.expired, kind, n)
  elseif kind == "otheruser" then
    return send("GET", "/api/" .. other.id .. "/tasks", user.token, kind, n)
  elseif kind == "foreignid" then
    return send("GET", base .. "/tasks/" .. other.tasks[1], user.token, kind, n)
  elseif kind == "badbody" then
    local body = (n % 2 == 0) and '{"title": ""}' or '{"title": '
    return send("POST", base .. "/tasks", user.token, kind, n, body)
  else -- oversized
    return send("POST", base .. "/tasks", user.token, kind, n, oversized_body)
  end
end

-- A response header by name, whatever its case (HTTP names are case-insensitive; uvicorn sends them lowercase).
local function header(headers, name)
  return headers[name] or headers[name:lower()]
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  local kind, n = (header(headers, "X-Request-ID") or ""):match("^soak%.(%a+)%.(%d+)$")
  -- A chat turn refused because every chat slot of its worker is taken (CHAT_TURNS_PER_WORKER):
  -- the server's designed backpressure (503 + Retry-After), counted apart, not as an error.
  local refused = (kind == "chat" or kind == "stream") and status == 503 and header(headers, "Retry-After") ~= nil
  if status >= 500 and not refused then server_errors = server_errors + 1 end
  if not kind then
    untagged = untagged + 1
  elseif refused then
    counts[kind] = counts[kind] + 1
    busy[kind] = (busy[kind] or 0) + 1
  elseif expected[kind] then
    counts[kind] = counts[kind] + 1
    if status ~= expected[kind] then
      wrong[kind] = wrong[kind] + 1
      misanswered = misanswered + 1
    end
  else
    counts[kind] = counts[kind] + 1
    -- A stream reports a failed turn in-band, after its 200.
    local ok = status >= 200 and status < 300
      and (kind ~= "stream" or (body:find("event: done", 1, true) and not body:find("event: error", 1, true)))
    if not ok then
      wrong[kind] = wrong[kind] + 1
      valid_errors = valid_errors + 1
    elseif kind == "create" then
      table.insert(deletable, { tonumber(n), body:match('"id":%s*(%d+)') })
    end
  end
  if os.time() ~= last_flush then
    last_flush = os.time()
    local file = io.open(os.getenv("PROGRESS_DIR") .. "/thread-" .. thread_index, "w")
    file:write(string.format("%d %d %d %d %d\n", answered, valid_errors, misanswered, server_errors, untagged))
    file:close()
  end
end

local function json_object(map)
  local parts = {}
  for key, value in pairs(map) do table.insert(parts, string.format('"%s": %d', key, value)) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local total, untagged_total = { counts = {}, wrong = {}, statuses = {}, busy = {} }, 0
  for _, thread in ipairs(threads) do
    for name, map in pairs(total) do
      for key, value in pairs(thread:get(name)) do map[key] = (map[key] or 0) + value end
    end
    untagged_total = untagged_total + thread:get("untagged")
  end
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'RESULT {"seconds": %.3f, "sent": %d, "socket_errors": %d, "p50_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f, '
      .. '"untagged": %d, "counts": %s, "wrong": %s, "statuses": %s, "busy": %s}\n',
    summary.duration / 1e6, summary.requests, socket, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, untagged_total, json_object(total.counts), json_object(total.wrong),
    json_object(total.statuses), json_object(total.busy)))
end
