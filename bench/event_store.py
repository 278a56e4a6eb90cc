"""Event store benchmark: SqliteEventStore against raw sqlite3 on the same schema, same run.

    python bench/event_store.py            # 5,000 single commits, 100,000 batched, 1M rebuild
    python bench/event_store.py --quick    # 2,000 single commits, 20,000 batched, 100k rebuild

Everything runs on real SQLite files in a temporary folder (removed at the end unless --keep).
Each Podium figure is printed next to a baseline measured in the same run:

1. single-event commits/s: ``store.append([event])`` per event, each its own transaction;
   baseline: raw sqlite3, one row per ``BEGIN IMMEDIATE``/``COMMIT``.
2. batched events/s: ``store.append(batch)`` with batches of 500; baseline: raw sqlite3
   ``executemany`` of the batch's rows, one transaction per batch.
3. rebuild of one task's projection from its N events (1M, or 100k with --quick), written with
   batched appends: ``project(store.read_task(task_id))`` and the streamed
   ``project_in_order(store.iter_task(task_id))``; baseline: raw sqlite3 read of the bodies in
   seq order and ``json.loads`` of each (nothing kept). Each rebuild runs in a fresh subprocess
   so its peak RSS (``ru_maxrss``) is its own; the file is in the OS page cache (just written).

In 1 and 2 the store and raw sqlite3 take turns, one append at a time, so both see the same
machine; raw sqlite3 inserts the very rows the store wrote (serialized, untimed, from the events
the store returned). Event construction (pydantic validation of the new events) is never timed:
the figures are the store's cost, not the caller's.

The schema of the baseline files is copied from a file the store created itself, and they get
the store's pragmas (WAL, synchronous=NORMAL, busy_timeout), so both sides write the same table
and indexes the same way.

Options: --db FILE keeps the rebuild file between runs (written once, then reused);
--fill-baseline also times raw sqlite3 writing the rebuild file's rows (batched appends into a
file that grows to 1M events); --dir puts the temporary folder elsewhere (e.g. /dev/shm, to
take the disk out); --only single,batched,rebuild picks tests; --json FILE saves the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic

from podium.events import VectorClock, project
from podium.events.types import (
    CodeGenerated,
    CodeGeneratedData,
    CorrectionCompleted,
    CorrectionCompletedData,
    CorrectionStarted,
    CorrectionStartedData,
    Envelope,
    LlmCall,
    LlmCallData,
    ModuleIteration,
    ModuleIterationData,
    ModulePlan,
    ModuleStarted,
    ModuleStartedData,
    PlanningComplete,
    PlanningCompleteData,
    TaskCreated,
    TaskCreatedData,
    TaskStarted,
    TestFailed,
    TestFailedData,
    TestPassed,
    TestPassedData,
    TestStarted,
    TestStartedData,
)
from podium.store import SqliteEventStore

AIMS = {"single": 5_000.0, "batched": 50_000.0, "rebuild_s": 2.0}
MODULES = ["parser", "validators", "storage", "api", "report"]
INSERT = ("INSERT INTO podium_events (position, event_id, task_id, seq, type, timestamp, body)"
          " VALUES (?, ?, ?, ?, ?, ?, ?)")


# --- a realistic task log -----------------------------------------------------------------------


def _code(module: str, round_: int) -> str:
    """A generated module of ~20 lines (about 700 bytes), different every round."""
    lines = [f'"""{module}: generated in round {round_}."""', "",
             "from __future__ import annotations", ""]
    for k in range(4):
        lines += [
            f"def {module}_step_{k}(value: int, scale: int = {round_ % 7 + 1}) -> int:",
            f'    """Step {k} of {module}."""',
            f"    if value < {k * round_ % 97}:",
            f"        raise ValueError('value too small for step {k}')",
            f"    return value * scale + {k}",
        ]
    return "\n".join(lines) + "\n"


def _excerpt(module: str, round_: int) -> str:
    return (f"FAILED test_{module}.py::test_step_{round_ % 4} - AssertionError\n"
            f"    assert {module}_step_{round_ % 4}({round_}) == {round_ * 3}\n"
            f"E   assert {round_ * 2} == {round_ * 3}\n")


def task_events(task_id: str, n: int, seed: int = 1) -> Iterator[Envelope]:
    """``n`` events of one task: a header, then rounds of LLM_CALL, CODE_GENERATED,
    TEST_STARTED and TEST_FAILED (80%) or TEST_PASSED, with a correction (CORRECTION_STARTED,
    MODULE_ITERATION, CORRECTION_COMPLETED) after one failure in four, over five modules.
    Stamps follow the coding workflow: code_version = round, clock {coder, sandbox}."""
    rng = random.Random(seed)
    t0 = datetime.now(UTC) - timedelta(days=30)
    count = 0

    def stamp() -> datetime:
        return t0 + timedelta(milliseconds=count)

    header: list[Envelope] = [
        TaskCreated(task_id=task_id, data=TaskCreatedData(
            prompt="Build a small CSV validation service with five modules", provider="openai",
            model="gpt-4o-mini", max_rounds=1_000_000, workspace=f"/srv/podium/{task_id}")),
        TaskStarted(task_id=task_id),
        PlanningComplete(task_id=task_id, data=PlanningCompleteData(modules=[
            ModulePlan(name=m, purpose=f"the {m} part",
                       interface=f"def {m}_step_0(value: int) -> int")
            for m in MODULES])),
        *[ModuleStarted(task_id=task_id, data=ModuleStartedData(module=m)) for m in MODULES],
    ]
    for event in header:
        if count >= n:
            return
        yield event.model_copy(update={"timestamp": stamp()})
        count += 1
    rounds = dict.fromkeys(MODULES, 0)
    while True:
        module = rng.choice(MODULES)
        rounds[module] += 1
        r = rounds[module]
        code = _code(module, r)
        code_hash = f"{rng.getrandbits(64):016x}"
        clock = VectorClock.of({"coder": r, "sandbox": r})
        block: list[Envelope] = [
            LlmCall(task_id=task_id, actor="model:openai", data=LlmCallData(
                purpose="code" if r == 1 else "fix", provider="openai", model="gpt-4o-mini",
                tokens_in=rng.randint(800, 4000), tokens_out=rng.randint(100, 900),
                latency_s=round(rng.uniform(0.5, 8.0), 3), cost_usd=round(rng.uniform(0, 0.01), 6),
                finish_reason="stop", module=module)),
            CodeGenerated(task_id=task_id, actor="agent:coder", code_version=r,
                          code_hash=code_hash, vector_clock=VectorClock.of({"coder": r}),
                          data=CodeGeneratedData(module=module, round=r, path=f"{module}.py",
                                                 code=code)),
            TestStarted(task_id=task_id, actor="sandbox", data=TestStartedData(
                module=module, round=r, isolation="bubblewrap",
                command=["python", "-m", "pytest", "--doctest-modules"])),
        ]
        duration = round(rng.uniform(0.2, 3.0), 3)
        if rng.random() < 0.8:
            block.append(TestFailed(
                task_id=task_id, actor="sandbox", code_version=r, code_hash=code_hash,
                vector_clock=clock, data=TestFailedData(
                    module=module, round=r, tests_passed=rng.randint(0, 9), tests_failed=1,
                    excerpt=_excerpt(module, r), duration_s=duration)))
            if rng.random() < 0.25:
                block += [
                    CorrectionStarted(task_id=task_id, data=CorrectionStartedData(
                        module=module, round=r + 1, reason="tests", feedback=_excerpt(module, r))),
                    ModuleIteration(task_id=task_id, data=ModuleIterationData(
                        module=module, round=r + 1)),
                    CorrectionCompleted(task_id=task_id, data=CorrectionCompletedData(
                        module=module, round=r + 1)),
                ]
        else:
            block.append(TestPassed(
                task_id=task_id, actor="sandbox", code_version=r, code_hash=code_hash,
                vector_clock=clock, data=TestPassedData(
                    module=module, round=r, tests_passed=rng.randint(1, 10), duration_s=duration)))
        for event in block:
            if count >= n:
                return
            yield event.model_copy(update={"timestamp": stamp()})
            count += 1


def batches(events: Iterator[Envelope], size: int) -> Iterator[list[Envelope]]:
    batch: list[Envelope] = []
    for event in events:
        batch.append(event)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- raw sqlite3 baseline files -------------------------------------------------------------


def schema_of(store_path: Path) -> list[str]:
    conn = sqlite3.connect(store_path)
    ddl = [r[0] for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'podium_events' AND sql IS NOT NULL"
        " ORDER BY type DESC")]  # the table before its indexes
    conn.close()
    return ddl


def raw_connection(path: Path, ddl: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA synchronous=NORMAL")
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    for statement in ddl:
        conn.execute(statement)
    return conn


# --- measurements --------------------------------------------------------------------------


def row_of(event: Envelope) -> tuple:
    """The row the store wrote for a stored event (seq and position set), for the baseline."""
    return (event.position, event.event_id.bytes, event.task_id, event.seq, event.type,
            event.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            event.model_dump_json())


def bench_writes(tmp: Path, name: str, n: int, size: int, ddl: list[str],
                 seed: int) -> dict[str, float]:
    """Podium and raw sqlite3 take turns, one append at a time, so both see the same machine.

    Each append's events are built untimed; the raw side then inserts the very rows the store
    wrote for them (serialized untimed from the events the store returned)."""
    store = SqliteEventStore(tmp / f"{name}.db")
    conn = raw_connection(tmp / f"{name}-raw.db", ddl)
    podium_s = raw_s = 0.0
    for group in batches(task_events(name, n, seed=seed), size):
        t0 = time.perf_counter()
        stored = store.append(group)
        t1 = time.perf_counter()
        rows = [row_of(e) for e in stored]
        t2 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        if size == 1:
            conn.execute(INSERT, rows[0])
        else:
            conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        t3 = time.perf_counter()
        podium_s += t1 - t0
        raw_s += t3 - t2
    assert store.version(name) == n
    assert conn.execute("SELECT COUNT(*) FROM podium_events").fetchone()[0] == n
    store.close()
    conn.close()
    return {"events": n, "batch": size, "podium_s": podium_s, "raw_s": raw_s,
            "podium_per_s": n / podium_s, "raw_per_s": n / raw_s}


def fill(path: Path, task_id: str, n: int, size: int, ddl: list[str] | None) -> dict[str, Any]:
    """Write the rebuild task with batched appends; only the append calls are timed.

    With ``ddl``, raw sqlite3 writes the same rows to a second file, taking turns with the
    store as in ``bench_writes``: batched appends into a file that grows to n events."""
    store = SqliteEventStore(path)
    if store.version(task_id) == n:
        store.close()
        return {"events": n, "reused": True}
    if store.version(task_id):
        raise SystemExit(f"{path} holds a different {task_id} log; remove it or pick another")
    raw_path = path.with_name(path.stem + "-raw" + path.suffix)
    conn = raw_connection(raw_path, ddl) if ddl is not None else None
    spent = raw_spent = 0.0
    start = time.perf_counter()
    for group in batches(task_events(task_id, n), size):
        t = time.perf_counter()
        stored = store.append(group)
        spent += time.perf_counter() - t
        if conn is not None:
            rows = [row_of(e) for e in stored]
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, rows)
            conn.execute("COMMIT")
            raw_spent += time.perf_counter() - t
    total = time.perf_counter() - start
    store.close()
    out: dict[str, Any] = {"events": n, "append_s": spent, "append_per_s": n / spent,
                           "with_generation_s": total}
    if conn is not None:
        conn.close()
        raw_path.unlink()
        for extra in ("-wal", "-shm"):
            Path(str(raw_path) + extra).unlink(missing_ok=True)
        out |= {"raw_s": raw_spent, "raw_per_s": n / raw_spent}
    return out


def has_streaming() -> bool:
    """Whether this Podium has the streaming rebuild (added with this benchmark)."""
    import podium.events.projections as projections

    return hasattr(SqliteEventStore, "iter_task") and hasattr(projections, "project_in_order")


def rebuild_worker(path: str, task_id: str, variant: str) -> None:
    """Run in a fresh process: one rebuild, printed as JSON (time, memory, a state digest)."""
    before_kb = _rss_kb()
    start = time.perf_counter()
    out: dict[str, Any] = {"variant": variant}
    if variant == "podium":
        store = SqliteEventStore(path)
        t0 = time.perf_counter()
        events = store.read_task(task_id)
        t1 = time.perf_counter()
        state = project(events)
        t2 = time.perf_counter()
        out |= {"read_task_s": t1 - t0, "project_s": t2 - t1, "events": len(events),
                "digest": _digest(state)}
        del events
        store.close()
    elif variant == "stream":
        from podium.events.projections import project_in_order

        store = SqliteEventStore(path)
        state = project_in_order(store.iter_task(task_id))
        out |= {"events": state.last_seq, "digest": _digest(state)}
        store.close()
    elif variant == "raw":
        conn = sqlite3.connect(path)
        n = 0
        for (body,) in conn.execute(
            "SELECT body FROM podium_events WHERE task_id = ? ORDER BY seq", (task_id,)
        ):
            json.loads(body)
            n += 1
        conn.close()
        out["events"] = n
    else:
        raise SystemExit(f"unknown variant {variant}")
    out["seconds"] = time.perf_counter() - start
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_before_mb"] = before_kb / 1024
    print(json.dumps(out))


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _digest(state: Any) -> dict[str, Any]:
    return {"status": state.status, "last_seq": state.last_seq, "llm_calls": state.llm_calls,
            "tokens_in": state.tokens_in, "cost_usd": round(state.cost_usd, 6),
            "test_seconds": round(state.test_seconds, 3),
            "stale_reports_ignored": state.stale_reports_ignored,
            "modules": {m.name: [m.code_version, m.last_test.passed if m.last_test else None]
                        for m in state.modules.values()}}


def bench_rebuild(path: Path, task_id: str, repeats: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    variants = ("podium", "stream", "raw") if has_streaming() else ("podium", "raw")
    for variant in variants:
        runs = []
        for _ in range(repeats):
            proc = subprocess.run(
                [sys.executable, __file__, "--rebuild-worker", str(path), task_id, variant],
                check=True, capture_output=True, text=True)
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        digests = {json.dumps(r.get("digest"), sort_keys=True) for r in runs}
        assert len(digests) == 1, "rebuilds of the same log disagree"
        if variant == "stream":
            assert runs[0]["digest"] == results["podium"]["digest"], "stream != project(read_task)"
        best = min(runs, key=lambda r: r["seconds"])
        results[variant] = {
            "runs_s": [round(r["seconds"], 3) for r in runs],
            "best_s": best["seconds"],
            "median_s": statistics.median(r["seconds"] for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "rss_growth_mb": max(r["peak_rss_mb"] - r["rss_before_mb"] for r in runs),
            **{k: best[k] for k in ("read_task_s", "project_s", "events", "digest") if k in best},
        }
    return results


# --- report --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "pydantic": pydantic.VERSION, "cpus": os.cpu_count(),
            "load": [round(x, 2) for x in os.getloadavg()]}


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (100k rebuild)")
    parser.add_argument("--single", type=int, help="events for the single-commit test")
    parser.add_argument("--batched", type=int, help="events for the batched test")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rebuild", type=int, help="events in the rebuilt task")
    parser.add_argument("--repeats", type=int, help="rebuild runs per variant (best is shown)")
    parser.add_argument("--db", type=Path,
                        help="rebuild file to use; written once, reused by later runs")
    parser.add_argument("--fill-baseline", action="store_true",
                        help="also time raw sqlite3 writing the rebuild file's rows (slower run)")
    parser.add_argument("--only", default="single,batched,rebuild",
                        help="comma-separated tests to run (default: all three)")
    parser.add_argument("--dir", help="where the temporary folder goes (default: the system's)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--rebuild-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rebuild_worker:
        rebuild_worker(*args.rebuild_worker)
        return
    single = args.single or (2_000 if args.quick else 5_000)
    batched = args.batched or (20_000 if args.quick else 100_000)
    rebuild = args.rebuild or (100_000 if args.quick else 1_000_000)
    repeats = args.repeats or (3 if args.quick else 2)

    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-", dir=args.dir))
    report: dict[str, Any] = {"machine_start": machine()}
    print(f"podium event store benchmark  python {report['machine_start']['python']}  "
          f"sqlite {sqlite3.sqlite_version}  pydantic {pydantic.VERSION}  "
          f"cpus {os.cpu_count()}  load {report['machine_start']['load']}")
    print(f"files in {tmp}")
    try:
        probe = SqliteEventStore(tmp / "schema.db")
        probe.close()
        ddl = schema_of(tmp / "schema.db")
        only = set(args.only.split(","))
        if "single" in only:
            s = report["single"] = bench_writes(tmp, "single", single, 1, ddl, seed=2)
            print(f"\n1. single-event commits ({single:,} appends, one event each)")
            print(f"   podium  {s['podium_per_s']:>10,.0f} commits/s")
            print(f"   raw     {s['raw_per_s']:>10,.0f} commits/s")
            print(f"   podium/raw {s['podium_per_s'] / s['raw_per_s']:.2f}   "
                  f"aim {AIMS['single']:,.0f}/s: {verdict(s['podium_per_s'] >= AIMS['single'])}")
        if "batched" in only:
            b = report["batched"] = bench_writes(tmp, "batched", batched, args.batch_size, ddl,
                                                 seed=3)
            print(f"\n2. batched appends ({batched:,} events, {args.batch_size} per append)")
            print(f"   podium  {b['podium_per_s']:>10,.0f} events/s")
            print(f"   raw     {b['raw_per_s']:>10,.0f} events/s")
            print(f"   podium/raw {b['podium_per_s'] / b['raw_per_s']:.2f}   "
                  f"aim {AIMS['batched']:,.0f}/s: {verdict(b['podium_per_s'] >= AIMS['batched'])}")
        if "rebuild" in only:
            rebuild_test(args, tmp, rebuild, repeats, report, ddl)
        report["machine_end"] = machine()
        print(f"\nload at the end {report['machine_end']['load']}")
    finally:
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str))
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def rebuild_test(args: argparse.Namespace, tmp: Path, rebuild: int, repeats: int,
                 report: dict[str, Any], ddl: list[str]) -> None:
    path = args.db or tmp / "rebuild.db"
    print(f"\n3. rebuild of one task with {rebuild:,} events ({path})")
    f = report["fill"] = fill(path, "big", rebuild, args.batch_size,
                              ddl if args.fill_baseline else None)
    if f.get("reused"):
        print("   reusing the file written by an earlier run")
    else:
        print(f"   written with batched appends: {f['append_per_s']:,.0f} events/s "
              f"({f['append_s']:.1f} s appending, {f['with_generation_s']:.1f} s with "
              "event construction)")
        if "raw_per_s" in f:
            print(f"   raw sqlite3 writing the same rows to a second file: "
                  f"{f['raw_per_s']:,.0f} events/s; podium/raw "
                  f"{f['append_per_s'] / f['raw_per_s']:.2f}")
    conn = sqlite3.connect(path)
    counts = Counter(dict(conn.execute(
        "SELECT type, COUNT(*) FROM podium_events WHERE task_id = 'big' GROUP BY type")))
    avg = conn.execute("SELECT AVG(LENGTH(body)) FROM podium_events").fetchone()[0]
    conn.close()
    report["mix"] = {"types": dict(counts.most_common()), "avg_body_bytes": avg,
                     "file_mb": path.stat().st_size / 2**20}
    mix = ", ".join(f"{t} {c / rebuild:.0%}" for t, c in counts.most_common(6))
    print(f"   mix: {mix}; bodies {avg:.0f} bytes on average; file "
          f"{report['mix']['file_mb']:,.0f} MB")
    r = report["rebuild"] = bench_rebuild(path, "big", repeats)
    p, raw = r["podium"], r["raw"]
    print(f"   podium  project(store.read_task(..))  best {p['best_s']:.2f} s of "
          f"{p['runs_s']} (read_task {p['read_task_s']:.2f} s + project "
          f"{p['project_s']:.2f} s)  peak RSS {p['peak_rss_mb']:,.0f} MB "
          f"(+{p['rss_growth_mb']:,.0f} MB)")
    if "stream" in r:
        st = r["stream"]
        print(f"   podium  project_in_order(store.iter_task(..))  best {st['best_s']:.2f} s of "
              f"{st['runs_s']}  peak RSS {st['peak_rss_mb']:,.0f} MB "
              f"(+{st['rss_growth_mb']:,.0f} MB)")
    print(f"   raw     bodies + json.loads          best {raw['best_s']:.2f} s of "
          f"{raw['runs_s']}  peak RSS {raw['peak_rss_mb']:,.0f} MB "
          f"(+{raw['rss_growth_mb']:,.0f} MB)")
    if rebuild == 1_000_000:
        aim = verdict(p["best_s"] <= AIMS["rebuild_s"])
    else:
        aim = f"n/a at {rebuild:,} events (the aim is for 1,000,000)"
    print(f"   podium/raw time {p['best_s'] / raw['best_s']:.2f}x   "
          f"aim {AIMS['rebuild_s']:.0f} s for 1M: {aim}")
    if "stream" in r:
        st = r["stream"]
        aim = verdict(st["best_s"] <= AIMS["rebuild_s"]) if rebuild == 1_000_000 else "n/a"
        print(f"   stream/raw time {st['best_s'] / raw['best_s']:.2f}x   "
              f"aim {AIMS['rebuild_s']:.0f} s for 1M: {aim}")


if __name__ == "__main__":
    main()
