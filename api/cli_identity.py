"""`countersign scim-token create --party P | --platform`: an organisation's SCIM bearer token."""

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
