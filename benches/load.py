#!/usr/bin/env python3
"""Load benchmark of the guard through each framework: the example apps, in release builds, against
a release `passage-emulator`, driven by `wrk`.

The server is pinned to one core (`taskset -c 0`) with one worker (`WORKERS=1`); `wrk` and the
emulator run on the other core. Each case gets a warm-up, then fixed-length runs, several rounds;
the report gives medians and spread. A run during which other processes used more than a tenth of a
core is repeated (up to twice), and the report says so.

Cases, for each framework and strategy (`Authorization: Bearer` header, or the `psg_auth_token`
cookie), every request carrying a token in the same place:

  control     GET /control: unguarded, same response shape as /authenticated
  warm        GET /authenticated, the same valid token every time (token cache hit)
  verified    GET /authenticated, a different valid token per request, walking a pool of 12,000
              tokens, 120 times the size of the apps' token cache (PASSAGE_TOKEN_CACHE_ENTRIES=100
              for the cases): every request is a verification, a cache insert and an eviction (the
              axum app's metrics give the hit ratio: with a 1,000-entry cache, the cache's ghost
              queue kept 8-9 % of a cyclic walk's tokens)
  forged_sig  a real kid, a payload, and a distinct wrong signature per request
  unknown_kid a distinct unknown kid per request
  garbage     a distinct malformed token per request
  none        no token at all

Reported per case: requests/s, p50 and p99 latency, how busy the server's core was, the server's
CPU time per request (from /proc/PID/stat: the most robust figure on a shared machine), its user
part (the guard makes no system calls: its cost is user time, while the kernel's share per request
grows when the load generator idles and must be woken for every answer), RSS before and after,
JWKS requests the emulator served during the case, and ratios against the control. Each round of
a guarded case follows a round of the control, and the case is compared with those paired
controls (the speed of a shared VM drifts over minutes); then, for
latency, as many *paced* rounds (each connection waiting an exponential think time, about 5,000
requests/s in all) reported by their median p99. Before each app,
the RSA floor (passage-core's criterion bench of the RS256 check with a parsed key) runs on the
server's core, and each table ends with the issue's targets, met or missed.

Usage:
  benches/load.py [--duration 10] [--rounds 3] [--frameworks axum,actix,warp,rocket]
                  [--strategies header,cookie] [--cases control,warm,...] [--memory]

`--memory` adds the memory cases, on a fresh app with the default token cache (10,000 entries):
200,000 distinct forged tokens, 200,000 distinct unknown kids and 200,000 requests over the pool of
valid tokens, reporting RSS growth. Installs `wrk` (Debian's package) if it is missing. Linux only.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
APP_ID = "benchapp0000000000000000"
API_KEY = "bench-api-key"
# Distinct valid tokens minted for the `verified` case: 120 times the token cache the apps are
# given for the cases (`PASSAGE_TOKEN_CACHE_ENTRIES`), so that a cyclic walk over the pool finds
# nothing cached and every request pays a verification, a cache insert and an eviction.
POOL = 12_000
CASE_CACHE_ENTRIES = 100
# Each of wrk's 32 connections waits this long between requests in the paced run: about 5,000
# requests/s, under a fifth of the slowest case's capacity.
PACE_MS = 6.4
FRAMEWORKS = {
    "axum": "axum-app",
    "actix": "actix-app",
    "warp": "warp-app",
    "rocket": "rocket-app",
}
CASES = ["control", "warm", "verified", "forged_sig", "unknown_kid", "garbage", "none"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message):
    print(message, file=sys.stderr, flush=True)


def ensure_wrk():
    if shutil.which("wrk"):
        return
    log("load: wrk is missing; installing Debian's wrk package")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The report goes to stdout: the installer's chatter goes to stderr.
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env, stdout=sys.stderr)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env,
                   stdout=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"load: {url}: the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"load: {url} did not answer within {timeout} s")


def http_json(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", f"Bearer {API_KEY}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
        return json.loads(text) if text else None


def cpu_ticks(pid):
    """User and system CPU ticks of a process (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def busy_ticks():
    """Busy CPU ticks of the whole machine (everything but idle and iowait)."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    return sum(parts) - parts[3] - parts[4]


LUA = r"""
-- One token per request, placed as the strategy says. Forged tokens are made here, distinct per
-- request, from a real token's parts.
local strategy, case, pool_file, base = "%(strategy)s", "%(case)s", "%(pool)s", "%(base)s"
-- Paced runs: each connection waits a random time (exponential, this mean) before its next
-- request, so every case sees about the same request rate, arriving at random rather than in
-- bursts of 32, and latencies compare service times, not queue lengths.
local pace_ms = %(pace_ms)s
if pace_ms > 0 then
  math.randomseed(os.time())
  delay = function() return -pace_ms * math.log(1 - math.random()) end
end
local pool, n = {}, 0
local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local function b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = (c and 4) or (b and 3) or 2
    for j = 1, chars do
      local k = math.floor(v / 2 ^ (18 - 6 * (j - 1))) %% 64
      out[#out + 1] = b64:sub(k + 1, k + 1)
    end
  end
  return table.concat(out)
end
local header, payload, sig = base:match("([^.]+)%%.([^.]+)%%.([^.]+)")
-- Unknown kids without encoding a header per request (which made wrk, not the server, the
-- bottleneck): the JSON before the counter is 45 bytes and the counter 9 digits, both multiples
-- of 3, so the header is a fixed prefix, three encoded 3-digit groups and a fixed suffix.
local kid_prefix = b64url('{"alg":"RS256","typ":"JWT","kid":"unknown-kid')
local kid_suffix = b64url('"}')
local digits = {}
for i = 0, 999 do digits[i] = b64url(string.format("%%03d", i)) end
init = function(args)
  if case == "verified" then
    for line in io.lines(pool_file) do pool[#pool + 1] = line end
  end
end
local function token()
  n = n + 1
  if case == "warm" or case == "control" then return base end
  if case == "verified" then return pool[(n %% #pool) + 1] end
  local tag = string.format("%%010d", n)
  if case == "forged_sig" then
    -- Ten characters in the middle of the signature: still canonical base64url (the last
    -- character's unused bits must stay zero), so the RSA check runs and fails.
    return header .. "." .. payload .. "." .. sig:sub(1, 100) .. tag .. sig:sub(111)
  end
  if case == "unknown_kid" then
    local m = n %% 1000000000
    local h = kid_prefix .. digits[math.floor(m / 1000000)] .. digits[math.floor(m / 1000) %% 1000]
      .. digits[m %% 1000] .. kid_suffix
    return h .. "." .. payload .. "." .. sig
  end
  if case == "garbage" then return "garbage." .. tag .. ".x" .. tag end
  return nil
end
request = function()
  local path = (case == "control") and "/control" or "/authenticated"
  if case == "health" then path = "/health" end
  local t = token()
  local headers = {}
  if t ~= nil then
    if strategy == "cookie" then headers["Cookie"] = "psg_auth_token=" .. t
    else headers["Authorization"] = "Bearer " .. t end
  end
  return wrk.format("GET", path, headers)
end
"""


def parse_wrk(text):
    out = {"requests": 0, "non2xx": 0, "rps": 0.0, "p50_us": None, "p99_us": None, "errors": 0}

    def micros(value):
        units = {"us": 1, "ms": 1000, "s": 1_000_000}
        for unit in ("us", "ms", "s"):
            if value.endswith(unit):
                return float(value[: -len(unit)]) * units[unit]
        return float(value)

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("50%"):
            out["p50_us"] = micros(line.split()[1])
        elif line.startswith("99%"):
            out["p99_us"] = micros(line.split()[1])
        elif "requests in" in line:
            out["requests"] = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            out["non2xx"] = int(line.split(":")[1])
        elif line.startswith("Requests/sec:"):
            out["rps"] = float(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            out["errors"] = sum(int(p.split()[-1]) for p in line.split(":", 1)[1].split(","))
    return out


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="passage-load-")
        self.children = []

    def spawn(self, cmd, env=None, cpu=None, log_name=None):
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        out = open(os.path.join(self.tmp, log_name or "child.log"), "w")
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.children.append(proc)
        return proc

    def stop(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def build(self):
        packages = ["passage-emulator"] + [FRAMEWORKS[f] for f in self.args.frameworks]
        cmd = ["cargo", "build", "--release", "--locked", "--bins"]
        for p in packages:
            cmd += ["-p", p]
        log("load: " + " ".join(cmd))
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=sys.stderr)
        floor = ["cargo", "bench", "--locked", "-p", "passage-core", "--bench", "verify", "--no-run"]
        log("load: " + " ".join(floor))
        subprocess.run(floor, cwd=ROOT, check=True, stdout=sys.stderr)

    def floor(self):
        """The RSA floor in this run: passage-core's criterion bench of the RS256 check with a
        parsed key, on the server's core, with the load generator idle."""
        cmd = ["taskset", "-c", "0", "cargo", "bench", "--locked", "-q", "-p", "passage-core",
               "--bench", "verify", "--", "verify/rsa_check_parsed_key", "--warm-up-time", "1",
               "--measurement-time", "3", "--noplot"]
        text = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            if "time:" in line:
                low, mid, high = line.split("[", 1)[1].rstrip("]").split(" ")[0::2][:3]
                units = line.split("[", 1)[1].split(" ")[1::2][:3]
                scale = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3}
                return float(mid) * scale[units[1]]
        raise SystemExit("load: no time in the floor benchmark's output:\n" + text)

    def start_emulator(self):
        port = free_port()
        self.emulator_origin = f"http://127.0.0.1:{port}"
        self.emulator = self.spawn(
            [os.path.join(RELEASE, "passage-emulator"), "--port", str(port), "--app-id", APP_ID,
             "--api-key", API_KEY],
            env=dict(os.environ, RUST_LOG="warn"), cpu=1, log_name="emulator.log")
        wait_http(f"{self.emulator_origin}/v1/apps/{APP_ID}/.well-known/jwks.json", self.emulator)

    def jwks_requests(self):
        stats = http_json("GET", f"{self.emulator_origin}/emulator/v1/apps/{APP_ID}/stats")
        return stats["jwks_requests"]

    def mint(self):
        log(f"load: minting {POOL} distinct tokens")
        users = [
            http_json("POST", f"{self.emulator_origin}/v1/apps/{APP_ID}/users",
                      {"email": f"load{i}@example.com"})["user"]["id"]
            for i in range(50)
        ]

        def one(i):
            body = {"user_id": users[i % len(users)], "ttl_seconds": 86_400,
                    "claims": {"jti": f"load-{i}"}}
            url = f"{self.emulator_origin}/emulator/v1/apps/{APP_ID}/tokens"
            return http_json("POST", url, body)["auth_token"]

        with ThreadPoolExecutor(4) as pool:
            tokens = list(pool.map(one, range(POOL)))
        assert len(set(tokens)) == POOL, "minted tokens are not distinct"
        self.base_token = tokens[0]
        self.pool_file = os.path.join(self.tmp, "pool.txt")
        with open(self.pool_file, "w") as f:
            f.write("\n".join(tokens[1:]) + "\n")

    def script(self, strategy, case, pace_ms=0):
        path = os.path.join(self.tmp, f"{strategy}-{case}-{pace_ms}.lua")
        with open(path, "w") as f:
            f.write(LUA % {"strategy": strategy, "case": case, "pool": self.pool_file,
                           "base": self.base_token, "pace_ms": pace_ms})
        return path

    def start_app(self, framework, strategy, cache_entries=None):
        port = free_port()
        env = dict(os.environ, PASSAGE_APP_ID=APP_ID, PASSAGE_API_KEY=API_KEY,
                   PASSAGE_AUTH_ORIGIN=self.emulator_origin,
                   PASSAGE_API_ORIGIN=self.emulator_origin,
                   PASSAGE_AUTH_STRATEGY=strategy, PORT=str(port), WORKERS="1")
        env.pop("PASSAGE_TOKEN_CACHE_ENTRIES", None)
        if cache_entries is not None:
            env["PASSAGE_TOKEN_CACHE_ENTRIES"] = str(cache_entries)
        env.pop("RUST_LOG", None)  # the default level: what a user who copies the app gets
        binary = os.path.join(RELEASE, FRAMEWORKS[framework])
        proc = self.spawn([binary], env=env, cpu=0, log_name=f"{framework}-{strategy}.log")
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        return proc, port

    def wrk(self, port, script, seconds):
        cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c32", f"-d{seconds}s", "--latency",
               "-s", script, f"http://127.0.0.1:{port}"]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def measure(self, proc, port, script, seconds):
        """One run: wrk's figures, the server's CPU per request, and the others' CPU."""
        for attempt in range(3):
            (user0, sys0), busy0, rss0 = cpu_ticks(proc.pid), busy_ticks(), rss_kb(proc.pid)
            kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            emu0 = sum(cpu_ticks(self.emulator.pid))
            text = self.wrk(port, script, seconds)
            kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            (user1, sys1), busy1, rss1 = cpu_ticks(proc.pid), busy_ticks(), rss_kb(proc.pid)
            run = parse_wrk(text)
            server = (user1 - user0) + (sys1 - sys0)
            # wrk's own CPU (it is our child and has exited) and the emulator's are ours too:
            # anything beyond them and the server is somebody else.
            wrk_ticks = ((kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)) * CLK_TCK
            emulator = sum(cpu_ticks(self.emulator.pid)) - emu0
            others = max(0, (busy1 - busy0) - server - wrk_ticks - emulator)
            per_request = lambda ticks: ticks / CLK_TCK * 1e6 / max(run["requests"], 1)
            run["cpu_us"] = per_request(server)
            run["user_us"] = per_request(user1 - user0)
            # How busy the server's core was: below ~0.9 the load generator, not the server,
            # set the pace, and the per-request figures carry the cost of idling.
            run["busy"] = server / (seconds * CLK_TCK)
            run["rss0"], run["rss1"] = rss0, rss1
            run["others"] = others / (seconds * CLK_TCK)
            run["attempts"] = attempt + 1
            if run["others"] <= 0.1:
                break
            log(f"load: other processes used {run['others']:.0%} of a core; running again")
        return run

    def cache_counts(self, port):
        """The token cache's hits and misses, where the app exports metrics (the axum app)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                text = resp.read().decode()
        except Exception:
            return None
        counts = {"hit": 0, "miss": 0}
        for line in text.splitlines():
            if line.startswith("passage_token_cache_total"):
                for result in counts:
                    if f'result="{result}"' in line:
                        counts[result] = float(line.split()[-1])
        return counts

    def case(self, proc, port, strategy, case):
        script = self.script(strategy, case)
        control = self.script(strategy, "control")
        started = time.monotonic()
        self.wrk(port, script, 2)  # warm-up
        cache0 = self.cache_counts(port)
        jwks0 = self.jwks_requests()
        # Each round of a guarded case is paired with a round of the control just before it, and
        # the case's extra cost is counted against those controls: on a shared VM the machine's
        # speed drifts by tens of percent over minutes (the neighbours' load), which a control
        # measured once, minutes earlier, would put into the guard's cost.
        runs, controls = [], []
        for _ in range(self.args.rounds):
            if case != "control":
                controls.append(self.measure(proc, port, control, self.args.duration))
            runs.append(self.measure(proc, port, script, self.args.duration))
        # Latency at an equal, moderate rate: under saturation (above) a closed loop of 32
        # connections makes every latency 32 service times, so it would compare throughputs.
        # As many paced rounds as saturated ones: one run's p99 is a handful of requests.
        paced_script = self.script(strategy, case, PACE_MS)
        paced = [parse_wrk(self.wrk(port, paced_script, self.args.duration))
                 for _ in range(self.args.rounds)]
        jwks = self.jwks_requests() - jwks0
        cache1 = self.cache_counts(port)
        hit_ratio = None
        if cache0 is not None and cache1 is not None:
            hits = cache1["hit"] - cache0["hit"]
            total = hits + cache1["miss"] - cache0["miss"]
            hit_ratio = hits / total if total else None
        expect_ok = case in ("control", "warm", "verified")
        checks = [(run, expect_ok, case) for run in runs + paced]
        checks += [(run, True, "control (paired)") for run in controls]
        for run, ok, name in checks:
            wrong = run["non2xx"] if ok else run["requests"] - run["non2xx"]
            if wrong or run["errors"]:
                raise SystemExit(f"load: {name}: {wrong} answers of the wrong kind, "
                                 f"{run['errors']} socket errors")
        return {"case": case, "runs": runs, "controls": controls, "jwks": jwks,
                "hit_ratio": hit_ratio, "paced": paced,
                "seconds": time.monotonic() - started}

    def bare_rocket(self):
        """The Rocket example's `/health` against a bare Rocket app's (`rocket-bare`: Rocket's
        defaults, no Passage, no tracing), alternating rounds; no token is sent."""
        example, port = self.start_app("rocket", "header", CASE_CACHE_ENTRIES)
        bare_port = free_port()
        env = dict(os.environ, ROCKET_ADDRESS="127.0.0.1", ROCKET_PORT=str(bare_port),
                   ROCKET_WORKERS="1")
        bare = self.spawn([os.path.join(RELEASE, "rocket-bare")], env=env, cpu=0,
                          log_name="rocket-bare.log")
        wait_http(f"http://127.0.0.1:{bare_port}/health", bare)
        script = self.script("header", "health")
        runs = {"example": [], "bare": []}
        for target, p in (("example", port), ("bare", bare_port)):
            self.wrk(p, script, 2)
        for _ in range(self.args.rounds):
            for target, proc, p in (("example", example, port), ("bare", bare, bare_port)):
                runs[target].append(self.measure(proc, p, script, self.args.duration))
        self.stop(example)
        self.stop(bare)
        return runs

    def memory(self, proc, port, strategy):
        """RSS over 200,000 distinct forged tokens, then over the valid pool (cycled)."""
        out = []
        for case, requests in (("forged_sig", 200_000), ("unknown_kid", 200_000),
                               ("verified", 200_000)):
            script = self.script(strategy, case)
            rss0 = rss_kb(proc.pid)
            done, rss_points = 0, []
            while done < requests:
                run = parse_wrk(self.wrk(port, script, 1))
                done += run["requests"]
                rss_points.append(rss_kb(proc.pid))
            out.append({"case": case, "requests": done, "rss0": rss0, "points": rss_points})
        return out


def fmt_us(v):
    return "-" if v is None else (f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs")


def summarise(name, results, floor):
    def paced_median(result, key):
        return statistics.median(x[key] for x in result["paced"])

    control_p99 = paced_median(results[0], "p99_us")
    lines = [f"#### {name}", "",
             "| case | req/s | p50 | p99 | server busy | CPU µs/req (min–max) | user µs/req | "
             "paired control: CPU, user | extra CPU | extra user | control/case CPU | "
             "paced: req/s, p50, p99 (p99 min–max) | "
             "paced p99 / control | RSS before → after | JWKS fetches | token-cache hits | "
             "repeats |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    extra, extra_user, p99_ratio, paired = {}, {}, {}, {}
    for r in results:
        runs = r["runs"]
        cpu = [x["cpu_us"] for x in runs]
        med = statistics.median(cpu)
        user = statistics.median(x["user_us"] for x in runs)
        p99 = statistics.median(x["p99_us"] for x in runs)
        controls = r["controls"] or runs  # the control is its own
        control = statistics.median(x["cpu_us"] for x in controls)
        control_user = statistics.median(x["user_us"] for x in controls)
        extra[r["case"]], extra_user[r["case"]] = med - control, user - control_user
        paired[r["case"]] = control
        paced = {key: paced_median(r, key) for key in ("rps", "p50_us", "p99_us")}
        paced_p99s = [x["p99_us"] for x in r["paced"]]
        p99_ratio[r["case"]] = paced["p99_us"] / control_p99
        lines.append(
            f"| {r['case']} | {statistics.median(x['rps'] for x in runs):,.0f} | "
            f"{fmt_us(statistics.median(x['p50_us'] for x in runs))} | {fmt_us(p99)} | "
            f"{min(x['busy'] for x in runs):.2f} | "
            f"{med:.1f} ({min(cpu):.1f}–{max(cpu):.1f}) | {user:.1f} | "
            f"{control:.1f}, {control_user:.1f} | {med - control:+.1f} | "
            f"{user - control_user:+.1f} | {control / med:.2f} | "
            f"{paced['rps']:,.0f}, {fmt_us(paced['p50_us'])}, {fmt_us(paced['p99_us'])} "
            f"({fmt_us(min(paced_p99s))}–{fmt_us(max(paced_p99s))}) | "
            f"{p99_ratio[r['case']]:.2f} | "
            f"{runs[0]['rss0'] / 1024:.1f} → {runs[-1]['rss1'] / 1024:.1f} MB | {r['jwks']} | "
            f"{'-' if r['hit_ratio'] is None else format(r['hit_ratio'], '.0%')} | "
            f"{sum(x['attempts'] - 1 for x in runs + r['controls'])} |")
    lines += ["", f"Targets (RSA floor in this run: {floor:.2f} µs):", ""]

    def target(label, value, ok):
        lines.append(f"- {label}: {value} ({'met' if ok else 'missed'})")

    if "warm" in extra:
        ratio = paired["warm"] / (paired["warm"] + extra["warm"])
        target("warm, control/guarded CPU ≥ 0.95", f"{ratio:.2f}", ratio >= 0.95)
    if "verified" in extra:
        for label, value in (("CPU", extra["verified"]), ("user CPU", extra_user["verified"])):
            target(f"verified, extra {label} ≤ 1.15 × floor", f"{value / floor:.2f} × floor",
                   value <= 1.15 * floor)
    if "forged_sig" in extra and "verified" in extra:
        for label, table in (("CPU", extra), ("user CPU", extra_user)):
            target(f"forged signature, extra {label} ≤ verified's",
                   f"{table['forged_sig']:+.1f} vs {table['verified']:+.1f} µs",
                   table["forged_sig"] <= table["verified"])
    for case in ("unknown_kid", "garbage", "none"):
        if case in extra:
            target(f"{case}, extra CPU < floor / 5 ({floor / 5:.1f} µs)",
                   f"{extra[case]:+.1f} µs (user {extra_user[case]:+.1f})", extra[case] < floor / 5)
    guarded = [c for c in p99_ratio if c != "control"]
    if guarded:
        worst = max(guarded, key=lambda c: p99_ratio[c])
        target("paced p99 ≤ 1.2 × control's, every case",
               f"worst {p99_ratio[worst]:.2f} ({worst})", p99_ratio[worst] <= 1.2)
    # Unknown kids may cause one refresh per cooldown (30 s), scheduled for its end (so it can
    # land in the next case); nothing else may fetch (the key set's TTL is 10 minutes).
    fetches = sum(r["jwks"] for r in results)
    unknown = [r["seconds"] for r in results if r["case"] == "unknown_kid"]
    allowed = int(unknown[0] // 30) + 1 if unknown else 0
    target("JWKS fetches: none but one per 30 s cooldown during unknown kids",
           f"{fetches} (allowed {allowed})", fetches <= allowed)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frameworks", default="axum,actix,warp,rocket")
    parser.add_argument("--strategies", default="header,cookie")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    args.frameworks = args.frameworks.split(",")
    args.strategies = args.strategies.split(",")
    args.cases = args.cases.split(",")
    if "control" in args.cases:
        args.cases.remove("control")
    args.cases.insert(0, "control")
    if os.cpu_count() < 2:
        raise SystemExit("load: needs two cores (server on one, load generator on the other)")

    ensure_wrk()
    bench = Bench(args)
    if not args.no_build:
        bench.build()
    try:
        bench.start_emulator()
        bench.mint()
        print(f"Machine: {os.cpu_count()} cores; server on core 0 (WORKERS=1, "
              f"PASSAGE_TOKEN_CACHE_ENTRIES={CASE_CACHE_ENTRIES}), wrk -t1 -c32 and the emulator "
              f"on core 1; {args.rounds} rounds of {args.duration} s per case after a 2 s warm-up, "
              f"each guarded round just after a round of the control (the case's paired control); "
              f"medians. The RSA floor is passage-core's criterion bench on core 0, before each "
              f"app.\n")
        for framework in args.frameworks:
            for strategy in args.strategies:
                floor = bench.floor()
                proc, port = bench.start_app(framework, strategy, CASE_CACHE_ENTRIES)
                results = [bench.case(proc, port, strategy, c) for c in args.cases]
                bench.stop(proc)
                print(summarise(f"{framework}, {strategy}", results, floor) + "\n", flush=True)
                if args.memory:
                    # A fresh app with the default token cache (10,000 entries).
                    proc, port = bench.start_app(framework, strategy)
                    for m in bench.memory(proc, port, strategy):
                        points = ", ".join(f"{p / 1024:.1f}" for p in m["points"])
                        print(f"- memory, {framework} {strategy}, {m['case']}: "
                              f"{m['requests']:,} requests, RSS {m['rss0'] / 1024:.1f} MB → "
                              f"{points} MB\n", flush=True)
                    bench.stop(proc)
        if "rocket" in args.frameworks:
            runs = bench.bare_rocket()
            cpu = {k: statistics.median(r["cpu_us"] for r in v) for k, v in runs.items()}
            rps = {k: statistics.median(r["rps"] for r in v) for k, v in runs.items()}
            ratio = cpu["bare"] / cpu["example"]
            print("#### Rocket: the example's `/health` against a bare Rocket route\n")
            print("| app | req/s | CPU µs/req (min–max) |\n|---|---|---|")
            for k in ("bare", "example"):
                cpus = [r["cpu_us"] for r in runs[k]]
                print(f"| {k} | {rps[k]:,.0f} | {cpu[k]:.1f} ({min(cpus):.1f}–{max(cpus):.1f}) |")
            print(f"\n- example within 0.9 × the bare route (bare/example CPU): {ratio:.2f} "
                  f"({'met' if ratio >= 0.9 else 'missed'})\n", flush=True)
    finally:
        for child in bench.children:
            bench.stop(child)


if __name__ == "__main__":
    main()
