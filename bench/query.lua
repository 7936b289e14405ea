-- query_follow_trace: reads of existing bindings, round robin over a token file.
-- Usage: wrk -s bench/query.lua URL -- ACCESS_TOKEN TOKEN_FILE
dofile(debug.getinfo(1, "S").source:match("@(.*/)") .. "common.lua")

function init(args)
    token = args[1]
    tokens = {}
    for line in io.lines(args[2]) do
        table.insert(tokens, line)
    end
    i = tid
end

function request()
    i = i % #tokens + 1
    return wrk.format("POST", "/cgi-bin/express/delivery/open_msg/query_follow_trace?access_token=" ..
        token, {["Content-Type"] = "application/json"},
        '{"waybill_token":"' .. tokens[i] .. '"}')
end
