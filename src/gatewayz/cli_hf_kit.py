"""``gatewayz hf provider-kit``: write the files of the pull requests that list the
gateway as a Hugging Face Inference Provider (see ``gatewayz.provider_kit``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatewayz.config import ModelConfig
    from gatewayz.services.registry import Registry


def cmd_provider_kit(args: argparse.Namespace) -> int:
    from gatewayz.cli_models import _open, _with_registry
    from gatewayz.config import ConfigError
    from gatewayz.db.location import shown
    from gatewayz.provider_kit.identity import identity
    from gatewayz.provider_kit.kit import CHECKLIST, Logos, build, generated_logos
    from gatewayz.provider_kit.logos import checked_logo
    from gatewayz.provider_kit.offer import offer_of
    from gatewayz.provider_kit.writer import check_out, write

    # Everything given on the command line is checked before the registry is read.
    who = identity(
        args.name,
        args.base_url,
        display=args.display_name,
        website=args.website,
        hub_org=args.hub_org,
    )
    target = check_out(args.out)
    if args.logo is not None and (args.logo_light or args.logo_dark):
        raise ConfigError("give --logo, or --logo-light and --logo-dark, not both")
    if bool(args.logo_light) != bool(args.logo_dark):
        raise ConfigError("--logo-light and --logo-dark go together")
    if args.logo is not None:
        logo = checked_logo("--logo", args.logo)
        logos = Logos(logo, logo, f"from {args.logo}")
    elif args.logo_light:
        logos = Logos(
            checked_logo("--logo-light", args.logo_light),
            checked_logo("--logo-dark", args.logo_dark),
            f"from {args.logo_light} and {args.logo_dark}",
        )
    else:
        logos = generated_logos(who)

    async def models(registry: Registry) -> tuple[list[ModelConfig], dict[str, str]]:
        entries = list(registry.all())
        unverified = {m.id: why for m in entries if (why := registry.not_verified(m.id))}
        return entries, unverified

    opened = _open(args)
    database = shown(opened.database_url)
    print(f"registry: {database}")
    entries, unverified = _with_registry(args, models, opened)
    offer = offer_of(
        entries,
        include_staging=args.include_staging,
        unverified=unverified,
        include_unchecked=args.include_unchecked,
    )
    written = write(target, build(who, offer, logos, database))
    print(
        f"wrote the provider kit for {who.name!r} ({len(offer.models)} models; tasks: "
        f"{', '.join(offer.tasks)}): {len(written)} files in {target}"
    )
    for left in offer.left_out:
        print(f"  left out {left.provider_id}: {left.reason}")
    print(f"next: follow {target / CHECKLIST}")
    return 0


def add_command(hf: Any) -> None:
    """Register ``provider-kit`` on the ``hf`` subparsers."""
    kit = hf.add_parser(
        "provider-kit",
        help="write the huggingface_hub, huggingface.js and hub-docs pull requests' files",
    )
    kit.add_argument("--name", required=True, help="your provider name on the Hub, e.g. acme-ai")
    kit.add_argument(
        "--base-url",
        required=True,
        help="the gateway's public address, https://... (http:// for loopback only)",
    )
    kit.add_argument("--out", required=True, help="a new or empty directory (or an old kit)")
    kit.add_argument("--display-name", help="how the name is shown (default: from --name)")
    kit.add_argument("--website", help="your website (default: --base-url)")
    kit.add_argument("--hub-org", help="your Hub organization (default: --name)")
    kit.add_argument("--logo", help="one SVG logo for light and dark themes")
    kit.add_argument("--logo-light", help="the SVG logo for light themes")
    kit.add_argument("--logo-dark", help="the SVG logo for dark themes")
    kit.add_argument(
        "--include-staging", action="store_true", help="include staging models (default: live)"
    )
    kit.add_argument(
        "--include-unchecked",
        action="store_true",
        help="include live models without a current passing 'gatewayz hf check' "
        "(default: left out, as hf sync does not push them as live)",
    )
    kit.add_argument("--config", default=argparse.SUPPRESS)
    kit.set_defaults(func=cmd_provider_kit)
