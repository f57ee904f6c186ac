-- Builds the global environment of function libraries, as Redis 7.0's function
-- engine has it: while a library loads, only `redis` with the load-time API is
-- visible; when its functions run, the sandbox's globals are (without KEYS and
-- ARGV, which functions get as arguments). One table for both, so the callbacks a
-- library registers see the run-time globals. Its chunk name marks its frames as
-- the prelude's, which error positions skip.
local real, load_api = ...
local error, tostring, setmetatable = error, tostring, setmetatable

local function readonly()
    error('Attempt to modify a readonly table', 2)
end

local function missing(k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 3)
end

local redis = setmetatable({}, {
    __index = function(_, k)
        local v = load_api[k]
        if v == nil then missing(k) end
        return v
    end,
    __newindex = readonly,
    __metatable = false,
})

local loading = false
local env = setmetatable({}, {
    __index = function(_, k)
        local v
        if loading then
            if k == 'redis' then v = redis end
        elseif k ~= 'KEYS' and k ~= 'ARGV' then
            v = real[k]
        end
        if v == nil then missing(k) end
        return v
    end,
    __newindex = readonly,
    __metatable = false,
})

return env, function(on) loading = on end
