-- What every waybilld script shares: a thread number per wrk thread, and a count of replies that
-- did not say what the script expects (printed at the end as "errors_in_body N").
-- A script sets `expected` (a plain substring of a good reply body) and loads this file first.
local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function response(status, headers, body)
    if status ~= 200 or not string.find(body, expected, 1, true) then
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
