"""Drive the official Data Export iterator client (PyPI `netskopesdk` 0.0.41), unmodified, over HTTPS.

Inputs (environment): SIM_HTTPS, SIM_HTTPS_LIMITED (host:port of a simulator limited to 2 requests/s),
SIM_CA (PEM path, given to `requests` as REQUESTS_CA_BUNDLE), SIM_TOKEN, SIM_NOEXPORT_TOKEN (no
dataexport privilege), SIM_EXPECTED (JSON file with the malware alerts the simulator serves, in order),
SIM_PAGE_SIZE and SIM_WAIT_TIME (simulator settings).
"""

import json
import os
import sys
import time

os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SIM_CA"]

from netskope_api.iterator.const import Const  # noqa: E402
from netskope_api.iterator.netskope_iterator import NetskopeIterator  # noqa: E402

EXPECTED = json.load(open(os.environ["SIM_EXPECTED"]))
PAGE = int(os.environ["SIM_PAGE_SIZE"])
WAIT = int(os.environ["SIM_WAIT_TIME"])


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def iterator(name, host=None, token=None, alert_type=Const.ALERT_TYPE_MALWARE):
    it = NetskopeIterator({
        Const.NSKP_TOKEN: token or os.environ["SIM_TOKEN"],
        Const.NSKP_TENANT_HOSTNAME: host or os.environ["SIM_HTTPS"],
        Const.NSKP_ITERATOR_NAME: name,
        Const.NSKP_EVENT_TYPE: Const.EVENT_TYPE_ALERT,
        Const.NSKP_ALERT_TYPE: alert_type,
    })
    it.client.TOKEN_ERROR_WAIT_TIME = 0  # the client sleeps 30 s on every 401/403 otherwise
    return it


def body(res):
    if res.status_code != 200:
        sys.exit(f"FAIL: HTTP {res.status_code}: {res.text}")
    data = res.json()
    if data.get("ok") != 1:
        sys.exit(f"FAIL: ok != 1: {data}")
    return data


def ids(data):
    return [a["_id"] for a in data["result"]]


# head, then next: page through everything, as the README loop does (wait_time is what the caller sleeps).
# The tenant sends nothing to `next` until the index is positioned, so the first call is head.
it = iterator("ce tenant_malware")  # a raw name with a space: the client does not URL-encode it
seen, pages = [], []
for i in range(len(EXPECTED) // PAGE + 3):
    data = body(it.head() if i == 0 else it.next())
    pages.append(data)
    seen.extend(data["result"])
    if not data["result"]:
        break
check([a["_id"] for a in seen] == [a["_id"] for a in EXPECTED], "next returns every alert once, in order")
check(all(p["wait_time"] == 0 for p in pages if len(p["result"]) == PAGE), "wait_time 0 while data is backlogged")
check(pages[-1]["wait_time"] == WAIT, "wait_time set once caught up")
check(pages[0]["timestamp_hwm"] == EXPECTED[PAGE - 1]["timestamp"], "timestamp_hwm is the chunk's last timestamp")
check(pages[-1]["timestamp_hwm"] >= int(time.time()) - 60, "timestamp_hwm reaches now when caught up")

# resend: the previous chunk again, cursor unchanged.
it2 = iterator("resend_it")
first = body(it2.head())
again = body(it2.resend())
check(ids(first) == ids(again) and ids(first) == [a["_id"] for a in EXPECTED[:PAGE]], "head then resend repeat chunk 1")
second = body(it2.next())
check(ids(second) == [a["_id"] for a in EXPECTED[PAGE:2 * PAGE]], "next after resend continues with chunk 2")

# epoch: positioned as if everything before the timestamp had been sent.
pivot = EXPECTED[len(EXPECTED) // 2]["timestamp"]
it3 = iterator("epoch_it")
got = list(body(it3.download(pivot))["result"])
for _ in range(len(EXPECTED)):
    page = body(it3.next())["result"]
    if not page:
        break
    got.extend(page)
want = [a["_id"] for a in EXPECTED if a["timestamp"] >= pivot]
check([a["_id"] for a in got] == want, "download(epoch) then next yields exactly the alerts at or after epoch")

# malsite iterator is separate.
ms = body(iterator("ce tenant_malware", alert_type=Const.ALERT_TYPE_MALSITE).head())
check(all(a["alert_type"] == "malsite" for a in ms["result"]) and ms["result"], "malsite endpoint serves malsites")

# Auth: the client returns the response; 401 for a wrong token, 403 without the dataexport privilege.
check(iterator("x", token="wrong").next().status_code == 401, "wrong token gets 401")
check(iterator("x", token=os.environ["SIM_NOEXPORT_TOKEN"]).next().status_code == 403, "missing privilege gets 403")

# Rate limit: the client sleeps ratelimit-reset when ratelimit-remaining hits 0, so it never sees a 429.
limited = iterator("rl", host=os.environ["SIM_HTTPS_LIMITED"])
t0 = time.monotonic()
statuses, remaining = [], []
for i in range(5):
    res = limited.head() if i == 0 else limited.next()
    statuses.append(res.status_code)
    remaining.append(res.headers.get("ratelimit-remaining"))
elapsed = time.monotonic() - t0
check(statuses == [200] * 5, f"rate-limited simulator: all 200 because the client honours the headers ({remaining})")
check(elapsed >= 1.0, f"client slept on ratelimit-remaining 0 ({elapsed:.2f}s)")
check(all(r is not None for r in remaining), "ratelimit-remaining sent on 200s")
print("sdk conformance passed")
