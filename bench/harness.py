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


class Stalled(Exception):
    """A measured command ran past its timeout and was killed."""


def run(cmd, env=None, cwd=None, label="", timeout=None, progress=None,
        idle=None, check=None):
    """Runs cmd to completion; returns wall, cpu (the whole process tree
    that was waited for) and peak RSS in MiB. A failure stops the run; a
    command still running after `timeout` seconds (default BENCH_TIMEOUT,
    600), or whose progress() has not changed for `idle` seconds, is
    killed with its process group and raises Stalled, so that a stalled
    CA never hangs the bench."""
    full_env = dict(ENV)
    full_env.update(env or {})
    if timeout is None:
        timeout = float(ENV.get("BENCH_TIMEOUT", "600"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = last = time.monotonic()
    seen = progress() if progress else None
    p = subprocess.Popen(cmd, env=full_env, cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    while True:
        try:
            out, _ = p.communicate(timeout=1 if progress else timeout)
            break
        except subprocess.TimeoutExpired:
            now = time.monotonic()
            if progress:
                n = progress()
                if n != seen:
                    seen, last = n, now
            if now - t0 > timeout or (idle and now - last > idle):
                kill_group(p)
                raise Stalled(f"{label or cmd[0]} killed after"
                              f" {now - t0:.0f} s, {seen} done, none for"
                              f" {now - last:.0f} s")
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.stderr.write(out.decode(errors="replace")[-4000:])
        raise SystemExit(f"bench: {label or cmd[0]} failed ({p.returncode})")
    if check is not None:  # what was measured must be what was meant
        check(out.decode(errors="replace"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, in KiB
    return wall, cpu, after.ru_maxrss / 1024.0


def kill_group(p):
    """SIGKILL to p's process group (it was started in a new session)."""
    import signal
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.communicate()


def scratch(name):
    d = os.path.join(ENV["BENCH_DIR"], name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


# ------------------------------------------------------------ the clients

def byoca_seq(d, server=None):
    base = [ENV["BENCH_BYOCA"], "issue", "--server",
            server or ENV["BENCH_DIRECTORY"],
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
        try:
            res["seq"][c] = seq_one(c, n)
        except Stalled as e:
            res["seq"][c] = {"skipped": f"stalled ({e})"}


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
            try:
                res["seqreal"][c] = seq_one(c, n)
            except Stalled as e:
                res["seqreal"][c] = {"skipped": f"stalled ({e})"}
    finally:
        fresh_pebble()


def batch_once(names, parallel, proxied=False):
    """One `byoca issue --batch` run on a fresh Pebble; proxied: through
    the pebble-proxy that keeps Pebble 2.4's deadlocks out."""
    fresh_pebble()
    proxy = start_proxy(force=True) if proxied else None
    d = scratch(f"batch-{parallel}")
    batch = os.path.join(d, "batch.txt")
    with open(batch, "w") as f:
        for i in range(names):
            f.write(f"b{i}.p{parallel}.bench.test\n")
    make, env = byoca_seq(d, proxy_url() if proxied else None)
    try:
        run(make("warm.batch.bench.test"), env, d, "byoca warm-up")
        cmd = make("unused")[:-2] + ["--batch", batch, "--parallel",
                                     str(parallel)]
        p0 = pebble_cpu()
        os.makedirs(d + "/live", exist_ok=True)
        w, c, _ = run(cmd, env, d, "byoca batch",
                      timeout=float(ENV.get("BENCH_BATCH_TIMEOUT", "300")),
                      progress=lambda: len(os.listdir(d + "/live")),
                      idle=float(ENV.get("BENCH_BATCH_IDLE", "20")))
        p = pebble_cpu() - p0
    finally:
        stop_proxy(proxy)
    return {"certs_per_s": names / w, "cpu_ms_per_cert": c * 1000 / names,
            "pebble_cpu_ms_per_cert": p * 1000 / names,
            "client_to_pebble_cpu": c / p if p > 0 else None, "wall_s": w}


def lego_level(procs, per, timeout):
    """Pebble's throughput when `procs` lego processes at once each issue
    `per` certificates one after the other (webroot: no port to share).
    Returns certs/s and Pebble's CPU per certificate, or raises Stalled
    (every process killed) when the level does not finish in time."""
    fresh_pebble()
    d = scratch(f"ceiling-{procs}")
    make, env = lego_seq(d + "/warm")
    run(make("warm.ceiling.bench.test"), env, d, "lego warm-up")
    full_env = dict(ENV)
    full_env.update(env)
    os.makedirs(d + "/www", exist_ok=True)
    p0 = pebble_cpu()
    u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    running = []
    for p in range(procs):
        script = " && ".join(
            " ".join(lego_seq(f"{d}/p{p}", d + "/www")[0](
                f"c{i}.q{p}.l{procs}.bench.test"))
            for i in range(per))
        log = open(f"{d}/p{p}.log", "w")
        running.append(subprocess.Popen(
            ["sh", "-c", script], env=full_env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
    import glob
    idle = float(ENV.get("BENCH_BATCH_IDLE", "20"))
    seen, last = 0, t0
    while any(r.poll() is None for r in running):
        time.sleep(0.5)
        now = time.monotonic()
        n = len(glob.glob(f"{d}/p*/certificates/*.crt"))
        if n != seen:
            seen, last = n, now
        if now - t0 > timeout or now - last > idle:
            for q in running:
                if q.poll() is None:
                    kill_group(q)
            raise Stalled(f"killed after {now - t0:.0f} s, {seen} of"
                          f" {procs * per} done, none for {now - last:.0f} s")
    failed = next((p for p, r in enumerate(running) if r.returncode != 0),
                  None)
    wall = time.monotonic() - t0
    if failed is not None:
        with open(f"{d}/p{failed}.log") as log:
            sys.stderr.write(log.read()[-2000:])
        raise SystemExit(f"bench: lego ceiling run at {procs} failed")
    u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    lego = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
    return {"certs_per_s": per * procs / wall,
            "lego_cpu_ms_per_cert": lego * 1000 / (per * procs),
            "pebble_cpu_ms_per_cert": (pebble_cpu() - p0) * 1000 /
            (per * procs), "wall_s": wall}


def pebble_ceiling():
    """Pebble's ceiling, found by rising concurrency (BENCH_CEILING_LEVELS
    lego processes sharing BENCH_CEILING_CERTS certificates, at least 2
    each): the best throughput of a level that finished. A level that
    stalls (Pebble 2.4 was seen to at 64) is cut (BENCH_CEILING_TIMEOUT,
    BENCH_BATCH_IDLE) and reported; the search stops there, or after two
    levels in a row below 90% of the best (past the peak)."""
    certs = int(ENV.get("BENCH_CEILING_CERTS", "64"))
    timeout = float(ENV.get("BENCH_CEILING_TIMEOUT", "120"))
    levels = {}
    best, worse = None, 0
    for procs in [int(x) for x in
                  ENV.get("BENCH_CEILING_LEVELS", "1 4 8 16 32 64").split()]:
        per = max(2, certs // procs)
        sys.stderr.write(f"bench: Pebble ceiling, {procs} lego processes x"
                         f" {per}\n")
        try:
            x = lego_level(procs, per, timeout)
        except Stalled as e:
            levels[str(procs)] = {"stalled": str(e), "per_process": per}
            break
        x["per_process"] = per
        levels[str(procs)] = x
        if best is None or x["certs_per_s"] > levels[str(best)]["certs_per_s"]:
            best, worse = procs, 0
        elif x["certs_per_s"] < 0.9 * levels[str(best)]["certs_per_s"]:
            worse += 1
            if worse == 2:
                break
    out = {"levels": levels, "certs": certs, "timeout_s": timeout}
    if best is not None:
        out.update(certs_per_s=levels[str(best)]["certs_per_s"],
                   lego_cpu_ms_per_cert=levels[str(best)][
                       "lego_cpu_ms_per_cert"], processes=best)
    return out


def scenario_batch(res):
    names = int(ENV.get("BENCH_BATCH", "1000"))
    res["batch"] = {"names": names, "runs": {}}
    if shutil.which("lego"):
        res["batch"]["pebble_ceiling"] = pebble_ceiling()
    pars = [int(x) for x in ENV.get("BENCH_PARALLEL", "1 8 64 256").split()]
    sustained = res["batch"].get("pebble_ceiling", {}).get("processes")
    if sustained and sustained not in pars:
        pars.append(sustained)  # byoca at the concurrency Pebble sustains
    for par in sorted(pars):
        # one order at a time is bound by D-POLL's waits, not by CPU: a
        # fortieth of the names is enough to measure it
        n = names if par > 1 else max(names // 40, 10)
        sys.stderr.write(f"bench: batch of {n} at --parallel {par}\n")
        # the 1,000-name runs take a minute or more each: the 20-minute
        # budget of `make bench` allows one of each by default
        reps = ENV.get("BENCH_REPEAT", "1") if par > 1 else \
            ENV.get("BENCH_REPEAT_P1", "3")
        runs = []
        for _ in range(int(reps)):
            try:
                runs.append(batch_once(n, par))
            except Stalled as e:
                res["batch"]["runs"][str(par)] = {"names": n,
                                                  "stalled": str(e)}
                if ENV.get("BENCH_BATCH_PROXY", "1") == "1":
                    # the same once more, with Pebble's deadlocks kept out
                    sys.stderr.write(f"bench: batch at --parallel {par}"
                                     " stalled; again through"
                                     " pebble-proxy\n")
                    try:
                        res["batch"]["runs"][str(par)]["proxied"] = \
                            batch_once(n, par, proxied=True)
                    except Stalled as e2:
                        res["batch"]["runs"][str(par)]["proxied"] = {
                            "stalled": str(e2)}
                break
        if str(par) in res["batch"]["runs"]:
            continue
        res["batch"]["runs"][str(par)] = {
            k: median([r[k] for r in runs if r[k] is not None])
            for k in runs[0]}
        res["batch"]["runs"][str(par)].update(names=n, repeat=len(runs))


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


def daemon_conf(d, parallel, extra=""):
    conf = d + "/byocad.conf"
    http = ("" if extra else
            f"http_listen = 127.0.0.1:{ENV['BENCH_HTTP_PORT']}\n")
    os.makedirs(d, exist_ok=True)
    with open(conf, "w") as f:
        f.write(f"""[byocad]
state_dir = {d}/state
api_listen = unix:{d}/api.sock
{http}resolver = {ENV["BENCH_DNS"]}
allow_net = 127.0.0.0/8
ca_bundle = {ENV["BENCH_CA_BUNDLE"]}
default_ca = {daemon_ca()}
max_parallel = {parallel}
max_parallel_per_ca = {parallel}
tick_ms = 200
retry_base = 5
{extra}""")
    return conf


def proxy_url():
    return f"https://127.0.0.1:{ENV['BENCH_PROXY_PORT']}/dir"


def daemon_ca():
    """The directory byocad uses: through tests/env/daemon_check.py's
    pebble-proxy (BENCH_DAEMON_PROXY=1, the default), which keeps apart
    the requests Pebble 2.4 deadlocks on when dozens of orders are in
    flight (docs/internals/testbed.md), or Pebble itself."""
    if ENV.get("BENCH_DAEMON_PROXY", "1") == "1":
        return proxy_url()
    return ENV["BENCH_DIRECTORY"]


def start_proxy(force=False):
    """Starts the pebble-proxy (for the daemon: unless daemon_ca() is
    Pebble itself, then None)."""
    if not force and daemon_ca() == ENV["BENCH_DIRECTORY"]:
        return None
    upstream = ENV["BENCH_DIRECTORY"].split(":")[2].split("/")[0]
    p = subprocess.Popen(
        [sys.executable, ENV["BENCH_SRC"] + "/tests/env/daemon_check.py",
         "pebble-proxy", ENV["BENCH_PROXY_PORT"], upstream,
         ENV["BENCH_TLS_CERT"], ENV["BENCH_TLS_KEY"], ENV["BENCH_CA_BUNDLE"]],
        stdout=open(ENV["BENCH_DIR"] + "/proxy.log", "a"),
        stderr=subprocess.STDOUT)
    for _ in range(200):
        r = subprocess.run(["curl", "-sf", "--cacert", ENV["BENCH_CA_BUNDLE"],
                            "-o", "/dev/null", proxy_url()])
        if r.returncode == 0:
            return p
        time.sleep(0.05)
    raise SystemExit("bench: pebble-proxy did not start")


def stop_proxy(p):
    if p is not None:
        p.terminate()
        p.wait()


def wait_due(procs, issued, due, label):
    """Waits until issued() reaches due; returns the wall time, or the
    string saying how far it got when BENCH_DAEMON_TIMEOUT ran out or
    nothing was issued for BENCH_DAEMON_IDLE seconds (a stalled CA)."""
    limit = float(ENV.get("BENCH_DAEMON_TIMEOUT", "600"))
    idle = float(ENV.get("BENCH_DAEMON_IDLE", "60"))
    t0 = last = time.monotonic()
    seen = -1
    while True:
        n = issued()
        now = time.monotonic()
        if n >= due:
            return now - t0
        if n != seen:
            seen, last = n, now
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"bench: a byocad of {label} exited")
        if now - t0 > limit or now - last > idle:
            return (f"stalled: {n} of {due} issued after {now - t0:.0f} s"
                    f" (none for {now - last:.0f} s)")
        time.sleep(0.25)


def daemon_result(lineages, due, par, nodes, startup, rss, wall, cpu, hwm,
                  pc, store, fill_s):
    out = {"lineages": lineages, "due": due, "parallel": par,
           "nodes": nodes, "fill_s": fill_s, "store": store,
           "startup_s": startup, "rss_after_start_mib": rss,
           "peak_rss_mib": hwm}
    if isinstance(wall, str):
        out["stalled"] = wall
        return out
    out.update(due_wall_s=wall, certs_per_s=due / wall,
               cpu_ms_per_cert=cpu * 1000 / due,
               pebble_cpu_ms_per_cert=pc * 1000 / due)
    return out


def proxy_cpu(r, proxy, x0, due):
    """Notes the proxy's CPU per certificate in r, and stops the proxy."""
    if proxy is not None:
        r["proxy"] = True
        if "stalled" not in r:
            r["proxy_cpu_ms_per_cert"] = (proc_cpu(proxy.pid) - x0) * 1000 / due
    stop_proxy(proxy)


def scenario_daemon(res):
    lineages = int(ENV.get("BENCH_LINEAGES", "1000000"))
    due = int(ENV.get("BENCH_DUE", "10000"))
    par = int(ENV.get("BENCH_DAEMON_PARALLEL", "32"))
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
    os.unlink(d + "/copy.db")
    fresh_pebble()
    proxy = start_proxy()
    p0 = pebble_cpu()
    x0 = proc_cpu(proxy.pid) if proxy else 0
    p, startup = byocad_start(d, conf)
    rss_start = proc_mem(p.pid, "VmRSS")
    wall = wait_due([p], lambda: issued_since(db, first_due), due, "sqlite")
    cpu = proc_cpu(p.pid)
    hwm = proc_mem(p.pid, "VmHWM")
    byocad_stop(p)
    r = daemon_result(lineages, due, par, 1, startup, rss_start, wall, cpu,
                      hwm, pebble_cpu() - p0, store, fill_s)
    r["backend"] = "sqlite"
    proxy_cpu(r, proxy, x0, due)
    res["daemon"] = r
    if ENV.get("BENCH_PG_BIN"):
        res["daemon_pg"] = {}
        for nodes in [int(x) for x in ENV.get("BENCH_PG_NODES", "1 3").split()]:
            res["daemon_pg"][str(nodes)] = daemon_pg(nodes)


# ---- PostgreSQL: one node and three on one store (issue 9)

def psql(db, sql):
    out = subprocess.run(
        [ENV["BENCH_PG_BIN"] + "/psql", "-X", "-q", "-At", "-v",
         "ON_ERROR_STOP=1", "-h", ENV["BENCH_PG_HOST"], "-p",
         ENV["BENCH_PG_PORT"], "-U", "byoca", "-d", db, "-c", sql],
        stdout=subprocess.PIPE, check=True, text=True,
        env=dict(ENV, PGOPTIONS="-c client_min_messages=warning"))
    return out.stdout.strip()


def pg_url(db):
    return (f"postgresql://byoca@/{db}?host={ENV['BENCH_PG_HOST']}"
            f"&port={ENV['BENCH_PG_PORT']}")


def pg_cpu():
    """CPU of the PostgreSQL server so far: the postmaster, its live
    backends, and the backends it has reaped (cutime/cstime)."""
    pm = ENV["BENCH_PG_PID"]
    with open(f"/proc/{pm}/stat") as f:
        x = f.read().rsplit(")", 1)[1].split()
    total = sum(int(v) for v in x[11:15])
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == pm:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                y = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if y[1] == pm:
            total += int(y[11]) + int(y[12])
    return total / CLK_TCK


def pg_fill(db, tenant, lineages, due):
    """The same synthetic lineages as fill_store, made in the server by
    generate_series (no rows cross the socket)."""
    now = int(time.time())
    psql(db, "INSERT INTO certificates (tenant_id, identifiers, key_type,"
         " ca, state, next_check, created, updated)"
         f" SELECT {tenant}, '[\"s' || g || '.bench.test\"]', 'ec256',"
         f" 'auto', 1, {now + 30 * 86400} + g % 86400, {now}, {now}"
         f" FROM generate_series(0, {lineages - 1}) g")
    first_due = int(psql(db, "SELECT coalesce(max(id), 0) FROM certificates"))
    psql(db, "INSERT INTO certificates (tenant_id, identifiers, key_type,"
         " ca, state, next_check, created, updated)"
         f" SELECT {tenant}, '[\"r' || g || '.bench.test\"]', 'ec256',"
         f" 'auto', 0, {now - 1}, {now}, {now}"
         f" FROM generate_series(0, {due - 1}) g")
    psql(db, "ANALYZE certificates")
    return first_due


def daemon_pg(nodes):
    lineages = int(ENV.get("BENCH_PG_LINEAGES",
                           ENV.get("BENCH_LINEAGES", "1000000")))
    due = int(ENV.get("BENCH_PG_DUE", "1000"))
    par = int(ENV.get("BENCH_DAEMON_PARALLEL", "32"))
    db = f"byocad_n{nodes}"
    psql("postgres", f"DROP DATABASE IF EXISTS {db}")
    psql("postgres", f"CREATE DATABASE {db}")
    d = scratch(f"daemon-pg{nodes}")
    master = d + "/master.key"

    def conf(i):
        return daemon_conf(f"{d}/node{i}", par,
                           f"node_id = node{i}\nstore = {pg_url(db)}\n"
                           f"master_key_file = {master}\n")
    confs = [conf(i) for i in range(1, nodes + 1)]
    n1 = d + "/node1"
    subprocess.run([ENV["BENCH_BYOCAD"], "init", "-c", confs[0],
                    "--token-file", n1 + "/op.token"], check=True,
                   stdout=subprocess.DEVNULL)
    with open(n1 + "/op.token") as f, open(n1 + "/auth.hdr", "w") as h:
        h.write("Authorization: Bearer " + f.read().strip() + "\n")
    p, _ = byocad_start(n1, confs[0])
    tenant = api(n1, "POST", "/v1/tenants", '{"name": "bench"}')["id"]
    byocad_stop(p)
    sys.stderr.write(f"bench: daemon on PostgreSQL, {nodes} node(s),"
                     f" {lineages} lineages + {due} due\n")
    t0 = time.monotonic()
    first_due = pg_fill(db, tenant, lineages, due)
    fill_s = time.monotonic() - t0
    # the due-set selection on a copy (the claims set leases)
    psql("postgres", f"CREATE DATABASE {db}_copy TEMPLATE {db}")
    out = subprocess.run([ENV["BENCH_STORE"], pg_url(db + "_copy"), master],
                         stdout=subprocess.PIPE, check=True)
    store = json.loads(out.stdout)
    psql("postgres", f"DROP DATABASE {db}_copy")
    fresh_pebble()
    proxy = start_proxy()
    x0 = proc_cpu(proxy.pid) if proxy else 0
    p0, g0 = pebble_cpu(), pg_cpu()
    procs, startups = [], []
    for i, c in enumerate(confs, 1):
        p, su = byocad_start(f"{d}/node{i}", c)
        procs.append(p)
        startups.append(su)
    rss = max(proc_mem(p.pid, "VmRSS") for p in procs)

    def issued():
        return int(psql(db, "SELECT count(*) FROM certificates WHERE"
                        f" id > {first_due} AND state = 1"))
    wall = wait_due(procs, issued, due, f"{nodes} node(s)")
    cpu = sum(proc_cpu(p.pid) for p in procs)
    hwm = max(proc_mem(p.pid, "VmHWM") for p in procs)
    for p in procs:
        byocad_stop(p)
    r = daemon_result(lineages, due, par, nodes, max(startups), rss, wall,
                      cpu, hwm, pebble_cpu() - p0, store, fill_s)
    r["backend"] = "postgresql"
    if "stalled" not in r:
        r["pg_cpu_ms_per_cert"] = (pg_cpu() - g0) * 1000 / due
    proxy_cpu(r, proxy, x0, due)
    psql("postgres", f"DROP DATABASE {db}")
    return r


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


def start_unbound(d):
    """unbound on loopback as a caching resolver in front of challtestsrv
    (everything forwarded to it, no DNSSEC validation, cached for an hour
    whatever TTL challtestsrv gives): byoca's view of a warm resolver."""
    port = ENV["BENCH_UNBOUND_PORT"]
    conf = d + "/unbound.conf"
    with open(conf, "w") as f:
        f.write(f"""server:
  interface: 127.0.0.1
  port: {port}
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 0
  username: ""
  chroot: ""
  directory: "{d}"
  pidfile: "{d}/unbound.pid"
  num-threads: 1
  module-config: "iterator"
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  qname-minimisation: no
  cache-min-ttl: 3600
  msg-cache-size: 64m
  rrset-cache-size: 128m
  domain-insecure: "."
  # unbound answers test. itself (RFC 6761, NXDOMAIN) unless told not to
  local-zone: "test." nodefault
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: {ENV["BENCH_DNS"]}
""")
    p = subprocess.Popen(["unbound", "-d", "-c", conf],
                         stdout=open(d + "/unbound.log", "w"),
                         stderr=subprocess.STDOUT)
    for _ in range(100):
        r = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p",
                            port, "@127.0.0.1", "CAA", "ready.disc.test"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return p
        if p.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit("bench: unbound did not start; see " + d)


def discover_pass(names, resolver, per):
    base = [ENV["BENCH_BYOCA"], "discover", "--no-directory", "--json",
            "--resolver", resolver]
    w1, c1, r1 = 0.0, 0.0, 0.0

    def found_all(n):
        def check(out):
            # a resolver answering from elsewhere (unbound's built-in
            # local zone for test., say) would be fast and meaningless
            got = out.count('"relevant_domain": "')
            if got != n:
                raise SystemExit(f"bench: discover via {resolver} found the"
                                 f" CAA records of {got} of {n} names")
        return check
    for i in range(0, len(names), per):  # discover takes 1 to 1000 names
        part = names[i:i + per]
        w, c, r = run(base + part, label="byoca discover",
                      check=found_all(len(part)))
        w1, c1, r1 = w1 + w, c1 + c, max(r1, r)
    return {"names_per_s": len(names) / w1,
            "cpu_ms_per_name": c1 * 1000 / len(names), "rss_mib": r1}


def scenario_discover(res):
    """CAA lookups and discovery for many distinct names (1,000 per
    process, discover's limit; and 100 per process): straight to
    challtestsrv (no cache anywhere), then through unbound twice: cold
    (its cache empty) and warm (the same names again)."""
    n = int(ENV.get("BENCH_DISCOVER", "10000"))
    names = [f"d{i}.disc.test" for i in range(n)]
    sys.stderr.write(f"bench: discover, {n} names\n")
    add_caa(names)
    out = {"names": n}
    reps = int(ENV.get("BENCH_DISCOVER_REPEAT", "3"))

    def med(runs):
        return {k: median([r[k] for r in runs]) for k in runs[0]}
    out["direct"] = med([discover_pass(names, ENV["BENCH_DNS"], 1000)
                         for _ in range(reps)])
    out["direct_per_100"] = discover_pass(names, ENV["BENCH_DNS"], 100)
    if shutil.which("unbound") and ENV.get("BENCH_UNBOUND_PORT"):
        via = "127.0.0.1@" + ENV["BENCH_UNBOUND_PORT"]
        cold, warm = [], []
        for _ in range(reps):  # a fresh unbound each time: an empty cache
            d = scratch("unbound")
            u = start_unbound(d)
            try:
                cold.append(discover_pass(names, via, 1000))
                warm.append(discover_pass(names, via, 1000))
            finally:
                u.terminate()
                u.wait()
        out["unbound_cold"], out["unbound_warm"] = med(cold), med(warm)
    out["repeat"] = reps
    res["discover"] = out


SCENARIOS = {"seq": scenario_seq, "seqreal": scenario_seqreal,
             "batch": scenario_batch,
             "floor": scenario_floor, "daemon": scenario_daemon,
             "discover": scenario_discover}


def main():
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res = {"date": now, "machine": machine(), "versions": versions(),
           "note": ENV.get("BENCH_NOTE", "")}
    update = ENV.get("BENCH_UPDATE") == "1"  # run.sh checked latest.json
    if update:
        # re-measure the scenarios named, keep the others of the last run;
        # the report dates each re-measured scenario
        with open(ENV["BENCH_OUT"]) as f:
            old = json.load(f)
        old.setdefault("updated", {})
        old["versions"] = res["versions"]
        old["note"] = "; ".join(n for n in (old.get("note"), res["note"])
                                if n)
        res = old
    t_all = time.monotonic()
    res.setdefault("scenario_s", {})
    for s in sys.argv[1:]:
        t0 = time.monotonic()
        SCENARIOS[s](res)
        res["scenario_s"][s] = time.monotonic() - t0
        if update:
            res["updated"][s] = now
        else:
            res["elapsed_s"] = time.monotonic() - t_all
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
