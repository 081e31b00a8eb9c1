"""Resources of the ingest area: the MailParse REST source."""

import dagster as dg

ALL_ALIASES = "*"


class MailParseResource(dg.ConfigurableResource):
    """The MailParse polling API; unset `api_url` means the source is not configured (sensors stay idle)."""

    api_url: str | None = None
    api_token: str | None = None
    aliases: list[str] = []
    timeout_s: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.api_url and self.api_token)

    def open_client(self):
        from lead_pipeline.ingest.mailparse_client import MailParseClient

        if not self.configured:
            raise dg.Failure("MailParse is not configured: set MAILPARSE_API_URL and MAILPARSE_API_TOKEN")
        return MailParseClient(self.api_url, self.api_token, timeout=self.timeout_s)

    def streams(self, only: list[str] | None = None) -> list[tuple[str, str | None]]:
        """(stream name, alias) pairs polled with their own cursor; alias None polls every alias at once."""
        aliases = only or self.aliases
        if not aliases:
            return [(stream_name(None), None)]
        return [(stream_name(alias), alias) for alias in aliases]


def stream_name(alias: str | None) -> str:
    return f"mailparse:{alias or ALL_ALIASES}"
