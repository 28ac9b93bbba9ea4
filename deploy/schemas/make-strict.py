#!/usr/bin/env python3
"""Trims a JSON schema for kubeconform: drops descriptions and makes every object with listed
properties strict (additionalProperties: false), as openapi2jsonschema --strict does.
With --crd FILE.json it first takes the openAPIV3Schema of the CRD's served version.
Usage: make-strict.py IN.json OUT.json   |   make-strict.py --crd CRD.json VERSION OUT.json"""
import json, sys

def strict(n):
    if isinstance(n, dict):
        n.pop("description", None)
        if "properties" in n and "additionalProperties" not in n and not n.get("x-kubernetes-preserve-unknown-fields"):
            n["additionalProperties"] = False
        for k, v in list(n.items()):
            if k == "properties":
                for p in v.values():
                    strict(p)
            else:
                strict(v)
    elif isinstance(n, list):
        for v in n:
            strict(v)
    return n

if sys.argv[1] == "--crd":
    crd = json.load(open(sys.argv[2]))
    version = sys.argv[3]
    schema = next(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["name"] == version)
    out = sys.argv[4]
else:
    schema = json.load(open(sys.argv[1]))
    out = sys.argv[2]
json.dump(strict(schema), open(out, "w"), indent=1, sort_keys=True)
open(out, "a").write("\n")
