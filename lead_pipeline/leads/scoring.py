"""Transparent, rule-based lead scoring and routing, evaluated column-wise over a batch of leads.

Rules live in a YAML file the user edits. Each rule adds its points to every lead its condition
holds for, and the lead keeps a breakdown of (rule, points, evidence) that sums to its score.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pandas.api.extensions import ExtensionDtype
from pandas.core.dtypes.cast import maybe_box_native  # what DataFrame.to_dict("records") boxes values with
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ROUTES = ("crm", "review", "nurture", "support", "recruiting", "spam")
# Intents that route by what they are, whatever their score.
INTENT_ROUTES = {"spam": "spam", "support": "support", "job_application": "recruiting"}


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file, the place and the reason."""


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str | None = None
    matches: str | None = None
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        combinators = [self.all, self.any, self.not_]
        tests = [self.matches, self.equals, self.in_, self.gt, self.gte, self.lt, self.lte]
        if sum(c is not None for c in combinators) + (self.field is not None) != 1:
            raise ValueError("a condition is either a `field` test or exactly one of all/any/not")
        if self.field is not None and sum(t is not None for t in tests) != 1:
            raise ValueError(f"field `{self.field}` needs exactly one of matches/equals/in/gt/gte/lt/lte")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.matches!r}: {exc}") from exc
        return self

    def fields(self) -> list[str]:
        if self.field is not None:
            return [self.field]
        children = self.all or self.any or ([self.not_] if self.not_ else [])
        return [name for child in children for name in child.fields()]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    points: int
    description: str = ""
    when: Condition


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    crm: int = 40
    review: int = 15

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.crm:
            raise ValueError("thresholds.review must not exceed thresholds.crm")
        return self


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    thresholds: Thresholds = Thresholds()
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique_names(self) -> RuleSet:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate rule names: {', '.join(dupes)}")
        return self


def load_rules(path: str | Path) -> RuleSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RulesError(f"{path}: rules file not found") from exc
    return parse_rules(text, origin=str(path))


def parse_rules(text: str, origin: str) -> RuleSet:
    path = origin
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "unknown line"
        raise RulesError(f"{path}: {where}: {getattr(exc, 'problem', exc)}") from exc
    try:
        return RuleSet.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise RulesError(f"{path}: {place}: {first['msg']}") from exc


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise RulesError(f"rule uses unknown field `{name}`; known fields: {', '.join(sorted(frame.columns))}")
    return frame[name]


def _mask(frame: pd.DataFrame, cond: Condition) -> np.ndarray:
    if cond.all is not None:
        return np.logical_and.reduce([_mask(frame, c) for c in cond.all]) if cond.all else np.ones(len(frame), bool)
    if cond.any is not None:
        return np.logical_or.reduce([_mask(frame, c) for c in cond.any]) if cond.any else np.zeros(len(frame), bool)
    if cond.not_ is not None:
        return ~_mask(frame, cond.not_)
    values = _column(frame, cond.field)
    if cond.matches is not None:
        if _only_strings(values):
            # Each distinct text is searched once (subjects repeat: web forms, auto-replies, replies).
            codes, uniques = pd.factorize(values)
            found = _contains(pd.Series(uniques, dtype=object), cond.matches)
            return np.append(found, False)[codes]  # code -1 (missing) picks the appended False
        return _contains(values, cond.matches)
    if cond.equals is not None:
        return (values == cond.equals).fillna(False).to_numpy(bool)
    if cond.in_ is not None:
        return values.isin(cond.in_).to_numpy(bool)
    numbers = pd.to_numeric(values, errors="coerce")
    for op, bound in (("gt", cond.gt), ("gte", cond.gte), ("lt", cond.lt), ("lte", cond.lte)):
        if bound is not None:
            compare = {"gt": numbers.gt, "gte": numbers.ge, "lt": numbers.lt, "lte": numbers.le}[op]
            return compare(bound).fillna(False).to_numpy(bool)
    raise AssertionError("validated condition without a test")


