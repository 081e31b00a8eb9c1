"""Real services for the attachment tests: a private clamd with an offline signature database, and an
S3-compatible HTTP server (moto) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lead_pipeline.attachments.scanning import ClamdScanner

# The EICAR anti-virus test file, assembled here so this source file is not itself "infected".
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIGNATURE = "LeadPipeline.Test.EICAR"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"


def clean_pdf(text: str = "Request for proposal") -> bytes:
    """A small, well-formed one-page PDF."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@contextmanager
def running_clamd(root: Path) -> Iterator[str]:
    """clamd on a unix socket under `root`, with only the EICAR hash signature (`.hdb`: md5:size:name),
    no freshclam and no network; yields its `unix://` address."""
    database = root / "db"
    database.mkdir(parents=True)
    (database / "eicar.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{EICAR_SIGNATURE}\n")
    socket_path = root / "clamd.sock"
    config = root / "clamd.conf"
    config.write_text(
        f"LocalSocket {socket_path}\nDatabaseDirectory {database}\nTemporaryDirectory {root}\n"
        f"LogFile {root / 'clamd.log'}\nForeground yes\nStreamMaxLength 64M\n"
    )
    process = subprocess.Popen([CLAMD, "--config-file", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    address = f"unix://{socket_path}"
    try:
        deadline = time.monotonic() + 60
        while not ClamdScanner(address).ping():
            if process.poll() is not None:
                raise RuntimeError(f"clamd exited {process.returncode}: {process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise RuntimeError("clamd did not answer PING within 60 s")
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_s3() -> Iterator[str]:
    """moto's S3-compatible server on a free port of 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def message_with_attachments(attachments: list[tuple[str, str, bytes]], subject: str = "RFP attached") -> bytes:
    """A raw RFC 5322 message from a prospect carrying `(filename, content type, bytes)` attachments."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Dana Whitfield <dana.whitfield@acme-robotics.example>"
    message["To"] = "sales@lead-pipeline.example"
    message["Subject"] = subject
    message["Date"] = "Thu, 05 Mar 2026 10:00:00 +0000"
    message["Message-ID"] = f"<{hashlib.sha256(subject.encode()).hexdigest()[:16]}@acme-robotics.example>"
    message.set_content("Hello, please find our RFP attached. We need 40 seats.\n\nDana")
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
