"""`countersign scim-token create --party P | --platform`: an organisation's SCIM bearer token;
`scim-token list` and `scim-token revoke ID`."""

from __future__ import annotations

from typing import Annotated

import typer

from countersign.domain.policy import PLATFORM_KEY

scim_token_app = typer.Typer(help="Manage organisations' SCIM provisioning tokens.", no_args_is_help=True)


@scim_token_app.command("create")
def scim_token_create(
    party: Annotated[
        str | None, typer.Option("--party", help="The party whose accounts the token reaches.")
    ] = None,
    platform: Annotated[
        bool, typer.Option("--platform", help="For the platform's own staff instead.")
    ] = False,
) -> None:
    """Print a new SCIM token for one organisation, alone on its line (shown once)."""
    from api.cli import fail, load_checked_policy, load_settings, migrated_engine, quiet_migrations
    from countersign.storage.db import transaction
    from countersign.storage.identity import create_scim_token

    if bool(party) == platform:
        fail("give --party KEY or --platform (one of them)")
    settings = load_settings()
    policy = load_checked_policy(settings)
    if party and party not in policy.parties:
        fail(f"unknown party {party!r}; the policy's parties: {', '.join(policy.parties)}")
    with quiet_migrations():
        engine = migrated_engine(settings)
    try:
        with transaction(engine) as session:
            token = create_scim_token(session, party or PLATFORM_KEY)
    finally:
        engine.dispose()
    typer.echo(token)


@scim_token_app.command("list")
def scim_token_list() -> None:
    """List SCIM tokens (never their secrets): id, organisation, created, revoked."""
    from api.cli import load_settings, migrated_engine, quiet_migrations
    from countersign.storage.db import transaction
    from countersign.storage.identity import scim_tokens

    settings = load_settings()
    with quiet_migrations():
        engine = migrated_engine(settings)
    try:
        with transaction(engine) as session:
            rows = scim_tokens(session)
    finally:
        engine.dispose()
    for row in rows:
        revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}Z" if row.revoked_at else "live"
        typer.echo(f"{row.id}\t{row.organisation}\tcreated {row.created_at:%Y-%m-%d %H:%M}Z\t{revoked}")


@scim_token_app.command("revoke")
def scim_token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (scim-token list).")]) -> None:
    """Revoke a SCIM token at once (its organisation's provisioning stops until it has a new one)."""
    from api.cli import fail, load_settings, migrated_engine, quiet_migrations
    from countersign.domain.identity import IdentityRefused
    from countersign.storage.db import transaction
    from countersign.storage.identity import revoke_scim_token

    settings = load_settings()
    with quiet_migrations():
        engine = migrated_engine(settings)
    try:
        with transaction(engine) as session:
            revoke_scim_token(session, token_id)
    except IdentityRefused as refused:
        fail(str(refused))
    finally:
        engine.dispose()
    typer.echo(f"SCIM token {token_id} revoked")
