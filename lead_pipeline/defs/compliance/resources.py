"""The erasure salt: `LEAD_ERASURE_SALT`, else a secret generated once under `LEAD_PIPELINE_HOME`."""

from pathlib import Path

import dagster as dg


class ComplianceResource(dg.ConfigurableResource):
    """Keys the hashes of erased addresses, so a later delivery from an erased person is recognised."""

    home: str
    erasure_salt: str | None = None

    def salt(self) -> bytes:
        from lead_pipeline.compliance.identity import load_salt

        return load_salt(Path(self.home), self.erasure_salt)

    def previously_erased(self, store, emails: list[str]) -> set[str]:
        """The addresses among `emails` that were erased before."""
        from lead_pipeline.compliance.subject import anyone_erased, previously_erased

        return previously_erased(store, self.salt(), emails) if anyone_erased(store) else set()
