#!/usr/bin/env python3
"""MLflow REST API client of bench/mlflow-compat.sh (Python 3 standard library only).

The same HTTP calls go to both servers: modelctl's MLflow-compatible API and a real `mlflow server`. Requests carry
`Authorization: Bearer $BENCH_TOKEN` when BENCH_TOKEN is set (bench/lib.sh exports it); MLflow ignores the header.

Subcommands:
  seed URL MODELS VERSIONS       create a run in experiment 0, upload its model artifacts (MLmodel and a 4 KiB
                                 model.onnx) through /api/2.0/mlflow-artifacts, the registered model `resnet` with
                                 tags, VERSIONS versions of it (tags on each), aliases `champion` -> 7 and
                                 `challenger` -> VERSIONS, MODELS other registered models `model-00`... with one
                                 version each, and the empty registered model `resnet-writes` that the write benchmark
                                 fills. Prints JSON: run_id, source, request count, seconds.
  check NAME FILE                check the JSON answer FILE of the measured request NAME (alias, get, search,
                                 search-models, create): exits non-zero with a message when it is not what the seed
                                 data implies
  count URL MODEL                number of versions of MODEL and the highest version number, as JSON (pages through
                                 GET /api/2.0/mlflow/model-versions/search)
  compare NAME MODELCTL MLFLOW   compare the JSON answers of both servers to the request NAME: prints the fields that
                                 one has and the other has not, or whose JSON types or values differ (values that
                                 differ by nature, timestamps, run ids, sources and page tokens, are left out)
"""

import http.client
import json
import os
import re
import sys
import time
import urllib.parse

WRITE_MODEL = "resnet-writes"
ALIAS_VERSION = "7"


class Client:
    def __init__(self, url):
        target = urllib.parse.urlsplit(url)
        self.host, self.port = target.hostname, target.port
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        token = os.environ.get("BENCH_TOKEN", "").strip()
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.requests = 0

    def call(self, method, path, body=None, raw=None, expect=(200,)):
        headers = dict(self.auth)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            payload = raw
            headers["Content-Type"] = "application/octet-stream"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # A server may close an idle keep-alive connection: one new connection, once.
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        self.requests += 1
        if response.status not in expect:
            sys.exit(f"{method} {path} answered {response.status}: {data[:500].decode(errors='replace')}")
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            sys.exit(f"{method} {path} answered {response.status} with a body that is not JSON: {data[:200]!r}")


def cmd_seed(args):
    url, models, versions = args[0], int(args[1]), int(args[2])
    if versions < int(ALIAS_VERSION):
        sys.exit(f"seed: at least {ALIAS_VERSION} versions (the alias champion points to version {ALIAS_VERSION})")
    client = Client(url)
    start = time.monotonic()
    run = client.call("POST", "/api/2.0/mlflow/runs/create",
                      {"experiment_id": "0", "run_name": "bench-seed", "start_time": 1700000000000,
                       "tags": [{"key": "purpose", "value": "benchmark"}]})
    run_id = run["run"]["info"]["run_id"]
    mlmodel = (f"artifact_path: model\nflavors:\n  onnx:\n    onnx_version: 1.16.0\n    data: model.onnx\n"
               f"model_uuid: 0f0e0d0c0b0a09080706050403020100\nrun_id: {run_id}\n"
               f"utc_time_created: '2023-11-14 22:13:20.000000'\n").encode()
    weights = bytes((i * 7919) % 251 for i in range(4096))
    base = f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/model"
    client.call("PUT", f"{base}/MLmodel", raw=mlmodel)
    client.call("PUT", f"{base}/model.onnx", raw=weights)
    source = f"mlflow-artifacts:/0/{run_id}/artifacts/model"

    client.call("POST", "/api/2.0/mlflow/registered-models/create",
                {"name": "resnet", "description": "ResNet-50 image classifier",
                 "tags": [{"key": "team", "value": "vision"}, {"key": "task", "value": "classification"}]})
    for number in range(1, versions + 1):
        answer = client.call("POST", "/api/2.0/mlflow/model-versions/create",
                             {"name": "resnet", "source": source, "run_id": run_id,
                              "description": f"epoch {number * 10}",
                              "tags": [{"key": "epoch", "value": str(number * 10)},
                                       {"key": "dataset", "value": "imagenet-1k"}]})
        got = answer["model_version"]["version"]
        if str(got) != str(number):
            sys.exit(f"seed: version {number} of resnet was created as version {got!r}")
    client.call("POST", "/api/2.0/mlflow/registered-models/alias",
                {"name": "resnet", "alias": "champion", "version": ALIAS_VERSION})
    client.call("POST", "/api/2.0/mlflow/registered-models/alias",
                {"name": "resnet", "alias": "challenger", "version": str(versions)})
    client.call("POST", "/api/2.0/mlflow/model-versions/set-tag",
                {"name": "resnet", "version": ALIAS_VERSION, "key": "validated", "value": "true"})
    client.call("POST", "/api/2.0/mlflow/registered-models/set-tag",
                {"name": "resnet", "key": "owner", "value": "ml-platform"})

    for index in range(models):
        name = f"model-{index:02d}"
        client.call("POST", "/api/2.0/mlflow/registered-models/create",
                    {"name": name, "description": f"model number {index}",
                     "tags": [{"key": "team", "value": "team-" + str(index % 5)}]})
        client.call("POST", "/api/2.0/mlflow/model-versions/create",
                    {"name": name, "source": source, "run_id": run_id})

    client.call("POST", "/api/2.0/mlflow/registered-models/create",
                {"name": WRITE_MODEL, "description": "filled by the write benchmark"})
    print(json.dumps({"run_id": run_id, "source": source, "requests": client.requests,
                      "seconds": round(time.monotonic() - start, 3)}))


