"""What each organisation may receive of an audit entry as a webhook event."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks import Webhook

from countersign.domain import webhooks

AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def test_a_label_sees_its_own_comment_not_anothers_and_the_platform_sees_both():
    detail = {"decision": "reject", "comment": "our catalogue is out"}
    assert webhooks.visible_detail("decided", "sony", detail, "sony") == (detail, [])
    assert webhooks.visible_detail("decided", "sony", detail, None) == (detail, [])
    shown, withheld = webhooks.visible_detail("decided", "sony", detail, "warner")
    assert shown == {"decision": "reject"} and withheld == ["comment"]


def test_a_label_sees_only_its_own_conditions():
    detail = {"conditions": "sony: credit the artist\nwarner: pilot in two markets"}
    shown, withheld = webhooks.visible_detail("conditions_acknowledged", None, detail, "warner")
    assert shown == {"conditions": "warner: pilot in two markets"} and withheld


def test_a_label_receives_proposals_touching_its_catalog_and_the_platform_all():
    assert webhooks.may_receive("sony", ["sony", "warner"]) and webhooks.may_receive(None, ["merlin"])
    assert not webhooks.may_receive("sony", ["warner"])


def test_the_payload_carries_the_entrys_seq_and_hash_and_a_new_secret_signs():
    body = webhooks.payload("submitted", 7, 1, "ab" * 32, "0" * 64, AT, "lead@example.com", None,
                            {"version": "1"}, "sony", "AI remix studio")
    assert body["type"] == "proposal.submitted" and body["id"] == "evt_7_1"
    assert (body["data"]["proposal_id"], body["data"]["seq"], body["data"]["hash"]) == (7, 1, "ab" * 32)
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and secret != webhooks.new_secret()
    assert Webhook(secret).sign("evt_7_1", AT, "{}").startswith("v1,")
