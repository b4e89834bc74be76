"""Outlets: creating them with their domains, matching an article to its outlet (by domain, then
name), and importing them from an outlets file (domains, feeds, and the file's rating appended to
the history through the rating writes). Each write runs in one transaction."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from sources.importing import OutletRow
from sources.models import Feed, Outlet, OutletDomain
from sources.ratings import outlet_rating_add


def _unique_slug(name: str) -> str:
    base = slugify(name)[:180] or "outlet"
    slug, counter = base, 2
    while Outlet.objects.filter(slug=slug).exists():
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


def outlet_create(*, name: str, domain: str = "", country: str = "", owner: str = "") -> Outlet:
    with transaction.atomic():
        outlet = Outlet.objects.create(name=name, slug=_unique_slug(name), country=country, owner=owner)
        if domain:
            OutletDomain.objects.create(outlet=outlet, domain=domain)
    return outlet


def outlet_for_article(*, domain: str, name: str = "") -> Outlet:
    """The outlet an article belongs to, matched by domain then by name; created unrated if unknown."""
    domain = domain.lower().removeprefix("www.")
    if domain:
        outlet = Outlet.objects.for_domain(domain).first()
        if outlet is not None:
            return outlet
    if name:
        outlet = Outlet.objects.filter(name__iexact=name).first()
        if outlet is not None:
            if domain:
                OutletDomain.objects.get_or_create(domain=domain, defaults={"outlet": outlet})
            return outlet
    try:
        # A domain may be longer than a name may (253 against 200 characters).
        return outlet_create(name=(name or domain)[:200], domain=domain)
    except IntegrityError:
        # Another worker created it between our read and our write.
        return Outlet.objects.for_domain(domain).get()


def outlet_import(*, row: OutletRow, entered_by: User | None = None) -> tuple[Outlet, bool]:
    """Create or update an outlet from an import row; a new lean is appended to its rating history."""
    with transaction.atomic():
        outlet = Outlet.objects.for_domain(row.domain).first() if row.domain else None
        if outlet is None:
            outlet = Outlet.objects.filter(name__iexact=row.name).first()
        created = outlet is None
        if outlet is None:
            outlet = outlet_create(name=row.name, domain=row.domain, country=row.country, owner=row.owner)
        else:
            outlet.country = row.country or outlet.country
            outlet.owner = row.owner or outlet.owner
            outlet.save(update_fields=["country", "owner"])
            if row.domain:
                OutletDomain.objects.get_or_create(domain=row.domain, defaults={"outlet": outlet})
        for feed_url in row.feeds:
            Feed.objects.get_or_create(url=feed_url, defaults={"outlet": outlet})
        rated_by = row.rated_by or "Imported without attribution"
        changed = bool(row.lean) and (row.lean, row.factuality) != (outlet.lean, outlet.factuality)
        # The file's rating may be in the history without being current (a curator rated the
        # outlet since, or the file's rating is older): importing the file again must not repeat it.
        if (
            changed
            and not outlet.ratings.filter(
                lean=row.lean,
                factuality=row.factuality,
                rated_by=rated_by,
                **({"rated_at": row.rated_at} if row.rated_at else {}),
            ).exists()
        ):
            outlet_rating_add(
                outlet=outlet,
                lean=row.lean,
                factuality=row.factuality,
                rated_by=rated_by,
                rated_at=row.rated_at,
                note=row.note,
                entered_by=entered_by,
            )
    return outlet, created