def fail(message):
    sys.exit(f"check: {message}")


def cmd_check(args):
    name, path = args
    with open(path) as handle:
        try:
            answer = json.load(handle)
        except ValueError:
            fail(f"{name}: the answer is not JSON")
    if name in ("alias", "get", "create"):
        version = answer.get("model_version")
        if not isinstance(version, dict):
            fail(f"{name}: no model_version object in {answer}")
        expected = {"alias": ("resnet", ALIAS_VERSION), "get": ("resnet", ALIAS_VERSION)}.get(name)
        if expected and (version.get("name"), str(version.get("version"))) != expected:
            fail(f"{name}: expected {expected[0]} version {expected[1]}, got {version.get('name')} "
                 f"version {version.get('version')}")
        if name == "create" and version.get("name") != WRITE_MODEL:
            fail(f"create: the new version belongs to {version.get('name')!r}, not {WRITE_MODEL}")
        if name == "alias" and "champion" not in (version.get("aliases") or []):
            fail(f"alias: the version's aliases {version.get('aliases')} do not include champion")
    elif name == "search":
        versions = answer.get("model_versions") or []
        if len(versions) != 10 or any(v.get("name") != "resnet" for v in versions):
            fail(f"search: expected 10 versions of resnet, got {[(v.get('name'), v.get('version')) for v in versions]}")
        if not answer.get("next_page_token"):
            fail("search: no next_page_token although resnet has more than 10 versions")
    elif name == "search-models":
        models = answer.get("registered_models") or []
        if len(models) != 10 or any(not m.get("name", "").startswith("model-") for m in models):
            fail(f"search-models: expected 10 models named model-*, got {[m.get('name') for m in models]}")
        if not answer.get("next_page_token"):
            fail("search-models: no next_page_token although more than 10 models match")
    else:
        fail(f"unknown request {name}")


def cmd_count(args):
    url, model = args
    client = Client(url)
    count, highest, token, pages = 0, 0, None, 0
    seen = set()
    while True:
        query = {"filter": f"name='{model}'", "max_results": "1000"}
        if token:
            query["page_token"] = token
        answer = client.call("GET", "/api/2.0/mlflow/model-versions/search?" + urllib.parse.urlencode(query))
        pages += 1
        for version in answer.get("model_versions") or []:
            number = int(version["version"])
            seen.add(number)
            count += 1
            highest = max(highest, number)
        token = answer.get("next_page_token")
        if not token:
            break
        if pages > 100000:
            sys.exit("count: more than 100,000 pages")
    print(json.dumps({"model": model, "versions": count, "distinct_versions": len(seen),
                      "highest_version": highest, "pages": pages}))


