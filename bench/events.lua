-- carrier events: every request reports one new event for a new waybill.
-- Usage: wrk -s bench/events.lua URL -- CARRIER_KEY NOW
local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    key = args[1]
    now = args[2]
    prefix = string.format("%x%x", os.time() % 1000000, tid)
    n = 0
    bad = 0
end

function request()
    n = n + 1
    local id = prefix .. "e" .. n
    local body = '{"events":[{"event_id":"' .. id .. '","waybill_id":"BENCH' .. id ..
        '","action_time":' .. now .. ',"action_type":100001,"action_msg":"Collected"}]}'
    return wrk.format("POST", "/carrier/v1/events",
        {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end

function response(status, headers, body)
    if status ~= 200 or not string.find(body, '"accepted":1,', 1, true) then
        bad = bad + 1
    end
end

function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do
        total = total + t:get("bad")
    end
    io.write(string.format("errors_in_body %d\n", total))
end
