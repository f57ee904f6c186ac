-- Runs once, with the full standard library, to build Redis 7.0's sandbox. Its
-- chunk name marks its frames, which error positions skip: an error is reported at
-- the script's line, never inside these helpers.
local redis, cjson_raw, bit, impl, random_raw = ...

local getinfo = debug.getinfo
local error, type, tostring, rawset, setmetatable, setfenv, xpcall, pairs, select =
    error, type, tostring, rawset, setmetatable, setfenv, xpcall, pairs, select
local loadstring, load = loadstring, load

-- Wraps a raw Rust function answering (true, value) or (false, message) so the
-- message is raised as an error at the caller's line.
local function raising(raw)
    return function(...)
        local ok, v = raw(...)
        if not ok then
            error(v, 2)
        end
        return v
    end
end

-- An error Redis raises as a table: no position is prefixed to its text.
local function fail(text)
    error({ err = text })
end

local resp = 2

redis.call = function(...)
    local reply, failed = impl.call(resp == 3, ...)
    if failed then
        error(reply)
    end
    return reply
end
redis.pcall = function(...)
    return (impl.call(resp == 3, ...))
end
redis.setresp = function(v)
    if select('#', v) == 0 or type(v) ~= 'number' then
        fail('ERR redis.setresp() requires one argument.')
    end
    if v ~= 2 and v ~= 3 then
        fail('ERR RESP version must be 2 or 3.')
    end
    resp = v
end
redis.log = function(...)
    if select('#', ...) < 2 then
        fail('ERR redis.log() requires two arguments or more.')
    end
    local level = ...
    if type(level) ~= 'number' then
        fail('ERR First argument must be a number (log level).')
    end
    if level < redis.LOG_DEBUG or level > redis.LOG_WARNING then
        fail('ERR Invalid debug level.')
    end
end
redis.set_repl = function(...)
    if select('#', ...) ~= 1 then
        fail('ERR redis.set_repl() requires one argument.')
    end
    local flags = ...
    if type(flags) ~= 'number' or flags < 0 or flags > 3 or flags % 1 ~= 0 then
        fail('ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
    end
end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.error_reply = function(e)
    if type(e) ~= 'string' then
        fail('ERR wrong number or type of arguments')
    end
    return { err = impl.normalize(e) }
end
redis.status_reply = function(s)
    if type(s) ~= 'string' then
        fail('ERR wrong number or type of arguments')
    end
    return { ok = s }
end

local cjson = {
    encode = raising(cjson_raw.encode),
    decode = raising(cjson_raw.decode),
    null = cjson_raw.null,
}

math.random = raising(random_raw)
math.randomseed = function(seed) impl.seed(seed) end

-- Tables the script may read but not change, as Redis's read-only tables. A proxy
-- forwards reads; its writes fail. Tessera's Lua has no read-only flag of its own.
local protected = setmetatable({}, { __mode = 'k' })
local function readonly()
    error('Attempt to modify a readonly table', 2)
end
local function protect(t)
    local p = setmetatable({}, { __index = t, __newindex = readonly, __metatable = false })
    protected[p] = true
    return p
end

local real = {}
for _, name in ipairs({
    'assert', 'collectgarbage', 'error', 'gcinfo', 'getmetatable', 'ipairs', 'next',
    'pairs', 'pcall', 'rawequal', 'rawget', 'select', 'tonumber', 'tostring', 'type',
    'unpack', 'xpcall', '_VERSION',
}) do
    real[name] = _G[name]
end
real.string = protect(string)
real.table = protect(table)
real.math = protect(math)
real.coroutine = protect(coroutine)
real.redis = protect(redis)
real.cjson = protect(cjson)
real.bit = protect(bit)
real.rawset = function(t, k, v)
    if protected[t] then
        error('Attempt to modify a readonly table', 2)
    end
    return rawset(t, k, v)
end
real.setmetatable = function(t, mt)
    if protected[t] then
        error('Attempt to modify a readonly table', 2)
    end
    return setmetatable(t, mt)
end

local env = setmetatable({}, {
    __index = function(_, k)
        local v = real[k]
        if v == nil then
            error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
        end
        return v
    end,
    __newindex = readonly,
    __metatable = false,
})
protected[env] = true
real._G = env
real.loadstring = function(...)
    local f, e = loadstring(...)
    if f then setfenv(f, env) end
    return f, e
end
real.load = function(...)
    local f, e = load(...)
    if f then setfenv(f, env) end
    return f, e
end

-- Redis's error handler: every error becomes a table with `err`, and the position of
-- the script's frame that raised it.
local function handler(err)
    local level, info = 2, nil
    while true do
        info = getinfo(level, 'Sl')
        if not info or (info.what ~= 'C' and info.source ~= '=redis_prelude') then
            break
        end
        level = level + 1
    end
    if type(err) ~= 'table' then
        err = { err = 'ERR ' .. tostring(err) }
    end
    if info then
        err.source = info.source
        err.line = info.currentline
    end
    return err
end

local function run(f)
    resp = 2
    return xpcall(f, handler)
end

local function resp3()
    return resp == 3
end

return real, env, run, resp3
