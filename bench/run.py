#!/usr/bin/env python3
"""Benchmarks on loopback, bounded in time: follow_waybill, query_follow_trace and carrier events
against waybilld, each as a ratio to baselines measured right before it: a fixed-reply server (the
HTTP ceiling) and, for writes, a durable-reply one (the floor of a durable write). Writes
bench/RESULTS.md.

Usage: python3 bench/run.py [--seconds 6] [--repeat 3] [--connections 64] [--threads N]
                            [--growth N] [--build build]
"""
import argparse, http.client, json, os, re, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(cmd, ready):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        line = proc.stdout.readline()
        m = re.search(ready, line)
        if m:
            return proc, m
    proc.kill()
    raise SystemExit("did not start: %s" % " ".join(cmd))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_kib(pid, field):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url, script, args, seconds, connections):
    cmd = ["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--latency", "-s",
           os.path.join(ROOT, "bench", script), url]
    if args:
        cmd += ["--"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: to_ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    shown = ["wrk"] + cmd[1:]
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "requests": requests,
            "cmd": " ".join(shown)}


def scrape(port):
    """waybilld's counters: {(metric, label): value} from /metrics."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    counters = {}
    for name, labels, value in re.findall(r"^(\w+)\{([^}]*)\} (\d+)$", text, re.M):
        counters[(name, labels)] = int(value)
    return counters


def checked(port, endpoint, ok_counter, run):
    """Runs run() and counts, from the server's own counters, the replies that were not what the
    scenario expects (so wrk parses no reply bodies, as in the ceiling's run)."""
    before = scrape(port)
    r = run()
    after = scrape(port)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    replied = sum(v for (name, labels), v in delta.items()
                  if name == "waybilld_requests_total" and 'endpoint="%s"' % endpoint in labels)
    good = delta.get(ok_counter, 0)
    r["errors"] = max(0, replied - good)
    return r


class Api:
    def __init__(self, port, key):
        self.port, self.key = port, key

    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, data, headers or {})
        reply = conn.getresponse()
        text = reply.read()
        conn.close()
        return json.loads(text) if text else {}

    def admin(self, method, path, body=None):
        return self.call(method, path, body, {"Authorization": "Bearer " + self.key})


KEY = "bench-admin-key"


def serve(binary, data, opt):
    return start([binary, "serve", "--sandbox", "--listen", "127.0.0.1:0", "--data", data,
                  "--admin-key", KEY, "--threads", str(opt.threads)],
                 r"listening on http://127\.0\.0\.1:(\d+)")


def prepare(api, data):
    """The demo app without a daily limit, a carrier for BENCH… waybills, an access token."""
    with open(os.path.join(data, "demo-app.json")) as fh:
        demo = json.load(fh)
    api.admin("PATCH", "/admin/v1/apps/" + demo["appid"], {"daily_quota": 1000000000})
    carrier = api.admin("POST", "/admin/v1/carriers", {
        "delivery_id": "BENCH", "delivery_name": "Bench Express",
        "waybill_pattern": "^BENCH[0-9A-Za-z]+$"})
    if "carrier_key" not in carrier:
        carrier = api.admin("POST", "/admin/v1/carriers/BENCH/key")
    token = api.call("GET", "/cgi-bin/token?grant_type=client_credential&appid=%s&secret=%s"
                     % (demo["appid"], demo["secret"]))["access_token"]
    return token, carrier["carrier_key"]