def _contains(values: pd.Series, pattern: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression")
        return values.astype("string").str.contains(pattern, regex=True, na=False).to_numpy(bool)


def _only_strings(values: pd.Series) -> bool:
    """str values or missing ones: distinct values then stand for every row equal to them."""
    return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def route_for(intent: str, score: int, thresholds: Thresholds) -> str:
    if intent in INTENT_ROUTES:
        return INTENT_ROUTES[intent]
    if score >= thresholds.crm:
        return "crm"
    if score >= thresholds.review:
        return "review"
    return "nurture"


def score_leads(frame: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """`lead_id`, `score`, `score_breakdown` (JSON) and `route` for each row of `frame`.

    `frame` has one row per lead and a column per field the rules may use.
    """
    n = len(frame)
    if n == 0:
        return pd.DataFrame({"lead_id": [], "score": [], "score_breakdown": [], "route": []})
    scores = np.zeros(n, dtype=np.int64)
    fired: list[tuple[Rule, np.ndarray, list[str]]] = []
    for rule in rules.rules:
        mask = _mask(frame, rule.when)
        scores += np.where(mask, rule.points, 0)
        fired.append((rule, mask, sorted(set(rule.when.fields()))))

    # The breakdown, written as json.dumps(breakdown, ensure_ascii=False, sort_keys=True) writes it,
    # from fragments: a rule's fragment is its evidence values' JSON between constant pieces,
    # put together for all the leads it fired for at once.
    encoded = {f: _encoded_values(frame[f]) for f in sorted({f for _, _, fs in fired for f in fs})}
    written = np.full(n, "", dtype=object)  # each lead's fragments so far, each followed by ", "
    for rule, mask, fields in fired:
        rows = np.flatnonzero(mask)
        if not rows.size:
            continue
        fragments = np.full(rows.size, '{"evidence": {', dtype=object)
        for i, field in enumerate(fields):
            fragments = fragments + ((", " if i else "") + _encode(field) + ": ") + encoded[field][rows]
        end = '}, "points": ' + _encode(rule.points) + ', "rule": ' + _encode(rule.name) + "}, "
        written[rows] = written[rows] + (fragments + end)
    breakdowns = ["[" + w[:-2] + "]" for w in written.tolist()]  # without the last ", "

    thresholds = rules.thresholds
    return pd.DataFrame({
        "lead_id": frame["lead_id"].to_numpy(),
        "score": scores.astype(int),
        "score_breakdown": breakdowns,
        "route": [route_for(i, s, thresholds) for i, s in zip(frame["intent"].tolist(), scores.tolist(), strict=True)],
    })


def _encoded_values(column: pd.Series) -> np.ndarray:
    """The JSON of each row's evidence value (an object array).

    The value is the one `DataFrame.to_dict("records")` gives (object and extension columns
    boxed to Python scalars) through `_plain`, encoded as json.dumps encodes it inside the
    breakdown: column-wise for bool, int and str columns, value by value for the others.
    """
    dtype = column.dtype
    if dtype == np.dtype(bool):
        return np.where(column.to_numpy(), "true", "false").astype(object)
    if (dtype.kind in "iu" and not isinstance(dtype, ExtensionDtype)) or isinstance(dtype, pd.StringDtype):
        # Only ints, or only str and missing values (NaN or NA, both null): equal values are the
        # same value, so each distinct one is encoded once (an int's JSON is its repr).
        codes, uniques = pd.factorize(column)
        encode = str if dtype.kind in "iu" else _encode_str
        return np.array([encode(value) for value in uniques.tolist()] + ["null"], dtype=object)[codes]
    box = maybe_box_native if dtype == np.dtype(object) or isinstance(dtype, ExtensionDtype) else None
    # str, int, bool and None encoded once each, keyed by type and value: 1, 1.0 and True are
    # equal keys but encode apart (and so do 0.0 and -0.0, so floats are encoded every time).
    memo: dict[tuple[type, Any], str] = {}
    out = []
    for value in column.tolist():
        kind = value.__class__
        if kind is str or kind is int or kind is bool or value is None:
            key = (kind, value)
            found = memo.get(key)
            if found is None:
                found = memo[key] = _encode(value)  # boxing and _plain leave these as they are
            out.append(found)
        else:
            out.append(_encode(_plain(box(value) if box else value)))
    return np.array(out, dtype=object)


# json.dumps(value, ensure_ascii=False, sort_keys=True), without building the encoder per call;
# a str on its own is what that encoder gives it.
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
_encode_str = json.encoder.encode_basestring


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


@dataclass(frozen=True)
class ActiveRules:
    rules: RuleSet
    version: str
    rejected: str | None  # why the file on disk was not used, when the previous rules stayed in force


def resolve_rules(path: str | Path, store: Any, now: str) -> ActiveRules:
    """The rules file if it is valid (and remember it), else the last valid rules with the reason.

    `store` is an `OperationalStore`; a broken edit never silently rescored leads with no rules.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        rules = parse_rules(text, origin=str(path))
    except (OSError, RulesError) as exc:
        previous = store.last_accepted_rules()
        if previous is None:
            raise RulesError(f"{exc} (and no previously accepted rules to fall back on)") from exc
        version, previous_text = previous
        return ActiveRules(parse_rules(previous_text, origin=f"accepted rules {version[:12]}"), version, str(exc))
    version = hashlib.sha256(text.encode()).hexdigest()
    store.accept_rules(version, text, now)
    return ActiveRules(rules, version, None)
