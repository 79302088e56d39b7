"""`GET /proposals/{id}/certificate.pdf`: the certificate of completion as a
signed PDF (PAdES), for those who may read the certificate page
(api.routes.audit.certificate: compliance and admins, once the proposal
concluded). Its reading is on the access chain, as the page's is.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from api.deps import PolicyDep, SessionDep, SettingsDep
from api.routes.audit import _auditable, _head, _log_read
from api.routes.pages import PageRoute, Viewer, error_page
from api.templating import state_label
from countersign.certificate.pdf import CertificateFacts, SignedDecision, VersionFacts, render
from countersign.certificate.signing import sign_pdf
from countersign.domain.errors import ProposalClosed
from countersign.domain.policy import Policy
from countersign.domain.routing import FINAL_STATUSES, Status
from countersign.storage import audit, checkpoints, messages, queries
from countersign.storage.signatures import decisions_signed
from countersign.storage.tables import Proposal, ProposalVersion, User, utcnow

ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The proposal's id")]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/proposals/{proposal_id}/certificate.pdf", name="certificate_pdf")
def certificate_pdf(request: Request, proposal_id: ProposalId, user: Viewer, session: SessionDep, policy: PolicyDep,
                    settings: SettingsDep) -> object:
    proposal = _auditable(session, user, proposal_id)
    if Status(proposal.status) not in FINAL_STATUSES:
        raise ProposalClosed(
            f"proposal {proposal.id} is still {proposal.status.replace('_', ' ')}: "
            "a certificate of completion is issued once it has concluded"
        )
    try:
        key = settings.certificate_signing_key
    except ValueError as error:  # production without a configured key: say what to set
        return error_page(request, 503, f"Signed certificates are not set up on this service: {error}.")
    _log_read(session, user, "certificate_pdf", [proposal.id])
    latest = checkpoints.latest(session)
    facts = certificate_facts(session, policy, user, proposal, latest.as_json() if latest else None)
    signed = sign_pdf(render(facts), key, reason=f"Certificate of completion of proposal {proposal.id}")
    return Response(signed, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="countersign-certificate-{proposal.id}.pdf"',
        "Cache-Control": "no-store",
    })


def certificate_facts(session: Session, policy: Policy, user: User, proposal: Proposal,
                      checkpoint: dict[str, Any] | None = None) -> CertificateFacts:
    entries = audit.chain(session, proposal.id)
    broken = audit.check_chain(entries)
    versions = session.exec(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)
                            .order_by(col(ProposalVersion.number))).all()
    concluded = next((e for e in reversed(entries) if e.kind == "concluded"), None)
    files = messages.version_files(session, proposal)  # each version's own, those carried forward included
    owner = session.get(User, proposal.owner_id)
    names = {key: party.name for key, party in policy.parties.items()}
    outcome = state_label(proposal.status)
    if proposal.outcome_scope:
        outcome += ", scoped to the catalogs of " + ", ".join(names.get(p, p) for p in proposal.outcome_scope)
    return CertificateFacts(
        proposal_id=proposal.id,
        title=proposal.title,
        outcome=outcome,
        concluded_at=concluded.at if concluded else None,
        lead=f"{owner.name} ({owner.email})" if owner else "",
        capability=proposal.capability,
        parties=[names.get(p, p) for p in proposal.parties],
        workflow_id=queries.workflow_id(proposal.id),
        versions=[VersionFacts(v.number, str(v.content.get("title", "")), v.submitted_by, v.submitted_at,
                               [{"name": f.name, "sha256": f.sha256, "size": f.size, "content_type": f.content_type}
                                for f in files[v.number].files]) for v in versions],
        decisions=[SignedDecision(signature, row.actor, row.comment, row.reauthenticated)
                   for row, signature in decisions_signed(session, proposal.id) if signature is not None],
        entries=len(entries),
        final_hash=_head(entries),
        chain=f"BROKEN at entry seq {broken.seq}: {broken.problem}" if broken else "intact when this certificate was issued",
        issued_at=utcnow(),
        issued_to=user.email,
        checkpoint=checkpoint,
    )
