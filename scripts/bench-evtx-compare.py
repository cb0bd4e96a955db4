#!/usr/bin/env python3
"""Figures and match-set comparison for scripts/bench-evtx.

    bench-evtx-compare.py WORK RULE_DIR…

WORK holds yunshou.jsonl/.err/.time, chainsaw.jsonl/.time, chainsaw-lint.txt (chainsaw's
`lint --kind sigma` of each rule directory, each line prefixed with the directory) and
chainsaw-mapping.yml. A match is (rule id, file, EventRecordID), the file relative to WORK.
Only rules that both tools loaded and run are compared: yunshou's loaded rules are every rule
document less those it reports as not loaded; chainsaw's are the files its linter validates,
less the rules its mapping excludes by title. Aggregations and correlations (matches without
one event) are left out of both sides.
"""
import collections
import json
import os
import sys

import yaml

work, rule_dirs = sys.argv[1], sys.argv[2:]


def docs(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
    except (yaml.YAMLError, UnicodeDecodeError):
        return []


# Every rule document: file -> [(document number from 1, id, title, is a correlation)].
rules = {}
for top in rule_dirs:
    for root, _, names in os.walk(top):
        for n in names:
            if n.endswith((".yml", ".yaml")):
                p = os.path.join(root, n)
                rules[p] = [(i + 1, d.get("id"), d.get("title"), "correlation" in d)
                            for i, d in enumerate(docs(p))]

# yunshou: `rule not loaded: FILE#DOC: reason`.
ys_failed = set()
for line in open(f"{work}/yunshou.err"):
    if line.startswith("rule not loaded: "):
        where = line[len("rule not loaded: "):].split(": ", 1)[0]
        f, _, d = where.rpartition("#")
        ys_failed.add((f, int(d)))
ys_loaded = {rid for p, ds in rules.items() for (i, rid, _, corr) in ds
             if rid and not corr and (p, i) not in ys_failed}

# chainsaw: `DIR [!] /relative/path: reason` for each file its linter refuses.
cs_failed = set()
for line in open(f"{work}/chainsaw-lint.txt"):
    top, _, rest = line.partition(" ")
    if rest.startswith("[!] "):
        rel = rest[4:].split(": ", 1)[0]
        cs_failed.add(os.path.normpath(top + rel))
excluded = set(yaml.safe_load(open(f"{work}/chainsaw-mapping.yml")).get("exclusions") or [])
cs_loaded, cs_excluded = set(), set()
for p, ds in rules.items():
    if os.path.normpath(p) in cs_failed:
        continue
    for _, rid, title, corr in ds:
        if rid and not corr:
            (cs_excluded if title in excluded else cs_loaded).add(rid)
both = ys_loaded & cs_loaded


def rel(path):
    return os.path.normpath(os.path.relpath(os.path.join(work, path), work)
                            if not os.path.isabs(path) else os.path.relpath(path, work))


ys, cs = set(), set()
ys_rules_seen, cs_rules_seen = set(), set()
for line in open(f"{work}/yunshou.jsonl"):
    m = json.loads(line)
    if "event" not in m:
        continue  # a correlation
    ys_rules_seen.add(m["rule_id"])
    ys.add((m["rule_id"], rel(m["source"]), m["event"]["Event"]["System"]["EventRecordID"]))
for line in open(f"{work}/chainsaw.jsonl"):
    m = json.loads(line)
    if m.get("kind") != "individual":
        continue  # an aggregation
    cs_rules_seen.add(m["id"])
    cs.add((m["id"], rel(m["document"]["path"]),
            m["document"]["data"]["Event"]["System"]["EventRecordID"]))
assert ys_rules_seen <= ys_loaded, ys_rules_seen - ys_loaded
assert cs_rules_seen <= cs_loaded, cs_rules_seen - cs_loaded

t, rss = {}, {}
for n in ("yunshou", "chainsaw"):
    secs, kib = open(f"{work}/{n}.time").read().split()[-2:]
    t[n], rss[n] = float(secs), int(kib) // 1024
events = next(int(w.split()[1]) for w in open(f"{work}/yunshou.err") if w.startswith("events "))
for n in ("yunshou", "chainsaw"):
    print(f"{n}: {t[n]:.2f} s wall, {events / t[n]:,.0f} events/s, peak RSS {rss[n]} MiB")
print(f"events {events}: yunshou {t['chainsaw'] / t['yunshou']:.1f}x chainsaw's speed")
print(f"rules: yunshou loaded {len(ys_loaded)}, chainsaw loaded {len(cs_loaded)} "
      f"(+{len(cs_excluded)} excluded by its mapping), both {len(both)}")
ys_b = {m for m in ys if m[0] in both}
cs_b = {m for m in cs if m[0] in both}
print(f"matches on the {len(both)} common rules: yunshou {len(ys_b)}, chainsaw {len(cs_b)}, "
      f"identical: {ys_b == cs_b}")
print(f"(all matches: yunshou {len(ys)} over {len(ys_rules_seen)} rules, "
      f"chainsaw {len(cs)} over {len(cs_rules_seen)} rules)")

# Differences by rule, each with how many of the fixture files (copy directory dropped) and
# one example (rule id + file + record) to reproduce it with.
title = {rid: t for ds in rules.values() for (_, rid, t, _) in ds}
by_rule = collections.defaultdict(lambda: [set(), set(), None])
for side, diff in ((0, ys_b - cs_b), (1, cs_b - ys_b)):
    for rid, f, rec in diff:
        e = by_rule[rid]
        e[side].add((os.path.basename(f), rec))
        e[2] = e[2] or (os.path.basename(f), rec)
if by_rule:
    print(f"differences in {len(by_rule)} rules (distinct fixture records; one example):")
    for rid, (only_ys, only_cs, ex) in sorted(by_rule.items(), key=lambda kv: title.get(kv[0]) or ""):
        print(f"  {rid} {title.get(rid)!r}: only yunshou {len(only_ys)}, only chainsaw "
              f"{len(only_cs)}; e.g. {ex[0]} record {ex[1]}")
json.dump({"only_yunshou": sorted(ys_b - cs_b)[:500], "only_chainsaw": sorted(cs_b - ys_b)[:500]},
          open(f"{work}/differences.json", "w"), indent=0)
