"""Company facts keyed by registrable domain, loaded from a CSV the user maintains."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

REQUIRED_COLUMNS = ("domain", "company_name", "industry", "employees", "target_account")
_TRUE = {"1", "true", "yes", "y"}


@dataclass(frozen=True)
class Company:
    domain: str
    name: str
    industry: str | None
    employees: int | None
    target_account: bool


class Firmographics:
    def __init__(self, companies: dict[str, Company]):
        self._by_domain = companies

    @classmethod
    def from_csv(cls, path: str | Path) -> Firmographics:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
            companies = {}
            for line_no, row in enumerate(reader, start=2):
                domain = (row["domain"] or "").strip().lower()
                if not domain:
                    raise ValueError(f"{path}:{line_no}: empty domain")
                employees = (row["employees"] or "").strip()
                companies[domain] = Company(
                    domain=domain,
                    name=(row["company_name"] or "").strip() or domain,
                    industry=(row["industry"] or "").strip() or None,
                    employees=int(employees) if employees.isdigit() else None,
                    target_account=(row["target_account"] or "").strip().lower() in _TRUE,
                )
        return cls(companies)

    def lookup(self, domain: str | None) -> Company | None:
        return self._by_domain.get(domain) if domain else None

    def __len__(self) -> int:
        return len(self._by_domain)
