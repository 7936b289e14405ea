-- follow_waybill: every request binds a new waybill for a new user (the durable hot path).
-- Usage: wrk -s bench/follow.lua URL -- ACCESS_TOKEN
dofile(debug.getinfo(1, "S").source:match("@(.*/)") .. "common.lua")

function init(args)
    token = args[1]
    prefix = string.format("%x%x", os.time() % 1000000, tid)
    n = 0
end

function request()
    n = n + 1
    local id = prefix .. "x" .. n
    local body = '{"openid":"bench' .. id .. '","receiver_phone":"13800138000",' ..
        '"waybill_id":"BENCH' .. id .. '","goods_info":{"detail_list":[' ..
        '{"goods_name":"Tea set","goods_img_url":"www.qq.com/tea.png"}]}}'
    return wrk.format("POST", "/cgi-bin/express/delivery/open_msg/follow_waybill?access_token=" ..
        token, {["Content-Type"] = "application/json"}, body)
end
