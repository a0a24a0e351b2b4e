-- LuaJIT tests of bindings/lua/nats_ffi.lua against a real server (NATS_URL), run by
-- tests/bindings.rs. Prints "N passed, M failed"; exits non-zero on any failure.
package.path = arg[1] .. "/?.lua;" .. package.path
local nats = require("nats_ffi")
local url = os.getenv("NATS_URL")
local passed, failed = 0, 0
local function expect(cond, what)
  if cond then passed = passed + 1 else failed = failed + 1; io.stderr:write("FAILED: ", what, "\n") end
end

local function dispatch_until(nc, cond)
  for _ = 1, 2000 do
    if cond() then return true end
    if nc:wait(10) then nc:dispatch() end
  end
  return cond()
end

-- kumo.nats.connect-style configuration, durations as strings.
local nc = nats.connect{ servers = { url }, name = "lua", no_echo = false, max_reconnects = 5,
  connection_timeout = "5s", request_timeout = "2s", ping_interval = "1m", sender_capacity = 256,
  inbox_prefix = "_INBOX.lua", retry_on_initial_connect = false, ignore_discovered_servers = true,
  retain_servers_order = true }
expect(not nc:is_closed(), "connected")

-- Callbacks run only in dispatch, on this thread, in order.
local got = {}
local sub = nc:subscribe("lua.a", function(msg) got[#got + 1] = msg.data end)
nc:flush()
for i = 1, 100 do nc:publish("lua.a", "m" .. i) end
nc:flush()
expect(#got == 0, "nothing runs before dispatch")
expect(dispatch_until(nc, function() return #got == 100 end), "100 delivered")
local in_order = true
for i = 1, 100 do in_order = in_order and got[i] == "m" .. i end
expect(in_order, "in order")
expect(sub:delivered() == 100, "delivered count")

-- A service served by a second connection's callbacks; the request goes out with a reply
-- subject this connection listens on, and both dispatch on this one Lua thread.
local svc = nats.connect{ servers = { url } }
svc:subscribe("lua.svc", function(msg) svc:respond(msg, "re: " .. msg.data) end)
svc:flush()
local answer
nc:subscribe("lua.inbox", function(msg) answer = msg.data end)
nc:flush()
nc:publish("lua.svc", "hi", "lua.inbox")
for _ = 1, 2000 do
  if answer then break end
  svc:dispatch(); nc:dispatch()
  nc:wait(5)
end
expect(answer == "re: hi", "request/reply through two dispatched connections: " .. tostring(answer))
local ok, err = pcall(function() return nc:request("lua.nobody", "x", 500) end)
expect(not ok and tostring(err):find("no responders"), "no responders: " .. tostring(err))
local ok2, err2 = pcall(function() nc:publish("bad subject", "x") end)
expect(not ok2 and tostring(err2):find("invalid subject"), "invalid subject error: " .. tostring(err2))
local ok3, err3 = pcall(nats.connect, { servers = { url }, bogus = 1 })
expect(not ok3 and tostring(err3):find("unknown field"), "unknown fields refused")

-- A callback that raises does not stop delivery.
local after = 0
nc:subscribe("lua.raise", function(msg) if msg.data == "boom" then error("boom") end after = after + 1 end)
nc:flush()
nc:publish("lua.raise", "boom"); nc:publish("lua.raise", "ok"); nc:flush()
expect(dispatch_until(nc, function() return after == 1 end), "delivery goes on after an error")

sub:unsubscribe()
nc:close()
svc:close()
expect(nc:is_closed(), "closed")
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
