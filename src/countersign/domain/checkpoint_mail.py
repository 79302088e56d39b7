"""The mail that hands each organisation a new checkpoint of the audit log, to keep."""

from __future__ import annotations

import json

from countersign.domain.checkpoint import SignedCheckpoint
from countersign.domain.notifications import ENV, Mail

SUBJECT = "Audit log checkpoint: {size} entries"
TEXT = ENV.get_template("checkpoint.txt")
HTML = ENV.get_template("checkpoint.html")


def checkpoint_mail(recipient: str, signed: SignedCheckpoint, base_url: str) -> Mail:
    values = dict(size=signed.checkpoint.size, root=signed.checkpoint.root, key_id=signed.key_id,
                  checkpoint=json.dumps(signed.as_json(), indent=2), link=f"{base_url.rstrip('/')}/checkpoints")
    return Mail(recipient, SUBJECT.format(**values), TEXT.render(values), HTML.render(values), "checkpoint")
