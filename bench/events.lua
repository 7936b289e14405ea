-- carrier events: every request reports one new event for a new waybill.
-- Usage: wrk -s bench/events.lua URL -- CARRIER_KEY NOW
dofile(debug.getinfo(1, "S").source:match("@(.*/)") .. "common.lua")

function init(args)
    key = args[1]
    now = args[2]
    prefix = string.format("%x%x", os.time() % 1000000, tid)
    n = 0
end

function request()
    n = n + 1
    local id = prefix .. "e" .. n
    local body = '{"events":[{"event_id":"' .. id .. '","waybill_id":"BENCH' .. id ..
        '","action_time":' .. now .. ',"action_type":100001,"action_msg":"Collected"}]}'
    return wrk.format("POST", "/carrier/v1/events",
        {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
