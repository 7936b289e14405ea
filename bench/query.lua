-- query_follow_trace: reads of existing bindings, round robin over a token file.
-- Usage: wrk -s bench/query.lua URL -- ACCESS_TOKEN TOKEN_FILE
local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    token = args[1]
    tokens = {}
    for line in io.lines(args[2]) do
        table.insert(tokens, line)
    end
    i = tid
    bad = 0
end

function request()
    i = i % #tokens + 1
    return wrk.format("POST", "/cgi-bin/express/delivery/open_msg/query_follow_trace?access_token=" ..
        token, {["Content-Type"] = "application/json"},
        '{"waybill_token":"' .. tokens[i] .. '"}')
end

function response(status, headers, body)
    if status ~= 200 or not string.find(body, '"errcode":0,', 1, true) then
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
