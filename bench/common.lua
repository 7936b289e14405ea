-- What every waybilld script shares: a thread number per wrk thread (`tid`), for distinct ids.
-- Replies are not parsed here, as in the ceiling's run: run.py counts the ones that were not what
-- the scenario expects from the server's own /metrics counters.
local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end
