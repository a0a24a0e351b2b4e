-- nats_ffi: LuaJIT bindings of the nats-ffi C library, over ffi.cdef of nats_ffi_cdef.h.
--
--   local nats = require("nats_ffi")
--   local nc = nats.connect{ servers = {"nats://127.0.0.1:4222"}, name = "kumo",
--                            auth = {username = "u", password = "p"}, request_timeout = "2s" }
--   local sub = nc:subscribe("mail.>", function(msg) print(msg.subject, msg.data) end)
--   nc:publish("mail.delivered", "user@example.com")
--   nc:dispatch()                -- runs waiting callbacks here, on the Lua thread
--   local reply = nc:request("policy.check", "?", 1000)
--   nc:close()
--
-- LuaJIT cannot take a call from a foreign thread, so every connection has a dispatcher:
-- callbacks wait until `nc:dispatch()` (or `nc:wait(ms)` then `nc:dispatch()`) runs them on
-- the calling Lua thread. `nc:fd()` is readable while callbacks wait, for an event loop.
-- `connect{...}` takes the fields of kumo.nats.connect; durations are milliseconds or strings
-- such as "500ms", "5s", "1m". Errors are raised as Lua errors carrying the status name and
-- the library's explanation. The library is NATS_FFI_LIB or the system's libnats_ffi.so.0;
-- the declarations NATS_FFI_CDEF, the installed include/nats_ffi_cdef.h or the source tree's.

local ffi = require("ffi")

local function read_file(path)
  local f = path and io.open(path, "r")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

local here = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
local cdef = read_file(os.getenv("NATS_FFI_CDEF"))
  or read_file(here .. "../../include/nats_ffi_cdef.h")
  or read_file("/usr/local/include/nats_ffi_cdef.h")
  or read_file("/usr/include/nats_ffi_cdef.h")
assert(cdef, "nats_ffi_cdef.h not found (set NATS_FFI_CDEF)")
ffi.cdef(cdef)
local C = ffi.load(os.getenv("NATS_FFI_LIB") or "libnats_ffi.so.0")
assert(C.nats_ffi_check_version(C.NATS_FFI_VERSION_MAJOR, C.NATS_FFI_VERSION_MINOR) == C.NATS_OK,
  "libnats_ffi does not match nats_ffi_cdef.h")

local M = {}

local function fail(status, call)
  error(string.format("%s: %s (%s)", call, ffi.string(C.nats_status_str(status)),
    ffi.string(C.nats_last_error())), 3)
end

local function check(status, call)
  if status ~= C.NATS_OK then fail(status, call) end
end

local units = { ms = 1, s = 1000, m = 60000, h = 3600000 }
local function millis(value, field)
  if type(value) == "number" then return value end
  local n, unit = tostring(value):match("^%s*([%d%.]+)%s*(%a*)%s*$")
  local scale = units[unit ~= "" and unit or "ms"]
  if not n or not scale then error(field .. ": not a duration: " .. tostring(value), 3) end
  return math.floor(tonumber(n) * scale)
end

-- A message as a Lua table: subject, reply (or nil), data (a string), headers.
local function to_table(msg)
  local t = { subject = ffi.string(C.nats_msg_subject(msg)), headers = {} }
  local reply = C.nats_msg_reply(msg)
  if reply ~= nil then t.reply = ffi.string(reply) end
  t.data = ffi.string(C.nats_msg_data(msg), C.nats_msg_data_len(msg))
  local keys, count = ffi.new("const char *const *[1]"), ffi.new("size_t[1]")
  if C.nats_msg_header_keys(msg, keys, count) == C.NATS_OK then
    for i = 0, tonumber(count[0]) - 1 do
      local value = ffi.new("const char *[1]")
      if C.nats_msg_header_get(msg, keys[0][i], value) == C.NATS_OK then
        t.headers[ffi.string(keys[0][i])] = ffi.string(value[0])
      end
    end
  end
  return t
end

-- Callbacks: one C callback for every subscription; user_data is an id into this table.
local handlers, next_id = {}, 1
local on_msg = ffi.cast("nats_msg_callback", function(ud, sub, msg)
  local f = handlers[tonumber(ffi.cast("uintptr_t", ud))]
  if f then
    local ok, err = pcall(f, to_table(msg))
    if not ok then io.stderr:write("nats_ffi callback error: ", tostring(err), "\n") end
  end
end)
local on_free = ffi.cast("nats_user_data_free", function(ud)
  handlers[tonumber(ffi.cast("uintptr_t", ud))] = nil
end)

local Subscription = {}
Subscription.__index = Subscription

function Subscription:unsubscribe()
  check(C.nats_subscription_unsubscribe(self.raw), "nats_subscription_unsubscribe")
end

function Subscription:delivered()
  return tonumber(C.nats_subscription_delivered(self.raw))
end

local Connection = {}
Connection.__index = Connection

