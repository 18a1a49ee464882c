"""Issue 23: the places where netskope-sim disagreed with the real tenant, as Netskope's official clients see them.

Drives, unmodified:
- the CLI (PyPI `netskope` 1.5.1) over HTTPS, and its client class over plain HTTP (reference §11.2);
- the REST SDK (PyPI `netskope-py-sdk` 1.0.3) over plain HTTP, its httpx base URL repointed (§11.1);
- the Data Export iterator (PyPI `netskopesdk` 0.0.41) over plain HTTP, its base URL repointed (§11.3 A).

Inputs (environment): SIM_HTTP and SIM_HTTPS (host:port), SIM_CA (PEM path to trust), SIM_TOKEN (full token),
SIM_WORK (scratch directory), SIM_EXPECTED (JSON file with the malware alerts the simulator serves, in order),
SIM_PAGE_SIZE and SIM_WAIT_TIME (simulator settings). Faults are armed with the simulator's POST /__sim/faults.
Prints one "ok: [item] ..." line per check; exits non-zero with a message on the first failure.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

from netskope import NetskopeClient as SdkClient
from netskope.exceptions import APIError, NotFoundError, RateLimitError
from netskope_api.iterator.const import Const
from netskope_api.iterator.netskope_iterator import NetskopeIterator
from netskope_cli.core.client import NetskopeClient as CliClient

CLI = os.path.join(os.path.dirname(sys.executable), "netskope")
HTTP = os.environ["SIM_HTTP"]
TOKEN = os.environ["SIM_TOKEN"]
WORK = os.environ["SIM_WORK"]
EXPECTED = [a["_id"] for a in json.load(open(os.environ["SIM_EXPECTED"]))]
PAGE = int(os.environ["SIM_PAGE_SIZE"])
WAIT = int(os.environ["SIM_WAIT_TIME"])
LISTS = "/api/v2/policy/urllist"


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def words(text):
    """The text with its line wrapping undone (the CLI's console wraps long messages)."""
    return " ".join(text.split())


# --- the simulator's inspection endpoints (test infrastructure, not the tenant API) ---

def sim(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{HTTP}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as res:
        text = res.read()
    return json.loads(text) if text else None


def arm(fault):
    sim("POST", "/__sim/faults", fault)


def statuses_after(action):
    """Runs `action` with a fresh request log; returns its result, the statuses answered and the seconds taken."""
    sim("DELETE", "/__sim/requests")
    started = time.monotonic()
    result = action()
    elapsed = time.monotonic() - started
    return result, [r["status"] for r in sim("GET", "/__sim/requests")], elapsed


# --- the official clients ---

def cli(args, expect=0):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETSKOPE_", "REQUESTS_CA", "SSL_CERT", "CURL_CA"))}
    env.update(
        NETSKOPE_TENANT=os.environ["SIM_HTTPS"],
        NETSKOPE_API_TOKEN=TOKEN,
        NETSKOPE_CA_BUNDLE=os.environ["SIM_CA"],
        NETSKOPE_NO_UPDATE_CHECK="1",
        XDG_CONFIG_HOME=os.path.join(WORK, "config"),
        XDG_CACHE_HOME=os.path.join(WORK, "cache"),
        XDG_DATA_HOME=os.path.join(WORK, "data"),
        NO_COLOR="1",
        COLUMNS="200",
    )
    proc = subprocess.run([CLI, "-o", "json", *args], env=env, capture_output=True, text=True, timeout=60)
    if proc.returncode != expect:
        sys.exit(f"FAIL: netskope {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def cli_json(args):
    proc = cli(args)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        sys.exit(f"FAIL: not JSON on stdout: {proc.stdout!r}\nstderr: {proc.stderr}")


def cli_request(method, path, json_data=None, max_retries=0):
    """One call through the CLI's own client class, which closes itself after each request."""
    return CliClient(f"http://{HTTP}", api_token=TOKEN, max_retries=max_retries).request(
        method, path, json_data=json_data)


def sdk(max_retries=0):
    client = SdkClient(tenant="sim.goskope.com", api_token=TOKEN, max_retries=max_retries, backoff_factor=0.01)
    client._transport._client.base_url = f"http://{HTTP}"  # the documented workaround (reference §11.1)
    return client


def iterator(name):
    it = NetskopeIterator({
        Const.NSKP_TOKEN: TOKEN,
        Const.NSKP_TENANT_HOSTNAME: HTTP,
        Const.NSKP_ITERATOR_NAME: name,
        Const.NSKP_EVENT_TYPE: Const.EVENT_TYPE_ALERT,
        Const.NSKP_ALERT_TYPE: Const.ALERT_TYPE_MALWARE,
    })
    it.client.configs["base_url"] = f"http://{HTTP}"
    return it


def page(res):
    if res.status_code != 200:
        sys.exit(f"FAIL: HTTP {res.status_code}: {res.text}")
    data = res.json()
    if data.get("ok") != 1:
        sys.exit(f"FAIL: ok != 1: {data}")
    return data


def ids(data):
    return [a["_id"] for a in data["result"]]


# [1] modify_type is "Edited" once a list has been modified, deployed or not.
created = cli_json(["policy", "url-list", "create", "issue23", "--urls", "a.example.com", "--type", "exact"])
record = created[0] if isinstance(created, list) else created
check(record["modify_type"] == "Created", "[1] create answers modify_type Created")
list_id = record["id"]
renamed = cli_json(["policy", "url-list", "update", str(list_id), "--name", "issue23_renamed"])
check(renamed["name"] == "issue23_renamed" and renamed["modify_type"] == "Edited" and renamed["pending"] == 1,
      f"[1] CLI update by name (GET, then PUT) answers modify_type Edited: {renamed['modify_type']}")
appended = cli_request("PATCH", f"{LISTS}/{list_id}/append",
                       {"data": {"urls": ["b.example.com"], "type": "exact"}})
check(appended["modify_type"] == "Edited" and appended["data"]["urls"] == ["a.example.com", "b.example.com"],
      f"[1] PATCH .../append answers modify_type Edited: {appended['modify_type']}")
deployed = cli_request("POST", f"{LISTS}/deploy")
check([(r["id"], r["modify_type"], r["pending"]) for r in deployed] == [(list_id, "Edited", 0)],
      f"[1] deploy applies it and keeps modify_type Edited: {deployed}")

# [2] The 404 for an unknown id names it the tenant's way; both clients show the text.
proc = cli(["policy", "url-list", "get", "999"], expect=5)
check("URL list with id 999 not found" in words(proc.stderr + proc.stdout),
      f"[2] CLI get 999 exits 5 and shows the tenant's text: {words(proc.stderr)}")
try:
    sdk().url_lists.get(999)
    sys.exit("FAIL: SDK get(999) did not raise")
except NotFoundError as err:
    check(err.body["message"] == "URL list with id 999 not found" and "URL list with id 999 not found" in str(err),
          f"[2] SDK get(999) raises NotFoundError with the tenant's text: {err}")

# [3] The SDK's flat body (no "data") is refused as a body without data.urls.
try:
    sdk().url_lists.create("issue23_flat", ["c.example.com"])
    sys.exit("FAIL: SDK create with the flat body did not raise")
except APIError as err:
    check(err.status_code == 400 and err.body["message"] == "urls must be an array of URLs",
          f"[3] SDK create (flat body) gets 400 urls must be an array of URLs: {err}")
try:
    sdk().url_lists.update(list_id, name="issue23_flat", urls=["c.example.com"])
    sys.exit("FAIL: SDK update with the flat body did not raise")
except APIError as err:
    check(err.status_code == 400 and err.body["message"] == "urls must be an array of URLs",
          f"[3] SDK update (flat body) gets the same 400: {err}")
names = [r["name"] for r in cli_request("GET", LISTS)]
check(names == ["issue23_renamed"], f"[3] nothing was created or renamed: {names}")

# [4] next is an empty page until the index is positioned; tail is the newest page.
fresh = iterator("issue23 fresh")  # a raw name with a space: the client does not URL-encode it
for op in (fresh.next, fresh.next, fresh.resend):
    data = page(op())
    check(data["result"] == [] and data["wait_time"] == WAIT,
          f"[4] {op.__name__} on a never positioned index: ok 1, empty, wait_time {data['wait_time']}")
check(ids(page(fresh.head())) == EXPECTED[:PAGE], "[4] head positions it and sends the first page")
check(ids(page(fresh.next())) == EXPECTED[PAGE:2 * PAGE], "[4] next then continues")
tail = iterator("issue23_tail")
newest = page(tail.tail())
check(ids(newest) == EXPECTED[-PAGE:] and newest["wait_time"] == WAIT,
      f"[4] tail sends the newest page ({len(newest['result'])} alerts)")
check(page(tail.next())["result"] == [], "[4] next after tail: nothing newer")

# [5] Injected 429s carry Retry-After, ratelimit-remaining: 0 and ratelimit-reset, and the clients wait them.
arm({"kind": "fail", "status": 429, "count": 1, "retry_after": 2, "path_prefix": LISTS})
got, statuses, elapsed = statuses_after(lambda: sdk(max_retries=2).url_lists.get(list_id))
check(statuses == [429, 200] and got.urls == ["a.example.com", "b.example.com"] and elapsed >= 2.0,
      f"[5] SDK waits Retry-After 2 s on a 429 (its backoff is 0.01 s) and succeeds: {statuses}, {elapsed:.2f}s")
arm({"kind": "fail", "status": 429, "count": 1, "retry_after": 7, "path_prefix": LISTS})
try:
    sdk().url_lists.get(list_id)
    sys.exit("FAIL: SDK get did not raise on a 429 without retries")
except RateLimitError as err:
    check(err.retry_after == 7.0, f"[5] SDK RateLimitError.retry_after comes from Retry-After: {err.retry_after}")
arm({"kind": "fail", "status": 429, "count": 1, "retry_after": 2, "path_prefix": LISTS})
_, statuses, elapsed = statuses_after(lambda: cli_request("GET", LISTS, max_retries=3))
check(statuses == [429, 200] and elapsed >= 2.0,
      f"[5] CLI client waits Retry-After 2 s on a 429 (its backoff is 1 s) and succeeds: {statuses}, {elapsed:.2f}s")
arm({"kind": "fail", "status": 429, "count": 1, "retry_after": 1, "path_prefix": LISTS})
_, statuses, _ = statuses_after(lambda: cli(["policy", "url-list", "list"]))
check(statuses == [429, 200], f"[5] CLI url-list list goes through a 429: {statuses}")
arm({"kind": "fail", "status": 429, "count": 1, "retry_after": 1, "path_prefix": "/api/v2/events/dataexport"})
res, statuses, elapsed = statuses_after(tail.next)
check(res.status_code == 429 and res.headers.get("ratelimit-remaining") == "0" and elapsed >= 1.0,
      f"[5] iterator sleeps ratelimit-reset 1 s before returning the 429: {elapsed:.2f}s")
check(page(tail.resend())["result"] == [], "[5] iterator goes on after the 429")
check(sim("GET", "/__sim/faults") == [], "[5] every armed fault was met")
print("issue 23 conformance passed")
