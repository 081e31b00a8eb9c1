"""Lead throughput: normalise (extract), dedup and scoring on generated mail, batched against naive.

    .venv/bin/python benchmarks/leads.py [--quick] [--messages N] [--seed S]

Generates N messages with `lead_pipeline.synthetic` (default 100,000; `--quick` 10,000), parses
them with `parse_message` (timed and reported, but not part of the target), then times, on the
parsed records:

* normalise - `candidates_of` (the record JSON read back, then `lead_candidate`: the text extraction of
              company, role, phone, budget, timeline, intent and every field's normalisation) over
              chunks of the stored records, as the `normalised_leads` asset does it: once in this
              process, then over `LEAD_PIPELINE_WORKERS` (default: every core) worker processes,
              pool start-up included (the product starts the pool once per process too); the two
              must give the same candidates;
* dedup     - `assign_lead_ids` + `build_leads` + `build_contacts` on DataFrames (the candidates
              frame is built first, as the store would hand it over, its cost reported apart; the
              deliveries are sorted by lead and arrival outside the timing, as the store returns them);
* score     - `scoring_frame` + `score_leads` with the default rules file;

and reports leads per second for each stage and for normalise+dedup+score together (the target
is 20,000 leads/s), and the peak RSS of the process.

The baseline is the same dedup and scoring done the naive way, in the same run: a dict per lead
and contact, filled row by row, and every rule evaluated per lead in Python (with the same
results: they are compared with the batched ones, and a difference fails the run). Its ratio
shows what batching buys. The baseline combined figure is normalise in one process + naive dedup +
naive scoring.

dedup and scoring are timed as the best of three runs, normalise once. Wall-clock time on this
machine; nothing else should run meanwhile (normalise in one process also reports the CPU time it
took, which other work on the machine changes less). Not a test: the figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import operator
import re
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Only what normalise needs at the top: the worker processes import this module (it is their
# __main__) before any work, as they would not import a Dagster step's `python -m` entry point.
# pandas, dedup, scoring and the Dagster assets are imported where they are used.
from lead_pipeline.leads.extract import candidates_of, use_firmographics  # noqa: E402
from lead_pipeline.leads.firmographics import Firmographics  # noqa: E402
from lead_pipeline.mail.mime import MessageRejected, parse_message  # noqa: E402
from lead_pipeline.parallel import map_chunks, worker_count  # noqa: E402
from lead_pipeline.synthetic import generate_messages  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

    from lead_pipeline.leads.scoring import Condition, RuleSet

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "lead_pipeline" / "data" / "scoring_rules.yaml"
FIRMOGRAPHICS = ROOT / "lead_pipeline" / "data" / "firmographics.csv"
TARGET = 20_000


# --------------------------------------------------------------------------------------------
# The naive baseline: the same results, row by row
# --------------------------------------------------------------------------------------------


def naive_dedup(candidates: list[dict[str, Any]]) -> tuple[dict[str, str], list[dict], list[dict], list[dict]]:
    """(lead id per landing id, deliveries with lead ids, leads, contacts) with dicts and loops."""
    from lead_pipeline.leads.dedup import CONTACT_COLUMNS, LEAD_COLUMNS, natural_lead_id

    ordered = sorted(candidates, key=lambda c: (c["received_at"], c["landing_id"]))
    first_of_message: dict[tuple[str, str], str] = {}
    lead_of: dict[str, str] = {}
    for c in ordered:
        key = (c["message_id"], c["sender_email"])
        if key not in first_of_message:
            first_of_message[key] = natural_lead_id(c["sender_email"], c["content_hash"])
        lead_of[c["landing_id"]] = first_of_message[key]

    deliveries = [{**c, "lead_id": lead_of[c["landing_id"]]} for c in candidates]
    deliveries.sort(key=lambda d: (d["lead_id"], d["received_at"], d["landing_id"]))
    leads_by_id: dict[str, dict] = {}
    for d in deliveries:
        lead = leads_by_id.get(d["lead_id"])
        if lead is None:
            leads_by_id[d["lead_id"]] = {**{k: d.get(k) for k in LEAD_COLUMNS}, "duplicate_count": 0, "status": "new"}
        else:
            lead["duplicate_count"] += 1
    leads = [leads_by_id[k] for k in sorted(leads_by_id)]

    contacts_by_email: dict[str, dict] = {}
    for lead in sorted(leads, key=lambda x: (x["sender_email"], x["received_at"], x["lead_id"])):
        contact = contacts_by_email.get(lead["sender_email"])
        if contact is None:
            contact = contacts_by_email[lead["sender_email"]] = {
                "contact_email": lead["sender_email"], "name": None, "company": None, "company_domain": None,
                "phone": None, "role": None, "first_seen_at": lead["received_at"], "touches": 0,
            }
        for field, source in (("name", "sender_name"), ("company", "company"), ("company_domain", "company_domain"),
                              ("phone", "phone"), ("role", "role")):
            if lead[source] is not None:  # the latest known detail wins
                contact[field] = lead[source]
        contact["last_seen_at"] = lead["received_at"]
        contact["touches"] += 1
        contact["latest_lead_id"] = lead["lead_id"]
    contacts = [{k: contacts_by_email[e][k] for k in CONTACT_COLUMNS} for e in sorted(contacts_by_email)]
    return lead_of, deliveries, leads, contacts


def _holds(cond: Condition, row: dict[str, Any], patterns: dict[str, re.Pattern[str]]) -> bool:
    if cond.all is not None:
        return all(_holds(c, row, patterns) for c in cond.all)
    if cond.any is not None:
        return any(_holds(c, row, patterns) for c in cond.any)
    if cond.not_ is not None:
        return not _holds(cond.not_, row, patterns)
    value = row.get(cond.field)
    if cond.matches is not None:
        if value is None:
            return False
        pattern = patterns.get(cond.matches) or patterns.setdefault(cond.matches, re.compile(cond.matches))
        return pattern.search(value if isinstance(value, str) else str(value)) is not None
    if cond.equals is not None:
        return value is not None and value == cond.equals
    if cond.in_ is not None:
        return value in cond.in_
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    for bound, test in ((cond.gt, operator.gt), (cond.gte, operator.ge), (cond.lt, operator.lt),
                        (cond.lte, operator.le)):
        if bound is not None:
            return bool(test(value, bound))
    raise AssertionError("validated condition without a test")


def naive_score(leads: list[dict], deliveries: list[dict], rules: RuleSet) -> list[dict]:
    """Per lead: its signals from the earliest delivery, every rule evaluated, the breakdown as JSON."""
    from lead_pipeline.leads.scoring import route_for

    features: dict[str, str] = {}
    for d in deliveries:  # ordered by lead, then arrival
        features.setdefault(d["lead_id"], d["features"])
    fields = [(rule, sorted(set(rule.when.fields()))) for rule in rules.rules]
    patterns: dict[str, re.Pattern[str]] = {}
    scored = []
    for lead in leads:
        row = {**json.loads(features[lead["lead_id"]]), **lead}
        score, breakdown = 0, []
        for rule, names in fields:
            if _holds(rule.when, row, patterns):
                score += rule.points
                breakdown.append({"rule": rule.name, "points": rule.points, "evidence": {f: row[f] for f in names}})
        scored.append({"lead_id": lead["lead_id"], "score": score,
                       "score_breakdown": json.dumps(breakdown, ensure_ascii=False, sort_keys=True),
                       "route": route_for(row["intent"], score, rules.thresholds)})
    return scored


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _rows(frame: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, help="messages to generate (default 100,000; --quick 10,000)")
    parser.add_argument("--quick", action="store_true", help="10,000 messages")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    import pandas as pd

    from lead_pipeline.defs.leads.assets import CHUNK
    from lead_pipeline.leads.dedup import assign_lead_ids, build_contacts, build_leads
    from lead_pipeline.leads.features import scoring_frame
    from lead_pipeline.leads.scoring import load_rules, score_leads

    n = args.messages or (10_000 if args.quick else 100_000)
    started = time.perf_counter()

    # -- corpus: generated and parsed, one message at a time ------------------------------------
    records: list[tuple[str, dict]] = []
    rejected = generated_bytes = 0
    generating = parsing = 0.0
    stream = generate_messages(n, seed=args.seed)
    while True:
        t0 = time.perf_counter()
        item = next(stream, None)
        t1 = time.perf_counter()
        generating += t1 - t0
        if item is None:
            break
        name, raw = item
        generated_bytes += len(raw)
        try:
            record = parse_message(raw, source=name)
        except MessageRejected:
            rejected += 1
            continue
        finally:
            parsing += time.perf_counter() - t1
        records.append((hashlib.sha256(raw).hexdigest(), record))
    print(f"corpus: {n:,} generated messages, {generated_bytes / 1e6:,.0f} MB, seed {args.seed}")
    print(f"  generate {n / generating:10,.0f} messages/s   ({generating:6.1f} s)")
    print(f"  parse    {n / parsing:10,.0f} messages/s   ({parsing:6.1f} s; not in the target; {rejected} rejected)")

    firmographics = Firmographics.from_csv(FIRMOGRAPHICS)
    rules = load_rules(RULES)

    # -- normalise: as the normalised_leads asset does it, chunks of stored records ------------
    stored = [(landing_id, json.dumps(record, ensure_ascii=False, sort_keys=True)) for landing_id, record in records]
    del records
    chunks = [stored[i:i + CHUNK] for i in range(0, len(stored), CHUNK)]
    workers = worker_count()
    use_firmographics(firmographics)
    t0, cpu0 = time.perf_counter(), time.process_time()
    single = [candidate for chunk in chunks for candidate in candidates_of(chunk)]
    normalise_single = time.perf_counter() - t0
    normalise_cpu = time.process_time() - cpu0
    t0 = time.perf_counter()
    candidates = [candidate for part in map_chunks(candidates_of, chunks, workers=workers,
                                                   initializer=use_firmographics, initargs=(firmographics,))
                  for candidate in part]
    normalise = time.perf_counter() - t0
    if candidates != single:
        print("candidates from the worker processes differ from one process's")
        return 1
    del stored, chunks, single

    # -- dedup (batched) ----------------------------------------------------------------------
    t0 = time.perf_counter()
    frame = pd.DataFrame(candidates)
    framing = time.perf_counter() - t0
    known = pd.DataFrame(columns=["message_id", "sender_email", "lead_id"])

    # As in the deduplicated_leads asset: ids for the batch, then (from the store, which returns them
    # ordered by lead and arrival) every delivery of the leads, then the leads and their contacts.
    assign_s, lead_ids = best_of(3, lambda: assign_lead_ids(frame, known))
    deliveries = frame.assign(lead_id=lead_ids).sort_values(["lead_id", "received_at", "landing_id"])

    def leads_and_contacts() -> tuple[pd.DataFrame, pd.DataFrame]:
        leads = build_leads(deliveries)
        return leads, build_contacts(leads)

    build_s, (leads, contacts) = best_of(3, leads_and_contacts)
    dedup_s = assign_s + build_s
    score_s, scores = best_of(3, lambda: score_leads(scoring_frame(leads, deliveries), rules))
    n_leads = len(leads)

    # -- the naive baseline, checked against the batched results ---------------------------------
    naive_dedup_s, (lead_of, naive_deliveries, naive_leads, naive_contacts) = best_of(3, lambda: naive_dedup(candidates))
    naive_score_s, naive_scores = best_of(3, lambda: naive_score(naive_leads, naive_deliveries, rules))
    same = (
        dict(zip(deliveries["landing_id"], deliveries["lead_id"], strict=True)) == lead_of
        and _rows(leads) == naive_leads
        and _rows(contacts) == naive_contacts
        and _rows(scores) == naive_scores
    )

    combined = normalise + dedup_s + score_s
    baseline = normalise_single + naive_dedup_s + naive_score_s
    duplicates = len(candidates) - n_leads
    print(f"leads: {n_leads:,} from {len(candidates):,} messages ({duplicates:,} duplicates collapsed), "
          f"{len(contacts):,} contacts; routes {scores['route'].value_counts().to_dict()}")
    print()
    print(f"{'stage (batched, as the assets run it)':48s} {'seconds':>8s} {'leads/s':>10s}")

    def line(label: str, seconds: float, extra: str = "") -> None:
        print(f"{label:48s} {seconds:8.2f} {n_leads / seconds:10,.0f}{extra}")

    met = "met" if n_leads / combined >= TARGET else "NOT met"
    line("normalise   extraction, one process", normalise_single,
         f"   ({len(candidates) / normalise_single:,.0f} messages/s; {normalise_cpu:.2f} s of CPU)")
    line(f"normalise   extraction, {workers} worker processes", normalise,
         f"   ({len(candidates) / normalise:,.0f} messages/s, {normalise_single / normalise:4.2f}x one process)")
    line("dedup       assign_lead_ids+build_leads/contacts", dedup_s)
    line("score       scoring_frame+score_leads", score_s)
    line("dedup+score", dedup_s + score_s)
    line("normalise+dedup+score, one process", normalise_single + dedup_s + score_s)
    line(f"normalise+dedup+score, {workers} workers", combined, f"   target {TARGET:,} leads/s: {met}")
    print()
    print("baseline (naive: dicts and loops, row by row)")
    line("dedup       dicts", naive_dedup_s, f"   batched {naive_dedup_s / dedup_s:4.1f}x faster")
    line("score       every rule per lead", naive_score_s, f"   batched {naive_score_s / score_s:4.1f}x faster")
    line("dedup+score", naive_dedup_s + naive_score_s,
         f"   batched {(naive_dedup_s + naive_score_s) / (dedup_s + score_s):4.1f}x faster")
    line("normalise+dedup+score", baseline, f"   batched {baseline / combined:4.2f}x faster")
    print(f"baseline results identical to batched: {'yes' if same else 'NO'}")
    print(f"not timed: candidates to a DataFrame {framing:.2f} s; deliveries sorted by lead and arrival "
          "(the store returns them so)")
    print(f"peak RSS {peak_rss_mb():,.0f} MB; total {time.perf_counter() - started:.0f} s")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
