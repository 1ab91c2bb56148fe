#!/usr/bin/env python3
"""Verifies the DKIM signatures of messages with dkimpy, an independent verifier; the public key is
handed to it through its DNS hook (`dnsfunc`), so no DNS is asked.

usage: dkim_verify.py SELECTOR DOMAIN TXT-RECORD FILE...
  TXT-RECORD is the key record as it would be published at SELECTOR._domainkey.DOMAIN,
  e.g. "v=DKIM1; k=ed25519; p=...". Each FILE holds one message; LF line ends (as smtp-sink and
  maildir store them) are turned back into CRLF first.
Prints "ok FILE a=... h=..." or "FAIL FILE" (with dkimpy's log) per file.
Exit status: 0 all verified, 1 some failed, 2 dkimpy (or PyNaCl, for Ed25519) is not installed.
"""
import io
import logging
import sys

try:
    import dkim
except ImportError:
    print("dkimpy is not installed: pip install dkimpy pynacl", file=sys.stderr)
    sys.exit(2)

selector, domain, record, files = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4:]
if "k=ed25519" in sys.argv[3]:
    try:
        import nacl.signing  # noqa: F401
    except ImportError:
        print("PyNaCl is not installed (dkimpy needs it for Ed25519): pip install pynacl", file=sys.stderr)
        sys.exit(2)
wanted = f"{selector}._domainkey.{domain}.".lower()


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return record if name.lower() == wanted else None


failed = 0
for path in files:
    with open(path, "rb") as f:
        data = f.read()
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    log = io.StringIO()
    logger = logging.getLogger(f"dkim.{path}")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(logging.StreamHandler(log))
    d = dkim.DKIM(data, logger=logger)
    try:
        ok = d.verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        ok = False
        log.write(f"exception: {e}\n")
    fields = d.signature_fields or {}
    if ok:
        a = fields.get(b"a", b"").decode()
        h = fields.get(b"h", b"").decode().replace(" ", "")
        print(f"ok {path} a={a} h={h}")
    else:
        failed += 1
        print(f"FAIL {path}\n{log.getvalue()}")
sys.exit(1 if failed else 0)
