"""Drive the official Netskope CLI (PyPI `netskope` 1.5.x), unmodified, against the simulator's HTTPS port.

Inputs (environment): SIM_HTTPS (host:port), SIM_CA (PEM path to trust), SIM_TOKEN (full token),
SIM_RO_TOKEN (Read-only on /api/v2/policy/urllist), SIM_WORK (scratch directory).
Prints one "ok: ..." line per check; exits non-zero with a message on the first failure.
"""

import json
import os
import subprocess
import sys

CLI = os.path.join(os.path.dirname(sys.executable), "netskope")
WORK = os.environ["SIM_WORK"]


def clean_env(token):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETSKOPE_", "REQUESTS_CA", "SSL_CERT", "CURL_CA"))}
    env.update(
        NETSKOPE_TENANT=os.environ["SIM_HTTPS"],
        NETSKOPE_API_TOKEN=token,
        NETSKOPE_CA_BUNDLE=os.environ["SIM_CA"],
        NETSKOPE_NO_UPDATE_CHECK="1",
        XDG_CONFIG_HOME=os.path.join(WORK, "config"),
        XDG_CACHE_HOME=os.path.join(WORK, "cache"),
        XDG_DATA_HOME=os.path.join(WORK, "data"),
        NO_COLOR="1",
    )
    return env


def cli(args, token=None, expect=0, extra_env=None):
    env = clean_env(token or os.environ["SIM_TOKEN"])
    env.update(extra_env or {})
    proc = subprocess.run([CLI, "-o", "json", *args], env=env, capture_output=True, text=True, timeout=60)
    if proc.returncode != expect:
        sys.exit(f"FAIL: netskope {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def as_json(proc):
    try:
        return json.loads(proc.stdout)
    except ValueError:
        sys.exit(f"FAIL: not JSON on stdout: {proc.stdout!r}\nstderr: {proc.stderr}")


created = as_json(cli(["policy", "url-list", "create", "ce-iocs", "--urls", "bad.example.com,evil.example.org",
                       "--type", "exact"]))
record = created[0] if isinstance(created, list) else created
check(record["name"] == "ce-iocs" and record["data"]["urls"] == ["bad.example.com", "evil.example.org"],
      "create prints the created record")
check(record["pending"] == 1 and record["modify_type"] == "Created", "created list is pending")
list_id = record["id"]

listed = as_json(cli(["policy", "url-list", "list"]))
check(isinstance(listed, list) and [r["name"] for r in listed] == ["ce-iocs"], "list prints the bare array")

got = as_json(cli(["policy", "url-list", "get", str(list_id)]))
check(got["id"] == list_id and got["data"]["type"] == "exact", "get prints the bare record")

updated = as_json(cli(["policy", "url-list", "update", str(list_id), "--urls", "x.example.com,y.example.com"]))
check(updated["data"]["urls"] == ["x.example.com", "y.example.com"] and updated["name"] == "ce-iocs",
      "update (GET then full PUT) replaces the URLs and keeps the name")

deleted = as_json(cli(["policy", "url-list", "delete", str(list_id), "--yes"]))
check(deleted["modify_type"] == "Deleted" and deleted["pending"] == 1, "delete answers the record, pending")
still = as_json(cli(["policy", "url-list", "list"]))
check([r["modify_type"] for r in still] == ["Deleted"], "deleted list stays listed until deploy")

proc = cli(["policy", "url-list", "get", "999"], expect=5)
check("not found" in proc.stderr.lower() or "not found" in proc.stdout.lower(), "get of a missing list exits 5")
cli(["policy", "url-list", "list"], token="not-a-token", expect=3)
print("ok: wrong token exits 3")
cli(["policy", "url-list", "create", "nope", "--urls", "a.example.com"], token=os.environ["SIM_RO_TOKEN"], expect=4)
print("ok: read-only token exits 4 on create")
cli(["policy", "url-list", "list"], token=os.environ["SIM_RO_TOKEN"])
print("ok: read-only token may list")
# A rejected entry answers 400 with `message` as [[value, reason], ...] (the shape CE's plugin reads). The released
# CLI expects a string there (it calls .lower() on it), so it reports an error and exits 1 instead of naming the value.
bad = cli(["policy", "url-list", "create", "bad", "--urls", "bad host.example.com"], expect=1)
check("error" in bad.stderr.lower(), "rejected entry makes the CLI exit 1")
names = [r["name"] for r in as_json(cli(["policy", "url-list", "list"]))]
check("bad" not in names, "nothing was created for the rejected push")
# The released CLI deploys on /api/v2/policy/deploy, which the real tenant does not have (reference §2.1).
cli(["policy", "deploy", "--yes"], expect=5)
print("ok: legacy deploy path exits 5")

# `config test` builds its client without the CA bundle, so it needs SSL_CERT_FILE (reference §11.2).
proc = subprocess.run([CLI, "config", "test"], capture_output=True, text=True, timeout=60,
                      env={**clean_env(os.environ["SIM_TOKEN"]), "SSL_CERT_FILE": os.environ["SIM_CA"]})
said = (proc.stdout + proc.stderr).strip()
check(proc.returncode == 0 and "Successfully connected" in said, f"config test connects (audit probe): {said}")
print("cli conformance passed")
