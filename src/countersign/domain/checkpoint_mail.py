"""The mail that hands each organisation a new checkpoint of the audit log, to keep."""

from __future__ import annotations

import json
from dataclasses import dataclass

from countersign.domain.checkpoint import SignedCheckpoint
from countersign.domain.notifications import ENV

SUBJECT = "Audit log checkpoint: {size} entries"
TEXT = ENV.get_template("checkpoint.txt")
HTML = ENV.get_template("checkpoint.html")


@dataclass(frozen=True)
class CheckpointMail:
    """The mail, the same for every recipient."""

    subject: str
    body: str
    html_body: str
    kind: str = "checkpoint"


def checkpoint_mail(signed: SignedCheckpoint, base_url: str) -> CheckpointMail:
    values = dict(size=signed.checkpoint.size, root=signed.checkpoint.root, key_id=signed.key_id,
                  checkpoint=json.dumps(signed.as_json(), indent=2), link=f"{base_url.rstrip('/')}/checkpoints")
    return CheckpointMail(SUBJECT.format(**values), TEXT.render(values), HTML.render(values))