class Baselines:
    """The two baseline servers, started once and idle between their runs. Each scenario is
    measured right after a run of each baseline it is compared with, so that a ratio compares
    figures taken within seconds of each other on this shared, noisy machine."""

    def __init__(self, opt, data):
        self.opt, self.samples = opt, {"ceiling": [], "durable floor": []}
        fixed = os.path.join(opt.build, "bench", "bench_fixed_reply")
        durable = os.path.join(opt.build, "bench", "bench_durable_reply")
        self.servers = {
            "ceiling": (start([fixed, "18090", str(opt.threads)], r"listening")[0], 18090,
                        "fixed.lua", []),
            # the same requests as follow_waybill's, each body appended to a file and synced
            "durable floor": (start([durable, "18091", str(opt.threads),
                                     os.path.join(data, "floor.bin")], r"listening")[0], 18091,
                              "follow.lua", ["-"])}

    def run(self, name):
        _, port, script, args = self.servers[name]
        r = wrk("http://127.0.0.1:%d" % port, script, args, self.opt.seconds,
                self.opt.connections)
        self.samples[name].append(r)
        return r["rps"]

    def before(self, write):
        """Runs the baselines a scenario is compared with; their rates."""
        return {"ceiling": self.run("ceiling"),
                "durable floor": self.run("durable floor") if write else None}

    def stop(self):
        for proc, _, _, _ in self.servers.values():
            stop(proc)

    def summary(self):
        """Each baseline's median run, with how far its runs spread."""
        out = {}
        for name, runs in self.samples.items():
            ranked = sorted(runs, key=lambda r: r["rps"])
            r = dict(ranked[len(ranked) // 2])
            r["spread"] = (ranked[0]["rps"], ranked[-1]["rps"])
            out[name] = r
        return out


def measure(binary, data, opt, suffix, baselines):
    srv, m = serve(binary, data, opt)
    port = int(m.group(1))
    api = Api(port, KEY)
    token, carrier_key = prepare(api, data)
    time.sleep(1)
    out = {}
    idle = rss_kib(srv.pid, "VmRSS")
    url = "http://127.0.0.1:%d" % port
    ok = "waybilld_requests_total", 'endpoint="%s",errcode="0"'
    tokens_file = os.path.join(data, "tokens.txt")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    with open(tokens_file, "w") as fh:
        for i in range(1000):
            body = {"openid": "q%d" % i, "receiver_phone": "13800138000",
                    "waybill_id": "BENCHQ%d" % i, "goods_info": {"detail_list": [
                        {"goods_name": "Tea set", "goods_img_url": "www.qq.com/tea.png"}]}}
            conn.request("POST", "/cgi-bin/express/delivery/open_msg/follow_waybill"
                         "?access_token=" + token, json.dumps(body))
            fh.write(json.loads(conn.getresponse().read())["waybill_token"] + "\n")
    # each of those waybills collected by the carrier: a query reads a trace, as most do
    now = api.admin("GET", "/admin/v1/sandbox/clock")["now"]
    for i in range(1000):
        event = {"event_id": "q%d" % i, "waybill_id": "BENCHQ%d" % i, "action_time": now,
                 "action_type": 100001, "action_msg": "Collected"}
        conn.request("POST", "/carrier/v1/events", json.dumps({"events": [event]}),
                     {"Authorization": "Bearer " + carrier_key})
        if not json.loads(conn.getresponse().read()).get("accepted"):
            raise SystemExit("bench: a carrier event for a query waybill was not accepted")
    conn.close()

    def scenario(name, write, counter, script, args):
        """opt.repeat runs, each right after its baselines; the run of median ratio to the
        ceiling stands for them, with the spread of that ratio."""
        runs = []
        for _ in range(opt.repeat):
            base = baselines.before(write)
            r = checked(port, name, counter,
                        lambda: wrk(url, script, args, opt.seconds, opt.connections))
            r["baselines"] = base
            runs.append(r)
        runs.sort(key=lambda r: r["rps"] / r["baselines"]["ceiling"])
        r = runs[len(runs) // 2]
        r["errors"] = sum(run["errors"] for run in runs)
        r["ratio_spread"] = [runs[0]["rps"] / runs[0]["baselines"]["ceiling"],
                             runs[-1]["rps"] / runs[-1]["baselines"]["ceiling"]]
        out[name + suffix] = r

    scenario("query_follow_trace", False, (ok[0], ok[1] % "query_follow_trace"), "query.lua",
             [token, tokens_file])
    # binds after the reads, so that the reads see the store as it was (empty, or grown)
    scenario("follow_waybill", True, (ok[0], ok[1] % "follow_waybill"), "follow.lua", [token])
    now = api.admin("GET", "/admin/v1/sandbox/clock")["now"]
    # every request reports one new event: each must be accepted
    scenario("carrier_events", True, ("waybilld_carrier_events_total", 'outcome="accepted"'),
             "events.lua", [carrier_key, str(now)])
    for r in out.values():
        r["idle_kib"], r["peak_kib"] = idle, rss_kib(srv.pid, "VmHWM")
    stop(srv)
    return out


def fill(binary, data, rows):
    """A store holding rows bindings (and their waybills and users), written straight into SQLite
    after the server made the schema."""
    import sqlite3
    srv, _ = serve(binary, data, argparse.Namespace(threads=2))
    stop(srv)
    db = sqlite3.connect(os.path.join(data, "waybilld.db"))
    with open(os.path.join(data, "demo-app.json")) as fh:
        appid = json.load(fh)["appid"]
    far = int(time.time()) + 7 * 86400
    db.execute("PRAGMA synchronous=OFF")
    for start_at in range(0, rows, 100000):
        chunk = range(start_at, min(rows, start_at + 100000))
        db.executemany("INSERT INTO users(openid, appid, phone_hash, phone_tail, created_at)"
                       " VALUES(?, ?, '', '', 0)", (("g%d" % i, appid) for i in chunk))
        db.executemany("INSERT INTO waybills(waybill_id, created_at) VALUES(?, 0)",
                       (("BENCHG%d" % i,) for i in chunk))
        db.executemany(
            "INSERT INTO bindings(appid, openid, waybill_id, family, token_hash, token_nonce,"
            " receiver_hash, receiver_tail, sender_hash, sender_tail, delivery_id, goods_json,"
            " trans_id, order_detail_path, created_at, expires_at)"
            " VALUES(?, ?, ?, 0, ?, ?, 'h', '8000', '', '', '', ?, '', '', 0, ?)",
            ((appid, "g%d" % i, "BENCHG%d" % i, "", "%032x" % i,
              '[{"goods_name":"Tea set","goods_img_url":"www.qq.com/tea.png",'
              '"goods_desc":"Tea set"}]', far) for i in chunk))
        db.commit()
    db.close()
    os.sync()  # a store at rest: its pages on disk, not waiting for the first checkpoint's fsync


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each scenario, each after its own baseline runs; the median "
                         "ratio stands for them")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=0,
                    help="HTTP worker threads of both servers (default: waybilld's own, twice "
                         "the cores)")
    ap.add_argument("--growth", type=int, default=0,
                    help="also compare against a store holding this many bindings")
    opt = ap.parse_args()
    opt.threads = opt.threads or 2 * (os.cpu_count() or 1)
    binary = os.path.join(opt.build, "waybilld")
    results = {}
    data, scratch = tempfile.mkdtemp(prefix="waybilld-bench-"), tempfile.mkdtemp(prefix="floor-")
    baselines = Baselines(opt, scratch)
    try:
        results.update(measure(binary, data, opt, "", baselines))
        if opt.growth:
            grown = tempfile.mkdtemp(prefix="waybilld-grown-")
            try:
                fill(binary, grown, opt.growth)
                results.update(measure(binary, grown, opt, " (%d bindings)" % opt.growth,
                                       baselines))
            finally:
                shutil.rmtree(grown, ignore_errors=True)
    finally:
        baselines.stop()
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    write_results(dict(baselines.summary(), **results), opt)


def write_results(results, opt):
    lines = [
        "# Benchmark results", "",
        "Produced by `python3 bench/run.py --seconds %d --repeat %d --connections %d%s` on %s "
        "(2 cores; the load generator shares them with the server, and the machine is shared: "
        "the same run varies by ±15 %% from one minute to the next). Each scenario runs %d "
        "times, each right after a run of each baseline it is compared with; the run with the "
        "median ratio to the ceiling is shown, with the lowest and highest ratio in brackets. "
        "Both baselines are libmicrohttpd servers configured like "
        "waybilld with the same number of worker threads: the ceiling answers every request with "
        "a fixed body (`bench/fixed_reply.c`); the durable floor takes follow_waybill's requests, "
        "suspends each connection as waybilld does, appends the bodies of the moment to a file "
        "with one write and one fdatasync and only then answers them (`bench/durable_reply.c`): "
        "what any durable write costs here before it parses, checks or stores anything. The "
        "baselines' rows show their median run and, in brackets, their slowest and fastest. "
        "waybilld runs with `--threads %d` and SQLite in WAL mode: every write is answered only "
        "after an fdatasync of the WAL that holds its commit."
        % (opt.seconds, opt.repeat, opt.connections,
           " --growth %d" % opt.growth if opt.growth else "", time.strftime("%Y-%m-%d"),
           opt.repeat, opt.threads), "",
        "| scenario | requests/s | ratio to ceiling | ratio to durable floor | p50 ms | p99 ms |"
        " errors | idle RSS MiB | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        base = r.get("baselines", {"ceiling": None, "durable floor": None})
        rate = "%.0f" % r["rps"]
        if "spread" in r:
            rate += " (%.0f–%.0f)" % r["spread"]
        ratio = lambda b: "%.2f" % (r["rps"] / base[b]) if base[b] else ""
        ceiling_ratio = ratio("ceiling")
        if "ratio_spread" in r:
            ceiling_ratio += " (%.2f–%.2f)" % tuple(r["ratio_spread"])
        lines.append("| %s | %s | %s | %s | %.2f | %.2f | %d | %s | %s |" % (
            name, rate, ceiling_ratio, ratio("durable floor"),
            r["p50"] or 0, r["p99"] or 0, r.get("errors", 0),
            "%.1f" % (r["idle_kib"] / 1024) if "idle_kib" in r else "",
            "%.1f" % (r["peak_kib"] / 1024) if "peak_kib" in r else ""))
    lines += ["", "Commands (URL and arguments as the run used them):", ""]
    for name, r in results.items():
        lines.append("- %s: `%s`" % (name, r["cmd"]))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(ROOT, "bench", "RESULTS.md"), "w") as fh:
        fh.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
