"""The checkpoint API and page: any signed-in user reads checkpoints and
proofs; a party's reps (or the platform's admins) register their
organisation's witness key and co-sign; a proposal that concludes is
followed by a checkpoint (signed from its recording activity)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest_asyncio
from sqlmodel import Session

from countersign.domain import merkle
from countersign.domain.checkpoint import SignedCheckpoint, Signer, check_signature, new_private_key_pem
from countersign.storage import checkpoints
from countersign.storage.db import transaction
from tests import factories
from tests.api.test_pages import submit
from workflows.worker import build_worker

ROLES = ("lead", "sony", "compliance", "admin")


@pytest_asyncio.fixture
async def worker(temporal_env, engine, task_queue, settings):
    """This module's worker signs checkpoints, with the app's key."""
    async with build_worker(temporal_env.client, engine, task_queue, factories.policy(),
                            checkpoint_signer=settings.checkpoint_signer) as running:
        yield running


def sign_now(engine, settings) -> SignedCheckpoint:
    with transaction(engine) as session:
        return checkpoints.sign(session, settings.checkpoint_signer, datetime.now(UTC), ())[0]


async def test_a_concluded_proposal_is_followed_by_a_checkpoint_any_user_reads(api, engine, settings):
    assert (await api("lead").get("/api/v1/checkpoints/latest")).status_code == 404
    proposal = await submit(api, parties=["sony"])
    decided = await api("sony").post(f"/api/v1/proposals/{proposal['id']}/decisions",
                                     json={"decision": "approve", "comment": "", "decision_id": "ck-1"})
    assert decided.status_code == 201, decided.text

    answers = {who: await api(who).get("/api/v1/checkpoints/latest") for who in ROLES}
    assert {who: a.status_code for who, a in answers.items()} == dict.fromkeys(ROLES, 200)
    latest = answers["lead"].json()
    assert set(latest) == {"size", "root", "time", "signature", "key_id", "cosignatures"}
    signed = SignedCheckpoint.from_json(latest)
    assert check_signature(signed, settings.checkpoint_signer.public_key) is None
    with Session(engine) as session:
        leaves = checkpoints.log_leaves(session).hashes
    assert merkle.root(leaves[:signed.checkpoint.size]).hex() == signed.checkpoint.root
    by_size = await api("compliance").get(f"/api/v1/checkpoints/{signed.checkpoint.size}")
    assert by_size.json() == latest
    key = (await api("sony").get("/api/v1/checkpoints/key")).json()
    assert key == {"key_id": signed.key_id, "public_key": settings.checkpoint_signer.public_pem()}
    assert (await api("lead").get("/api/v1/checkpoints/99999")).status_code == 404


async def test_proofs_are_served_and_bad_asks_answered_with_a_reason(api, engine, settings):
    await submit(api, parties=["sony"])
    first = sign_now(engine, settings)
    await submit(api, parties=["warner"])
    later = sign_now(engine, settings)
    old, new = first.checkpoint, later.checkpoint
    client = api("sony")

    answer = await client.get("/api/v1/checkpoints/proof/consistency", params={"from": old.size, "to": new.size})
    assert answer.status_code == 200
    proof = [bytes.fromhex(h) for h in answer.json()["proof"]]
    assert merkle.verify_consistency(old.size, new.size, bytes.fromhex(old.root), bytes.fromhex(new.root), proof)

    with Session(engine) as session:
        leaf = checkpoints.log_leaves(session).hashes[1]
    answer = await client.get("/api/v1/checkpoints/proof/inclusion", params={"hash": leaf.hex(), "size": new.size})
    found = answer.json()
    assert found["index"] == 1
    assert merkle.verify_inclusion(leaf, 1, new.size, [bytes.fromhex(h) for h in found["proof"]],
                                   bytes.fromhex(new.root))

    bad = await client.get("/api/v1/checkpoints/proof/consistency", params={"from": new.size, "to": old.size})
    assert bad.status_code == 422 and "no consistency proof" in bad.json()["detail"]
    missing = await client.get("/api/v1/checkpoints/proof/inclusion", params={"hash": "00" * 32, "size": new.size})
    assert missing.status_code == 404
    for path, params in (("consistency", {"from": 1, "to": new.size + 1}), ("inclusion", {"hash": leaf.hex(), "size": new.size + 1})):
        beyond = await client.get(f"/api/v1/checkpoints/proof/{path}", params=params)
        assert beyond.status_code == 404 and "fewer than" in beyond.json()["detail"]  # the log is not that big yet
    assert (await api("lead").get("/api/v1/checkpoints/latest", headers={"Authorization": ""})).status_code == 401


async def test_only_an_organisations_reps_or_the_platforms_admins_witness_for_it(api, engine, settings, browser,
                                                                                   users):
    await submit(api, parties=["sony"])
    signed = sign_now(engine, settings)
    size = signed.checkpoint.size
    keys = {who: Signer(new_private_key_pem()) for who in ROLES}
    answers = {who: await api(who).post("/api/v1/checkpoints/witnesses", json={"public_key": keys[who].public_pem()})
               for who in ROLES}
    assert {who: a.status_code for who, a in answers.items()} == {"lead": 403, "compliance": 403, "sony": 201,
                                                                   "admin": 201}
    assert answers["sony"].json()["party"] == "sony" and answers["admin"].json()["party"] == "platform"
    bad_key = await api("sony").post("/api/v1/checkpoints/witnesses", json={"public_key": "not a key"})
    assert bad_key.status_code == 422 and "PEM" in bad_key.json()["detail"]

    sony = keys["sony"]
    forged = await api("sony").post(f"/api/v1/checkpoints/{size}/cosignatures",
                                    json={"key_id": sony.key_id, "signature": keys["admin"].cosign(signed.checkpoint)})
    assert forged.status_code == 422 and "does not verify" in forged.json()["detail"]
    not_theirs = await api("admin").post(f"/api/v1/checkpoints/{size}/cosignatures",
                                         json={"key_id": sony.key_id, "signature": sony.cosign(signed.checkpoint)})
    assert not_theirs.status_code == 422  # the platform cannot co-sign with Sony's key
    good = await api("sony").post(f"/api/v1/checkpoints/{size}/cosignatures",
                                  json={"key_id": sony.key_id, "signature": sony.cosign(signed.checkpoint)})
    assert good.status_code == 201
    assert [c["party"] for c in good.json()["cosignatures"]] == ["sony"]
    unknown = await api("sony").post("/api/v1/checkpoints/99999/cosignatures",
                                     json={"key_id": sony.key_id, "signature": sony.cosign(signed.checkpoint)})
    assert unknown.status_code == 404

    for who in ("lead", "sony"):
        page = await (await browser(who)).client.get("/checkpoints")
        assert page.status_code == 200
        assert f'<tr data-size="{size}">' in page.text
        assert "<td data-witnesses>Sony Music Group</td>" in page.text
        assert settings.checkpoint_signer.key_id in page.text
    assert (await (await browser()).client.get("/checkpoints")).status_code in (303, 307)

    # Revocation: Sony's party admin revokes Sony's key; Warner's may not, nor a rep. The
    # cosignature made before stands, marked; the key co-signs nothing more.
    for party in ("sony", "warner"):
        users[f"{party}_admin"] = factories.user(engine, "party_admin", party, email=f"admin.{party}@example.com")
    revoke = f"/api/v1/checkpoints/witnesses/{sony.key_id}/revoke"
    refused = {who: (await api(who).post(revoke, json={"reason": "lost"})).status_code
               for who in ("sony", "compliance", "warner_admin")}
    assert refused == {"sony": 403, "compliance": 403, "warner_admin": 404}
    assert (await api("sony_admin").post(revoke, json={"reason": "two\nlines"})).status_code == 422
    revoked = await api("sony_admin").post(revoke, json={"reason": "laptop stolen"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_by"] == "admin.sony@example.com"
    listed = {k["key_id"]: k for k in (await api("lead").get("/api/v1/checkpoints/witnesses")).json()}
    assert listed[sony.key_id]["revocation_reason"] == "laptop stolen" and listed[keys["admin"].key_id]["revoked_at"] is None
    cosignature = (await api("lead").get(f"/api/v1/checkpoints/{size}")).json()["cosignatures"][0]
    assert cosignature["key_revoked_at"][:16] == revoked.json()["revoked_at"][:16]
    await submit(api, parties=["warner"])
    later = sign_now(engine, settings).checkpoint
    after = await api("sony").post(f"/api/v1/checkpoints/{later.size}/cosignatures",
                                   json={"key_id": sony.key_id, "signature": sony.cosign(later)})
    assert after.status_code == 422 and "was revoked" in after.json()["detail"]

    page = (await (await browser("lead")).client.get("/checkpoints")).text
    assert "Sony Music Group (made before its key was revoked" in page and "laptop stolen" in page
    assert "/revoke" not in page  # a lead revokes nothing
    admin_page = await browser("admin")  # the page's form: the platform's key, by an admin
    platform_key = keys["admin"].key_id
    form = f"/checkpoints/witnesses/{platform_key}/revoke"
    assert (await admin_page.post(form, {"reason": "x"}, token="forged")).status_code == 403  # CSRF
    empty = await admin_page.post(form, {"reason": ""})
    assert empty.status_code == 422 and "Say why the key is revoked" in empty.text
    done = await admin_page.post(form, {"reason": "rotated"})
    assert done.status_code == 303
    listed = {k["key_id"]: k for k in (await api("lead").get("/api/v1/checkpoints/witnesses")).json()}
    assert listed[platform_key]["revocation_reason"] == "rotated"