local setters = {
  name = function(o, v) return C.nats_options_set_name(o, v) end,
  no_echo = function(o, v) return C.nats_options_set_no_echo(o, v) end,
  max_reconnects = function(o, v) return C.nats_options_set_max_reconnects(o, v) end,
  connection_timeout = function(o, v, k) return C.nats_options_set_connection_timeout_ms(o, millis(v, k)) end,
  tls_required = function(o, v) return C.nats_options_set_tls_required(o, v) end,
  tls_first = function(o, v) return C.nats_options_set_tls_first(o, v) end,
  certificate = function(o, v) return C.nats_options_set_certificate(o, v) end,
  ping_interval = function(o, v, k) return C.nats_options_set_ping_interval_ms(o, millis(v, k)) end,
  sender_capacity = function(o, v) return C.nats_options_set_sender_capacity(o, v) end,
  inbox_prefix = function(o, v) return C.nats_options_set_inbox_prefix(o, v) end,
  request_timeout = function(o, v, k) return C.nats_options_set_request_timeout_ms(o, millis(v, k)) end,
  retry_on_initial_connect = function(o, v) return C.nats_options_set_retry_on_initial_connect(o, v) end,
  ignore_discovered_servers = function(o, v) return C.nats_options_set_ignore_discovered_servers(o, v) end,
  retain_servers_order = function(o, v) return C.nats_options_set_retain_servers_order(o, v) end,
}

-- Connects with kumo.nats.connect's fields: servers (a list), auth ({username, password} or
-- {token}), name, no_echo, max_reconnects, connection_timeout, tls_required, tls_first,
-- certificate, client_cert + client_key, ping_interval, sender_capacity, inbox_prefix,
-- request_timeout, retry_on_initial_connect, ignore_discovered_servers, retain_servers_order.
function M.connect(cfg)
  cfg = cfg or {}
  local out = ffi.new("nats_options *[1]")
  check(C.nats_options_new(out), "nats_options_new")
  local o = ffi.gc(out[0], C.nats_options_free)
  local servers = cfg.servers or { "nats://127.0.0.1:4222" }
  local list = ffi.new("const char *[?]", #servers)
  for i, url in ipairs(servers) do list[i - 1] = url end
  check(C.nats_options_set_servers(o, list, #servers), "nats_options_set_servers")
  for key, value in pairs(cfg) do
    if setters[key] then
      check(setters[key](o, value, key), "connect: " .. key)
    elseif key == "auth" then
      if value.token then
        check(C.nats_options_set_token(o, value.token), "connect: auth.token")
      else
        check(C.nats_options_set_user_password(o, value.username, value.password), "connect: auth")
      end
    elseif key == "client_cert" then
      check(C.nats_options_set_client_cert(o, value, cfg.client_key), "connect: client_cert")
    elseif key ~= "servers" and key ~= "client_key" then
      error("connect: unknown field " .. tostring(key), 2)
    end
  end
  local d = ffi.new("nats_dispatcher *[1]")
  check(C.nats_dispatcher_new(d), "nats_dispatcher_new")
  local dispatcher = ffi.gc(d[0], C.nats_dispatcher_free)
  check(C.nats_options_set_dispatcher(o, dispatcher), "nats_options_set_dispatcher")
  local nc = ffi.new("nats_connection *[1]")
  check(C.nats_connect(o, nc), "nats_connect")
  return setmetatable({ raw = ffi.gc(nc[0], C.nats_connection_free), dispatcher = dispatcher }, Connection)
end

function Connection:publish(subject, data, reply)
  data = data or ""
  if reply then
    check(C.nats_publish_with_reply(self.raw, subject, reply, data, #data), "nats_publish_with_reply")
  else
    check(C.nats_publish(self.raw, subject, data, #data), "nats_publish")
  end
end

-- A blocking request (the service must not be served by this same connection's callbacks:
-- they only run in dispatch). Returns the reply as a message table.
function Connection:request(subject, data, timeout_ms)
  data = data or ""
  local out = ffi.new("nats_msg *[1]")
  check(C.nats_request(self.raw, subject, data, #data, millis(timeout_ms or 0, "timeout"), out), "nats_request")
  local reply = to_table(out[0])
  C.nats_msg_free(out[0])
  return reply
end

-- Subscribes; `callback(msg)` runs in `dispatch` on this Lua thread. `queue` is optional.
function Connection:subscribe(subject, callback, queue)
  local id = next_id
  next_id = next_id + 1
  handlers[id] = callback
  local out = ffi.new("nats_subscription *[1]")
  local status = C.nats_subscribe_ex(self.raw, subject, queue, on_msg, ffi.cast("void *", id), on_free, out)
  if status ~= C.NATS_OK then
    handlers[id] = nil
    fail(status, "nats_subscribe_ex")
  end
  return setmetatable({ raw = ffi.gc(out[0], C.nats_subscription_free) }, Subscription)
end

-- Answers a request received by a callback.
function Connection:respond(msg, data)
  self:publish(msg.reply, data)
end

function Connection:flush(timeout_ms)
  check(C.nats_connection_flush(self.raw, millis(timeout_ms or 0, "timeout")), "nats_connection_flush")
end

-- Runs the callbacks that wait, at most `max`; returns how many ran.
function Connection:dispatch(max)
  local ran = ffi.new("size_t[1]")
  check(C.nats_dispatcher_dispatch(self.dispatcher, max or ffi.cast("size_t", -1), ran), "nats_dispatcher_dispatch")
  return tonumber(ran[0])
end

-- Waits at most `timeout_ms` for callbacks to wait; true when they do.
function Connection:wait(timeout_ms)
  return C.nats_dispatcher_wait(self.dispatcher, millis(timeout_ms, "timeout")) == C.NATS_OK
end

-- Readable while callbacks wait (for an event loop).
function Connection:fd()
  return C.nats_dispatcher_fd(self.dispatcher)
end

function Connection:close()
  C.nats_connection_close(self.raw)
  -- The subscriptions' last steps (releasing their callbacks) run in dispatch.
  while self:wait(50) do self:dispatch() end
end

function Connection:is_closed()
  return C.nats_connection_is_closed(self.raw)
end

M.C = C
M.ffi = ffi
return M
