-- the baseline: the same POST as follow_waybill sends, to a server that only replies.
function request()
    return wrk.format("POST", "/cgi-bin/express/delivery/open_msg/follow_waybill?access_token=x",
        {["Content-Type"] = "application/json"},
        '{"openid":"bench","receiver_phone":"13800138000","waybill_id":"BENCH1",' ..
        '"goods_info":{"detail_list":[{"goods_name":"Tea set","goods_img_url":"www.qq.com/tea.png"}]}}')
end