# Fields whose values differ between two servers by nature (clocks, generated ids, the token's user).
VOLATILE = {"creation_timestamp", "last_updated_timestamp", "run_id", "source", "storage_location",
            "next_page_token", "model_id"}


def normalise(value, path, notes):
    """VALUE with lists of {key, value} tags sorted by key; a tag order that differs is noted once per path."""
    if isinstance(value, dict):
        return {key: normalise(item, f"{path}.{key}" if path else key, notes) for key, item in value.items()}
    if isinstance(value, list):
        items = [normalise(item, f"{path}[]", notes) for item in value]
        if items and all(isinstance(item, dict) and "key" in item for item in items):
            ordered = sorted(items, key=lambda item: str(item["key"]))
            if ordered != items:
                notes.add(path)
            return ordered
        return items
    return value


def shape(value, path, out):
    """{path: (type name, value or None)} of every leaf of VALUE; lists are walked element by element."""
    if isinstance(value, dict):
        for key, item in value.items():
            shape(item, f"{path}.{key}" if path else key, out)
        if "creation_timestamp" in value and "last_updated_timestamp" in value:
            # Timestamps differ between servers; whether an object was updated after its creation should not.
            same = value["creation_timestamp"] == value["last_updated_timestamp"]
            out[f"{path}.(last_updated_timestamp == creation_timestamp)"] = ("bool", same)
    elif isinstance(value, list):
        out[path] = ("list", len(value))
        for index, item in enumerate(value):
            shape(item, f"{path}[{index}]", out)
    else:
        leaf = path.rsplit(".", 1)[-1]
        out[path] = (type(value).__name__, None if leaf in VOLATILE else value)


def generic(path):
    """PATH with its list indices left out: model_versions[3].run_link -> model_versions[].run_link."""
    return re.sub(r"\[\d+\]", "[]", path)


def cmd_compare(args):
    name, ours_path, theirs_path = args
    with open(ours_path) as handle:
        ours_json = json.load(handle)
    with open(theirs_path) as handle:
        theirs_json = json.load(handle)
    if name == "create":
        # Both answers are a new version: its number depends on how many writes came before.
        for answer in (ours_json, theirs_json):
            answer.get("model_version", {}).pop("version", None)
    ours_order, theirs_order = set(), set()
    ours_json = normalise(ours_json, "", ours_order)
    theirs_json = normalise(theirs_json, "", theirs_order)
    ours, theirs = {}, {}
    shape(ours_json, "", ours)
    shape(theirs_json, "", theirs)
    # One line per kind of difference (list indices left out), with how many times it occurs.
    differences = {}
    def note(key, text):
        entry = differences.setdefault(key, [text, 0])
        entry[1] += 1
    def show(entry):
        kind, value = entry
        return f"{json.dumps(value)} ({kind})" if value is not None else f"({kind})"
    for path in sorted(set(ours) | set(theirs), key=lambda p: (generic(p), p)):
        where = generic(path)
        if path not in ours:
            note(("mlflow", where), f"only MLflow has {where}: {show(theirs[path])}")
        elif path not in theirs:
            note(("modelctl", where), f"only modelctl has {where}: {show(ours[path])}")
        elif ours[path] != theirs[path]:
            note(("value", where, ours[path], theirs[path]),
                 f"{where}: modelctl {show(ours[path])}, MLflow {show(theirs[path])}")
    for path in sorted(ours_order ^ theirs_order):
        side = "modelctl" if path in ours_order else "MLflow"
        note(("order", path), f"{path}: the same tags in another order ({side} does not sort them by key)")
    if (ours_order & theirs_order):
        pass  # both out of key order: the order may still differ, but it is not compared
    for text, count in differences.values():
        print(f"{name}: {text}" + (f" (x{count})" if count > 1 else ""))


COMMANDS = {"seed": cmd_seed, "check": cmd_check, "count": cmd_count, "compare": cmd_compare}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
