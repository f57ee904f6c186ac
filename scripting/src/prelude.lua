-- Runs once, with the full standard library, to build Redis 7.0's sandbox. Its
-- chunk name marks its frames, which error positions skip: an error is reported at
-- the script's line, never inside these helpers.
local redis, cjson, cmsgpack, struct, bit, unwrap = ...

local getinfo = debug.getinfo
local error, type, tostring, rawset, setmetatable, setfenv, xpcall, select =
    error, type, tostring, rawset, setmetatable, setfenv, xpcall, select
local loadstring, load = loadstring, load
local select, unpack, gsub = select, unpack, string.gsub

redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end

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
real.cmsgpack = protect(cmsgpack)
real.struct = protect(struct)
real.bit = protect(bit)
real.rawset = function(t, k, v)
    if protected[t] then
        error({ err = 'ERR Attempt to modify a readonly table' })
    end
    return rawset(t, k, v)
end
real.setmetatable = function(t, mt)
    if protected[t] then
        error('Attempt to modify a readonly table', 2)
    end
    return setmetatable(t, mt)
end

-- What a script's own pcall/xpcall catch, as Redis 7.0 gives it. Its pcall is a C
-- function that hands back an error table's `err` text; xpcall's handler gets the
-- table. An error a Rust function raised arrives as such a table (a redis.call
-- error), or as its text after the position of the script line that called the
-- library (none when pcall called the library function itself). `level` is the stack
-- level of the raising function's caller, seen from here.
local function caught(err, level, from_pcall)
    local kind, text = unwrap(err)
    if kind == 'table' then
        err = { err = text }
    elseif kind == 'string' then
        local info = getinfo(level, 'Sl')
        if info and info.what ~= 'C' and info.source ~= '=redis_prelude'
            and info.currentline >= 0 then
            return info.short_src .. ':' .. info.currentline .. ': ' .. text
        end
        return text
    elseif type(err) == 'string' then
        -- Raised by a function pcall's closure called: Redis's pcall, being C, gives
        -- no position there.
        return (gsub(err, '^redis_prelude:%d+: ', '', 1))
    end
    if from_pcall and type(err) == 'table' then
        local e = err.err
        if type(e) == 'string' or type(e) == 'number' then
            return e
        end
    end
    return err
end
real.pcall = function(f, ...)
    local args, n = { ... }, select('#', ...)
    return xpcall(function() return f(unpack(args, 1, n)) end,
        function(err) return caught(err, 4, true) end)
end
real.xpcall = function(f, h)
    return xpcall(f, function(err) return h(caught(err, 4, false)) end)
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
        local kind, text = unwrap(err)
        if kind == 'table' then
            err = { err = text }
        elseif kind == 'string' then
            local where = ''
            if info and info.currentline >= 0 then
                where = info.short_src .. ':' .. info.currentline .. ': '
            end
            err = { err = 'ERR ' .. where .. text }
        else
            err = { err = 'ERR ' .. tostring(err) }
        end
    end
    if info then
        err.source = info.source
        err.line = info.currentline
    end
    return err
end

-- A function library's callback gets its KEYS and ARGV as arguments; Lua 5.1's
-- xpcall passes none, so a closure carries them.
local function run(f, ...)
    if select('#', ...) == 0 then
        return xpcall(f, handler)
    end
    local args = { ... }
    return xpcall(function() return f(args[1], args[2]) end, handler)
end

return real, env, run
