#!/usr/bin/env python3
"""Call warm serve's /get_reward the way OpenRLHF's trainer does
(openrlhf/utils/remote_rm_utils.py: one POST per rollout, JSON
{"query": [...], "prompts": [...], "labels": [...]}, read "scores" and fall
back to "rewards", shard over a comma-separated list of URLs), standard
library only. Prints one reward a line, in the order of the queries read
from a JSON file (a list of strings).

    openrlhf_client.py URL[,URL...] queries.json [TOKEN]
"""
import json
import sys
import urllib.request


def request_api_wrapper(url, data, token=None):
    body = json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as resp:
        response = json.loads(resp.read())
    return response


def remote_rm_fn(urls, queries, token=None):
    out = []
    for i, q in enumerate(queries):
        url = urls[i % len(urls)]  # rollouts sharded over the servers
        r = request_api_wrapper(url, {"query": [q], "prompts": [q[: len(q) // 2]], "labels": [""]}, token)
        scores = r.get("scores", r.get("rewards"))
        out.append(scores[0])
    return out


if __name__ == "__main__":
    urls = [u.rstrip("/") + "/get_reward" for u in sys.argv[1].split(",")]
    queries = json.load(open(sys.argv[2]))
    token = sys.argv[3] if len(sys.argv) > 3 else None
    for r in remote_rm_fn(urls, queries, token):
        print(repr(float(r)))
