"""`lead-pipeline`: the command-line surface of the product contract."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO


def _parse_paths(paths: Sequence[str], stdin: Any) -> Iterator[dict[str, Any]]:
    from lead_pipeline.mail.mime import MessageRejected, parse_message
    from lead_pipeline.mail.sources import RawMessage, iter_raw_messages

    for path in paths:
        try:
            messages = [RawMessage("-", stdin.read())] if path == "-" else iter_raw_messages(path)
            for message in messages:
                try:
                    yield parse_message(message.raw, source=message.source_ref)
                except MessageRejected as exc:
                    yield {"source": message.source_ref, "error": exc.reason}
        except OSError as exc:
            yield {"source": path, "error": f"{type(exc).__name__}: {exc}"}


def cmd_parse(args: argparse.Namespace, out: TextIO) -> int:
    failed = 0
    for line in _parse_paths(args.paths, sys.stdin.buffer):
        failed += "error" in line
        out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    # Unparseable files are reported on their line; the exit code says whether any were.
    return 1 if failed and args.strict else 0


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from lead_pipeline.logs import configure_logging, redact
    from lead_pipeline.runner import PipelineRunFailed, open_instance, run_pipeline
    from lead_pipeline.settings import Settings

    configure_logging()
    settings = Settings.from_env()
    echo = (lambda text: print(redact(text), file=sys.stderr, flush=True)) if not args.json else (lambda _: None)
    try:
        with open_instance(settings) as instance:
            summary = run_pipeline(settings, instance, all_days=args.all_days, echo=echo)
    except PipelineRunFailed as exc:
        print(f"lead-pipeline run: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out.write(json.dumps(summary.as_dict()) + "\n")
    else:
        out.write(
            f"messages {summary.messages} | parsed {summary.parsed} | dead letters {summary.dead_letters} | "
            f"leads {summary.leads} | duplicates collapsed {summary.duplicates_collapsed} | "
            f"qualified {summary.qualified}\nwarehouse: {summary.warehouse}\n"
        )
        report = settings.reports_dir / "kpi_report.html"
        if report.exists():
            out.write(f"KPI report: {report}\n")
    return 0


def cmd_webhook_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn

    from lead_pipeline.ingest.webhook import create_app
    from lead_pipeline.logs import configure_logging
    from lead_pipeline.settings import Settings
    from lead_pipeline.stores.operational import OperationalStore

    configure_logging()
    settings = Settings.from_env()
    if not settings.webhook_secrets:
        print("lead-pipeline webhook serve: set MAILPARSE_WEBHOOK_SECRETS (comma-separated) first", file=sys.stderr)
        return 2
    store = OperationalStore(settings.store_url)
    store.ensure_schema()
    app = create_app(store, secrets=settings.webhook_secrets, mailgun_signing_keys=settings.mailgun_signing_keys)
    print(f"receiving webhooks on http://{args.host}:{args.port}/webhooks/mailparse", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_generate(args: argparse.Namespace, out: TextIO) -> int:
    import time
    from datetime import date

    from lead_pipeline.synthetic import write_corpus

    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        print(f"lead-pipeline generate: --start is not a date (YYYY-MM-DD): {args.start!r}", file=sys.stderr)
        return 2
    if args.messages < 0 or args.days < 1:
        print("lead-pipeline generate: --messages must be >= 0 and --days >= 1", file=sys.stderr)
        return 2
    started = time.perf_counter()
    written = write_corpus(args.out, args.messages, seed=args.seed, start=start, days=args.days, fmt=args.format)
    seconds = time.perf_counter() - started
    out.write(
        f"generated {written.messages} messages, {written.bytes} bytes in {seconds:.2f} s "
        f"({written.messages / seconds if seconds else 0:,.0f} messages/s) -> {written.path}\n"
    )
    return 0


def cmd_attachment_link(args: argparse.Namespace, out: TextIO) -> int:
    from lead_pipeline.attachments.links import download_link
    from lead_pipeline.settings import Settings
    from lead_pipeline.stores.blobs import BlobStore
    from lead_pipeline.stores.operational import OperationalStore

    settings = Settings.from_env()
    store = OperationalStore(settings.store_url)
    store.ensure_schema()
    try:
        link, why = download_link(store, BlobStore(settings.blob_store), args.sha256.lower(), args.expires)
    except ValueError as exc:
        print(f"lead-pipeline attachment-link: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    if link is None:
        print(f"lead-pipeline attachment-link: {why}", file=sys.stderr)
        return 1
    out.write(link + "\n")
    return 0


def _serve_subject_request(kind: str, email: str, output_path: str | None) -> dict[str, Any] | None:
    """File the request, then run its job in-process with only the request id in the run config."""
    import os
    from datetime import UTC, datetime

    from lead_pipeline.compliance.identity import load_salt
    from lead_pipeline.compliance.subject import file_request, read_request
    from lead_pipeline.definitions import build_definitions
    from lead_pipeline.ingest.landing import utc_timestamp
    from lead_pipeline.runner import QUIET_RUN_CONFIG, open_instance
    from lead_pipeline.settings import Settings
    from lead_pipeline.stores.operational import OperationalStore

    settings = Settings.from_env()
    store = OperationalStore(settings.store_url)
    try:
        store.ensure_schema()
        salt = load_salt(settings.home, os.environ.get("LEAD_ERASURE_SALT"))
        request_id = file_request(store, salt, kind, email, utc_timestamp(datetime.now(UTC)), output_path)
        job_name, op_name = ("subject_export_job", "export_subject") if kind == "export" else (
            "subject_erasure_job", "erase_subject")
        run_config = {**QUIET_RUN_CONFIG, "ops": {op_name: {"config": {"request_id": request_id}}}}
        with open_instance(settings) as instance:
            job = build_definitions(settings).resolve_job_def(job_name)
            result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
        if not result.success:
            reason = read_request(store, request_id).last_error or "see the run's logs"
            print(f"lead-pipeline {kind}: run {result.run_id} failed; request {request_id} stays pending (retry: "
                  f"launch {job_name} with that request_id): {reason}", file=sys.stderr)
            return None
        return read_request(store, request_id).result or {}
    finally:
        store.dispose()


def _rows(counts: dict[str, int]) -> int:
    return sum(counts.values())


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from pathlib import Path

    target = Path(args.out or "subject-export.json").expanduser().resolve()
    try:
        result = _serve_subject_request("export", args.email, str(target))
    except ValueError as exc:
        print(f"lead-pipeline export: {exc}", file=sys.stderr)
        return 2
    if result is None:
        return 1
    out.write(
        f"exported {_rows(result['operational'])} operational rows, {_rows(result['warehouse'])} warehouse rows, "
        f"{_rows(result['redacted']['operational']) + _rows(result['redacted']['warehouse'])} mentions, "
        f"{result['attachments']} attachments -> {target}\n"
    )
    return 0


def cmd_erase(args: argparse.Namespace, out: TextIO) -> int:
    try:
        result = _serve_subject_request("erase", args.email, None)
    except ValueError as exc:
        print(f"lead-pipeline erase: {exc}", file=sys.stderr)
        return 2
    if result is None:
        return 1
    out.write(
        f"erased {_rows(result['operational'])} operational rows, {_rows(result['warehouse'])} warehouse rows, "
        f"{result['blobs']} blobs; redacted {_rows(result['redacted']['operational'])} operational and "
        f"{_rows(result['redacted']['warehouse'])} warehouse mentions\n"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lead-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="one full pass over every configured source through the whole graph")
    run.add_argument("--all-days", action="store_true", help="reprocess every landed day, not only new ones")
    run.add_argument("--json", action="store_true", help="print the summary as JSON, without progress lines")
    run.set_defaults(handler=cmd_run)

    parse = commands.add_parser("parse", help="raw RFC 5322 messages to JSON Lines")
    parse.add_argument("paths", nargs="+", metavar="PATH", help="a .eml file, a folder, an mbox file, a Maildir, or -")
    parse.add_argument("--strict", action="store_true", help="exit 1 when any message could not be parsed")
    parse.set_defaults(handler=cmd_parse)

    generate = commands.add_parser("generate", help="realistic synthetic mail for load tests and benchmarks")
    generate.add_argument("--messages", type=int, required=True, metavar="N", help="how many messages")
    generate.add_argument("--out", required=True, metavar="DIR",
                          help="output folder: DIR/YYYY-MM-DD/<n>.eml, or DIR/inbox.mbox with --format mbox")
    generate.add_argument("--seed", type=int, default=0, help="the same seed gives the same messages (default 0)")
    generate.add_argument("--start", default="2026-01-01", metavar="YYYY-MM-DD",
                          help="first day of arrival (default 2026-01-01)")
    generate.add_argument("--days", type=int, default=365, help="days the arrivals spread over (default 365)")
    generate.add_argument("--format", choices=("eml", "mbox"), default="eml", help="eml files (default) or one mbox")
    generate.set_defaults(handler=cmd_generate)

    link = commands.add_parser("attachment-link", help="a short-lived download link to a stored, clean attachment")
    link.add_argument("sha256", help="the attachment's sha256 (warehouse lead_attachments.sha256)")
    link.add_argument("--expires", type=int, default=900, metavar="SECONDS", help="validity (default 900)")
    link.set_defaults(handler=cmd_attachment_link)
    export = commands.add_parser("export", help="subject access: everything held about an address, as JSON")
    export.add_argument("email", metavar="EMAIL")
    export.add_argument("--out", metavar="FILE", help="where to write the JSON (default ./subject-export.json)")
    export.set_defaults(handler=cmd_export)

    erase = commands.add_parser("erase", help="erase an address from every store, keeping only a keyed hash")
    erase.add_argument("email", metavar="EMAIL")
    erase.set_defaults(handler=cmd_erase)

    webhook = commands.add_parser("webhook", help="the webhook receiver")
    webhook_commands = webhook.add_subparsers(dest="webhook_command", required=True)
    serve = webhook_commands.add_parser("serve", help="receive deliveries, land them durably, answer 202")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8787)
    serve.set_defaults(handler=cmd_webhook_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
