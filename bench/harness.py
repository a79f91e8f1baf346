#!/usr/bin/env python3
"""byoca's benchmark harness: runs byoca and its peers (lego, certbot, uacme,
dehydrated) against the same local Pebble in the same run, measures each
client process tree (wall, user+sys CPU, peak RSS) and Pebble's own CPU
(from /proc/<pid>/stat), and writes medians and ratios.

Called by bench/run.sh, which starts Pebble and exports:
  BENCH_DIRECTORY  Pebble's directory URL      BENCH_PEBBLE_PID  its pid
  BENCH_CA_BUNDLE  roots for Pebble's HTTPS    BENCH_HTTP_PORT   a free port
  BENCH_BYOCA      the byoca binary            BENCH_DIR         scratch dir
  BENCH_FLOOR      the crypto-floor program    BENCH_OUT         results JSON
  BENCH_STARTUP    an empty main linked like byoca (the start-up floor)
Nothing here asserts a time: the figures are reported, never checked.
"""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
ENV = os.environ


def pebble_cpu():
    """Pebble's user+sys CPU seconds so far."""
    with open(f"/proc/{ENV['BENCH_PEBBLE_PID']}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


PEBBLE = {"proc": None}


def fresh_pebble(always_valid=True):
    """Replaces the running Pebble with a new one on the same ports and
    config: Pebble keeps every order in memory and slows down (stalls of
    30 s on newOrder were seen after a few thousand), so each batch-sized
    measurement starts from an empty CA, as a real CA would look."""
    import signal
    pid = int(ENV["BENCH_PEBBLE_PID"])
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
    except ProcessLookupError:
        pass
    if PEBBLE["proc"] is not None:
        PEBBLE["proc"].wait()
    env = dict(ENV, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0",
               PEBBLE_AUTHZREUSE="0")
    env.pop("PEBBLE_VA_ALWAYS_VALID", None)
    if always_valid:
        env["PEBBLE_VA_ALWAYS_VALID"] = "1"
    log = open(os.path.join(ENV["BENCH_DIR"], "pebble-fresh.log"), "a")
    PEBBLE["proc"] = subprocess.Popen(
        ["pebble", "-config", ENV["BENCH_PEBBLE_CONFIG"], "-dnsserver",
         ENV["BENCH_DNS"].replace("@", ":")], env=env, stdout=log,
        stderr=subprocess.STDOUT)
    ENV["BENCH_PEBBLE_PID"] = str(PEBBLE["proc"].pid)
    for _ in range(200):
        r = subprocess.run(["curl", "-sf", "--cacert", ENV["BENCH_CA_BUNDLE"],
                            "-o", "/dev/null", ENV["BENCH_DIRECTORY"]])
        if r.returncode == 0:
            return
        time.sleep(0.05)
    raise SystemExit("bench: Pebble did not come back")


def run(cmd, env=None, cwd=None, label=""):
    """Runs cmd to completion; returns wall, cpu (the whole process tree
    that was waited for) and peak RSS in MiB. A failure stops the run."""
    full_env = dict(ENV)
    full_env.update(env or {})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=full_env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.stderr.write(p.stdout.decode(errors="replace")[-4000:])
        raise SystemExit(f"bench: {label or cmd[0]} failed ({p.returncode})")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, in KiB
    return wall, cpu, after.ru_maxrss / 1024.0


def scratch(name):
    d = os.path.join(ENV["BENCH_DIR"], name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


# ------------------------------------------------------------ the clients

def byoca_seq(d):
    base = [ENV["BENCH_BYOCA"], "issue", "--server", ENV["BENCH_DIRECTORY"],
            "--ca-bundle", ENV["BENCH_CA_BUNDLE"], "--state-dir", d,
            "--agree-tos", "--http-addr", "127.0.0.1",
            "--http-port", ENV["BENCH_HTTP_PORT"], "--key-type", "ec256"]
    return lambda name: base + ["-d", name], {}


def lego_seq(d, webroot=None):
    """lego with its http-01 server, or (webroot) writing files, so that
    many can run at once without fighting over one port."""
    base = ["lego", "--server", ENV["BENCH_DIRECTORY"], "--email",
            "bench@example.org", "--accept-tos", "--path", d,
            "--key-type", "ec256", "--http"]
    if webroot:
        base += ["--http.webroot", webroot]
    else:
        base += ["--http.port", "127.0.0.1:" + ENV["BENCH_HTTP_PORT"]]
    env = {"LEGO_CA_CERTIFICATES": ENV["BENCH_CA_BUNDLE"]}
    return lambda name: base + ["--domains", name, "run"], env


def certbot_seq(d):
    base = ["certbot", "certonly", "--standalone", "--non-interactive",
            "--agree-tos", "--register-unsafely-without-email",
            "--server", ENV["BENCH_DIRECTORY"], "--config-dir", d + "/etc",
            "--work-dir", d + "/work", "--logs-dir", d + "/logs",
            "--http-01-address", "127.0.0.1",
            "--http-01-port", ENV["BENCH_HTTP_PORT"],
            "--key-type", "ecdsa", "--elliptic-curve", "secp256r1",
            "--no-random-sleep-on-renew"]
    env = {"REQUESTS_CA_BUNDLE": ENV["BENCH_CA_BUNDLE"]}
    return lambda name: base + ["-d", name], env


def _trusting(cmd):
    """uacme (libcurl-gnutls) reads only the system trust store: run it in
    a private mount namespace where that file is Pebble's bundle."""
    sh = ('mount --bind "$BENCH_CA_BUNDLE" /etc/ssl/certs/ca-certificates.crt'
          ' && exec "$@"')
    return ["unshare", "-m", "sh", "-c", sh, "sh"] + cmd


def uacme_seq(d):
    hook = os.path.join(d, "hook.sh")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")  # Pebble validates everything
    os.chmod(hook, 0o755)
    base = ["uacme", "-c", d, "-a", ENV["BENCH_DIRECTORY"], "-t", "EC",
            "-b", "256", "-o", "-y", "-h", hook]
    run(_trusting(base + ["new"]), label="uacme new")
    return lambda name: _trusting(base + ["issue", name]), {}


def dehydrated_seq(d):
    cfg = os.path.join(d, "config")
    hook = os.path.join(d, "hook.sh")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(hook, 0o755)
    os.makedirs(d + "/wellknown", exist_ok=True)
    with open(cfg, "w") as f:
        f.write(f'CA="{ENV["BENCH_DIRECTORY"]}"\nBASEDIR="{d}"\n'
                f'WELLKNOWN="{d}/wellknown"\nKEY_ALGO=prime256v1\n'
                f'CURL_OPTS="--cacert {ENV["BENCH_CA_BUNDLE"]}"\n'
                f'HOOK="{hook}"\nCHALLENGETYPE=http-01\n')
    base = ["dehydrated", "-f", cfg]
    run(base + ["--register", "--accept-terms"], label="dehydrated register")
    return lambda name: base + ["-c", "-d", name, "--force"], {}


CLIENTS = {"byoca": byoca_seq, "lego": lego_seq, "certbot": certbot_seq,
           "uacme": uacme_seq, "dehydrated": dehydrated_seq}


# ------------------------------------------------------------ scenarios

def median(xs):
    return statistics.median(xs) if xs else None


def seq_one(client, n):
    d = scratch("seq-" + client)
    make, env = CLIENTS[client](d)
    run(make(f"warm.{client}.bench.test"), env, d, client + " warm-up")
    walls, cpus, rsss = [], [], []
    p0 = pebble_cpu()
    for i in range(n):
        w, c, _ = run(make(f"s{i}.{client}.bench.test"), env, d, client)
        walls.append(w)
        cpus.append(c)
    pcpu = (pebble_cpu() - p0) / n
    # peak RSS of one run, measured alone so earlier children do not mask it
    rss = measure_rss(make(f"rss.{client}.bench.test"), env, d)
    return {"wall_s": median(walls), "cpu_ms": median(cpus) * 1000,
            "rss_mib": rss, "pebble_cpu_ms": pcpu * 1000, "n": n}


def measure_rss(cmd, env, cwd):
    """Peak RSS of one process tree, read by a fresh python child."""
    code = ("import resource,subprocess,sys,os\n"
            "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,"
            "stderr=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(p.returncode)")
    full_env = dict(ENV)
    full_env.update(env)
    out = subprocess.run([sys.executable, "-c", code] + cmd, env=full_env,
                         cwd=cwd, stdout=subprocess.PIPE, check=True)
    return int(out.stdout.split()[-1]) / 1024.0


def scenario_seq(res):
    n = int(ENV.get("BENCH_N", "30"))
    clients = ENV.get("BENCH_CLIENTS", "byoca lego certbot uacme dehydrated")
    res["seq"] = {}
    for c in clients.split():
        if c != "byoca" and shutil.which(c) is None:
            res["seq"][c] = {"skipped": "not installed"}
            continue
        sys.stderr.write(f"bench: sequential, {c}, n={n}\n")
        res["seq"][c] = seq_one(c, n)


def scenario_seqreal(res):
    """The sequential case with real http-01 validation (Pebble fetches the
    token from each client's own responder): only the clients that serve
    http-01 themselves here (byoca, lego, certbot standalone)."""
    n = int(ENV.get("BENCH_N_REAL", "5"))
    res["seqreal"] = {}
    fresh_pebble(always_valid=False)
    try:
        for c in ENV.get("BENCH_CLIENTS_REAL", "byoca lego certbot").split():
            if c != "byoca" and shutil.which(c) is None:
                res["seqreal"][c] = {"skipped": "not installed"}
                continue
            sys.stderr.write(f"bench: sequential, real validation, {c}\n")
            res["seqreal"][c] = seq_one(c, n)
    finally:
        fresh_pebble()


def batch_once(names, parallel):
    fresh_pebble()
    d = scratch(f"batch-{parallel}")
    batch = os.path.join(d, "batch.txt")
    with open(batch, "w") as f:
        for i in range(names):
            f.write(f"b{i}.p{parallel}.bench.test\n")
    make, env = byoca_seq(d)
    run(make("warm.batch.bench.test"), env, d, "byoca warm-up")
    cmd = make("unused")[:-2] + ["--batch", batch, "--parallel", str(parallel)]
    p0 = pebble_cpu()
    w, c, _ = run(cmd, env, d, "byoca batch")
    p = pebble_cpu() - p0
    return {"certs_per_s": names / w, "cpu_ms_per_cert": c * 1000 / names,
            "pebble_cpu_ms_per_cert": p * 1000 / names,
            "client_to_pebble_cpu": c / p if p > 0 else None, "wall_s": w}


def pebble_ceiling(names, procs):
    """Pebble's throughput when driven by many lego processes at once."""
    fresh_pebble()
    d = scratch("ceiling")
    make, env = lego_seq(d + "/warm")
    run(make("warm.ceiling.bench.test"), env, d, "lego warm-up")
    full_env = dict(ENV)
    full_env.update(env)
    per = names // procs
    os.makedirs(d + "/www", exist_ok=True)
    t0 = time.monotonic()
    running = []
    for p in range(procs):
        script = " && ".join(
            " ".join(lego_seq(f"{d}/p{p}", d + "/www")[0](
                f"c{i}.q{p}.bench.test"))
            for i in range(per))
        log = open(f"{d}/p{p}.log", "w")
        running.append(subprocess.Popen(
            ["sh", "-c", script], env=full_env, stdout=log,
            stderr=subprocess.STDOUT))
        log.close()
    for p, r in enumerate(running):
        if r.wait() != 0:
            with open(f"{d}/p{p}.log") as log:
                sys.stderr.write(log.read()[-2000:])
            raise SystemExit("bench: lego ceiling run failed")
    return {"certs_per_s": per * procs / (time.monotonic() - t0),
            "processes": procs}


def scenario_batch(res):
    names = int(ENV.get("BENCH_BATCH", "1000"))
    res["batch"] = {"names": names, "runs": {}}
    for par in [int(x) for x in ENV.get("BENCH_PARALLEL", "1 8 64 256").split()]:
        sys.stderr.write(f"bench: batch of {names} at --parallel {par}\n")
        # one order at a time is bound by D-POLL's waits, not by CPU: a
        # tenth of the names is enough to measure it
        n = names if par > 1 else max(names // 10, 10)
        runs = [batch_once(n, par)
                for _ in range(int(ENV.get("BENCH_REPEAT", "3")))]
        res["batch"]["runs"][str(par)] = {
            k: median([r[k] for r in runs if r[k] is not None])
            for k in runs[0]}
        res["batch"]["runs"][str(par)]["names"] = n
    if shutil.which("lego"):
        sys.stderr.write("bench: Pebble ceiling (parallel lego)\n")
        res["batch"]["pebble_ceiling"] = pebble_ceiling(
            int(ENV.get("BENCH_CEILING", "512")), 32)


def scenario_floor(res):
    out = subprocess.run([ENV["BENCH_FLOOR"]], stdout=subprocess.PIPE,
                         check=True)
    res["floor"] = json.loads(out.stdout)
    res["floor"]["startup"] = startup_floor()


def libs_of(path):
    out = subprocess.run(["ldd", path], stdout=subprocess.PIPE, text=True)
    return sorted(line.split()[0] for line in out.stdout.splitlines()
                  if line.strip())


def startup_floor():
    """CPU of starting a process that links what byoca links and does
    nothing (median of many runs), next to `byoca version`; the library
    lists are compared so the report can say how alike the two are."""
    n = int(ENV.get("BENCH_STARTUP_N", "200"))
    runs = {}
    for name, cmd in (("empty_main", [ENV["BENCH_STARTUP"]]),
                      ("byoca_version", [ENV["BENCH_BYOCA"], "--version"])):
        cpus = []
        for _ in range(n):
            _, c, _ = run(cmd, label=name)
            cpus.append(c * 1000)
        runs[name] = median(cpus)
    a, b = libs_of(ENV["BENCH_STARTUP"]), libs_of(ENV["BENCH_BYOCA"])
    return {"n": n, "empty_main_cpu_ms": runs["empty_main"],
            "byoca_version_cpu_ms": runs["byoca_version"],
            "libs": len(b), "libs_only_in_empty_main": sorted(set(a) - set(b)),
            "libs_only_in_byoca": sorted(set(b) - set(a))}


# ------------------------------------------------------------ the daemon

def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_mem(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return None


def api(d, method, path, body=None):
    cmd = ["curl", "-sS", "--fail", "--unix-socket", d + "/api.sock",
           "-H", "@" + d + "/auth.hdr", "-X", method]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "-d", body]
    out = subprocess.run(cmd + ["http://byocad" + path],
                         stdout=subprocess.PIPE, check=True)
    return json.loads(out.stdout) if out.stdout else None


def byocad_start(d, conf):
    p = subprocess.Popen([ENV["BENCH_BYOCAD"], "run", "-c", conf],
                         stdout=open(d + "/byocad.log", "a"),
                         stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    while True:
        h = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                            "%{http_code}", "--unix-socket", d + "/api.sock",
                            "http://byocad/healthz"], stdout=subprocess.PIPE)
        if h.stdout == b"200":
            return p, time.monotonic() - t0
        if p.poll() is not None or time.monotonic() - t0 > 120:
            raise SystemExit("bench: byocad did not start; see " + d)
        time.sleep(0.01)


def byocad_stop(p):
    p.terminate()
    p.wait(timeout=60)


def fill_store(db, tenant, lineages, due):
    """Synthetic lineages straight into the store (not issued: no keys);
    the `due` ones are new and due now, the others due in 30+ days."""
    import sqlite3
    now = int(time.time())
    c = sqlite3.connect(db)
    c.execute("PRAGMA journal_mode=WAL")
    rows = ((tenant, f'["s{i}.bench.test"]', "ec256", "auto", 1,
             now + 30 * 86400 + i % 86400, now, now) for i in range(lineages))
    c.executemany("INSERT INTO certificates (tenant_id, identifiers, key_type,"
                  " ca, state, next_check, created, updated)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    first_due = c.execute("SELECT coalesce(max(id), 0) FROM certificates"
                          ).fetchone()[0]
    rows = ((tenant, f'["r{i}.bench.test"]', "ec256", "auto", 0, now - 1,
             now, now) for i in range(due))
    c.executemany("INSERT INTO certificates (tenant_id, identifiers, key_type,"
                  " ca, state, next_check, created, updated)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    return first_due


def issued_since(db, first_due):
    import sqlite3
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    n = c.execute("SELECT count(*) FROM certificates WHERE id > ?"
                  " AND state = 1", (first_due,)).fetchone()[0]
    c.close()
    return n


def daemon_conf(d, parallel):
    conf = d + "/byocad.conf"
    with open(conf, "w") as f:
        f.write(f"""[byocad]
state_dir = {d}/state
api_listen = unix:{d}/api.sock
http_listen = 127.0.0.1:{ENV["BENCH_HTTP_PORT"]}
resolver = {ENV["BENCH_DNS"]}
allow_net = 127.0.0.0/8
ca_bundle = {ENV["BENCH_CA_BUNDLE"]}
default_ca = {ENV["BENCH_DIRECTORY"]}
max_parallel = {parallel}
max_parallel_per_ca = {parallel}
tick_ms = 200
retry_base = 5
""")
    return conf


def scenario_daemon(res):
    lineages = int(ENV.get("BENCH_LINEAGES", "1000000"))
    due = int(ENV.get("BENCH_DUE", "10000"))
    par = int(ENV.get("BENCH_DAEMON_PARALLEL", "256"))
    d = scratch("daemon")
    conf = daemon_conf(d, par)
    subprocess.run([ENV["BENCH_BYOCAD"], "init", "-c", conf, "--token-file",
                    d + "/op.token"], check=True, stdout=subprocess.DEVNULL)
    with open(d + "/op.token") as f, open(d + "/auth.hdr", "w") as h:
        h.write("Authorization: Bearer " + f.read().strip() + "\n")
    p, _ = byocad_start(d, conf)
    tenant = api(d, "POST", "/v1/tenants", '{"name": "bench"}')["id"]
    byocad_stop(p)
    db = d + "/state/byocad.db"
    sys.stderr.write(f"bench: daemon, {lineages} lineages + {due} due\n")
    t0 = time.monotonic()
    first_due = fill_store(db, tenant, lineages, due)
    fill_s = time.monotonic() - t0
    shutil.copy(db, d + "/copy.db")
    out = subprocess.run([ENV["BENCH_STORE"], d + "/copy.db",
                          d + "/state/master.key"], stdout=subprocess.PIPE,
                         check=True)
    store = json.loads(out.stdout)
    fresh_pebble()
    p0 = pebble_cpu()
    p, startup = byocad_start(d, conf)
    rss_start = proc_mem(p.pid, "VmRSS")
    t0 = time.monotonic()
    while issued_since(db, first_due) < due:
        if p.poll() is not None or time.monotonic() - t0 > 1800:
            raise SystemExit("bench: byocad did not finish the due set")
        time.sleep(0.5)
    wall = time.monotonic() - t0
    cpu = proc_cpu(p.pid)
    hwm = proc_mem(p.pid, "VmHWM")
    byocad_stop(p)
    pc = pebble_cpu() - p0
    res["daemon"] = {
        "lineages": lineages, "due": due, "parallel": par,
        "fill_s": fill_s, "store": store, "startup_s": startup,
        "rss_after_start_mib": rss_start, "peak_rss_mib": hwm,
        "due_wall_s": wall, "certs_per_s": due / wall,
        "cpu_ms_per_cert": cpu * 1000 / due,
        "pebble_cpu_ms_per_cert": pc * 1000 / due}


# ------------------------------------------------------------ discovery

def add_caa(names):
    """One CAA issue record per name in challtestsrv (keep-alive HTTP)."""
    import http.client
    host, port = ENV["BENCH_CTS"].split(":")
    c = http.client.HTTPConnection(host, int(port))
    for n in names:
        body = json.dumps({"host": n + ".", "policies": [
            {"tag": "issue", "value": "ca1.byoca.test; priority=1"}]})
        c.request("POST", "/add-caa", body)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"bench: challtestsrv /add-caa {r.status}")
    c.close()


def scenario_discover(res):
    """CAA lookups and discovery for many distinct names, cold (a fresh
    process, so libunbound's cache is empty): all at once in one process,
    and 100 names per process."""
    n = int(ENV.get("BENCH_DISCOVER", "10000"))
    names = [f"d{i}.disc.test" for i in range(n)]
    sys.stderr.write(f"bench: discover, {n} names\n")
    add_caa(names)
    base = [ENV["BENCH_BYOCA"], "discover", "--no-directory", "--json",
            "--resolver", ENV["BENCH_DNS"]]
    w1, c1, r1 = 0.0, 0.0, 0.0
    for i in range(0, n, 1000):  # byoca discover takes 1 to 1000 names
        w, c, r = run(base + names[i:i + 1000], label="byoca discover")
        w1, c1, r1 = w1 + w, c1 + c, max(r1, r)
    w2, c2 = 0.0, 0.0
    for i in range(0, n, 100):
        w, c, _ = run(base + names[i:i + 100], label="byoca discover")
        w2 += w
        c2 += c
    res["discover"] = {
        "names": n, "one_process": {
            "names_per_s": n / w1, "cpu_ms_per_name": c1 * 1000 / n,
            "rss_mib": r1},
        "per_100": {"names_per_s": n / w2, "cpu_ms_per_name": c2 * 1000 / n}}


SCENARIOS = {"seq": scenario_seq, "seqreal": scenario_seqreal,
             "batch": scenario_batch,
             "floor": scenario_floor, "daemon": scenario_daemon,
             "discover": scenario_discover}


def main():
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": machine(), "versions": versions(),
           "note": ENV.get("BENCH_NOTE", "")}
    for s in sys.argv[1:]:
        SCENARIOS[s](res)
        with open(ENV["BENCH_OUT"], "w") as f:  # kept if a later one fails
            json.dump(res, f, indent=1)
    if PEBBLE["proc"] is not None:
        PEBBLE["proc"].terminate()
        PEBBLE["proc"].wait()


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": model,
            "kernel": os.uname().release}


def versions():
    v = {}
    for pkg in ["pebble", "lego", "certbot", "uacme", "dehydrated"]:
        p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        v[pkg] = p.stdout.decode() or "not installed"
    p = subprocess.run([ENV["BENCH_BYOCA"], "--version"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    v["byoca"] = p.stdout.decode().strip()
    return v


if __name__ == "__main__":
    main()
