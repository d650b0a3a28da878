"""Site management in the GraphQL contract (issue 10 §1; domain.md §1.2, §3.9): billingAdmin only.

`addCustomerSite`, `updateCustomerSite`, `closeCustomerSite`, `reopenCustomerSite`. Expected failures are
`Problem` members of each mutation's result union; a malformed argument is `BAD_USER_INPUT` naming its path
(`input.glString`, `input.location.lat`). Nothing is written on any refusal.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry

from resolvers import site_admin as service
from resolvers.errors import TowneError
from schema.access import site_admin
from schema.common import Ctx
from schema.contracts import BillingType
from schema.problems import (
    NotFoundProblem,
    SiteChangedProblem,
    SiteNumberInUseProblem,
    TransitionNotAllowedProblem,
    ZipNotGeocodableProblem,
    problem,
)
from schema.sites import PointInput, Site
from schema.territories import SiteTerritoryChange

_REFRESHABLE = " Refreshable: the nightly EDW master refresh owns it and may overwrite it (domain.md §1.2)."
_MANUAL = " Manually maintained: no refresh overwrites it (domain.md §1.2)."


@strawberry.input(description="A new customer site (domain.md §1.2) and how its contract starts.")
class AddCustomerSiteInput:
    site_number: str = strawberry.field(
        description="1–4 digits, stored zero-padded to 4 (e.g. `349` → `0349`); unique."
    )
    name: str = strawberry.field(description="Name of the operation, 1–200 characters." + _REFRESHABLE)
    street: str = strawberry.field(description="Street part of the address, 1–200 characters." + _MANUAL)
    city: str = strawberry.field(description="City, 1–100 characters." + _MANUAL)
    state: str = strawberry.field(description="2-letter USPS state code, e.g. `FL`." + _MANUAL)
    zip: str = strawberry.field(
        description="5-digit ZIP code; without `location` the site is geocoded by it offline." + _MANUAL
    )
    gl_string: str = strawberry.field(
        description="GL string prefix `EE-RR-CCCC-` (entity, region, cost centre, trailing hyphen), e.g. "
        "`02-03-1009-` (§3.8)."
    )
    location: PointInput | None = strawberry.field(
        default=None,
        description="The site's point, lon/lat EPSG:4326 (geocode method `manual`); null: geocoded by ZIP "
        "(`zip`, else `zip3_prefix`), ZIP_NOT_GEOCODABLE when the ZIP is unknown.",
    )
    source_district: str | None = strawberry.field(
        default=None, description="Legacy district label, e.g. `D - Orlando`." + _REFRESHABLE
    )
    parking_spaces: int | None = strawberry.field(
        default=None, description="Number of parking spaces, 0–1,000,000." + _REFRESHABLE
    )
    rooms: int | None = strawberry.field(
        default=None, description="Number of hotel rooms, 0–1,000,000." + _REFRESHABLE
    )
    vendor_id: str | None = strawberry.field(
        default=None, description="Great Plains vendor id for negative invoices (§3.8)." + _MANUAL
    )
    start_date: dt.date | None = strawberry.field(
        default=None, description="First day of operation (the anniversary logic's contract start)."
    )
    billing_type: BillingType = strawberry.field(
        default=BillingType.ARREARS,
        description="The new contract's billing type; Arrears by default (domain.md §1.2).",
    )
    contract_type: str | None = strawberry.field(
        default=None,
        description="The EDW contract-type label (`Revenue Share`, `Per Labor Hour`, …), informational.",
    )


@strawberry.input(
    description="Changes to a site: a field left out is kept; null clears an optional field. Each field "
    "says whether it is refreshable (the EDW master refresh owns it) or manually maintained (§1.2)."
)
class UpdateCustomerSiteInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name." + _REFRESHABLE)
    source_district: str | None = strawberry.field(
        default=strawberry.UNSET, description="Legacy district label." + _REFRESHABLE
    )
    parking_spaces: int | None = strawberry.field(
        default=strawberry.UNSET, description="Parking spaces, 0–1,000,000." + _REFRESHABLE
    )
    rooms: int | None = strawberry.field(
        default=strawberry.UNSET, description="Hotel rooms, 0–1,000,000." + _REFRESHABLE
    )
    street: str | None = strawberry.field(default=strawberry.UNSET, description="Street." + _MANUAL)
    city: str | None = strawberry.field(default=strawberry.UNSET, description="City." + _MANUAL)
    state: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="2-letter state; without `location` the site is re-geocoded by ZIP." + _MANUAL,
    )
    zip: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="5-digit ZIP; without `location` the site is re-geocoded by it (and moves, reassigned "
        "with history)." + _MANUAL,
    )
    location: PointInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Move the site to this point (lon/lat EPSG:4326, method `manual`): it is reassigned in "
        "every layer, with history.",
    )
    gl_string: str | None = strawberry.field(
        default=strawberry.UNSET, description="GL string prefix `EE-RR-CCCC-`." + _MANUAL
    )
    vendor_id: str | None = strawberry.field(
        default=strawberry.UNSET, description="Great Plains vendor id." + _MANUAL
    )
    invoice_recipient: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Who invoices are addressed to, e.g. `Accounts Payable`." + _MANUAL,
    )
    billing_contact_emails: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The addresses invoices are e-mailed to (1–10, each `local@domain`, no duplicates); null or "
        "[] clears them." + _MANUAL,
    )
    start_date: dt.date | None = strawberry.field(
        default=strawberry.UNSET, description="First day of operation."
    )


_FIELDS = {
    "name": "name",
    "source_district": "sourceDistrict",
    "parking_spaces": "parkingSpaces",
    "rooms": "rooms",
    "street": "street",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "location": "location",
    "gl_string": "glString",
    "vendor_id": "vendorId",
    "invoice_recipient": "invoiceRecipient",
    "billing_contact_emails": "billingContactEmails",
    "start_date": "startDate",
}


def _patch(raw: UpdateCustomerSiteInput) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for attribute, name in _FIELDS.items():
        value = getattr(raw, attribute)
        if value is strawberry.UNSET:
            continue
        if isinstance(value, PointInput):
            value = service.Point(value.lon, value.lat)
        patch[name] = value
    return patch


@strawberry.type(description="The site a site mutation wrote, re-read after it.")
class CustomerSitePayload:
    site: Site = strawberry.field(description="The site, with its contract and territories.")
    site_changes: list[SiteTerritoryChange] = strawberry.field(
        description="The site's assignments that changed (a new site: its first territory in every layer it "
        "falls in; a move: from which territory to which)."
    )

    @classmethod
    def of(cls, done: service.SiteOutcome) -> CustomerSitePayload:
        return cls(
            site=Site.from_row(done.site),
            site_changes=[
                SiteTerritoryChange(
                    site_number=c.site_number, layer=c.layer_code, from_code=c.from_code, to_code=c.to_code
                )
                for c in done.site_changes
            ],
        )


AddSiteResult = Annotated[
    CustomerSitePayload | SiteNumberInUseProblem | ZipNotGeocodableProblem,
    strawberry.union("AddCustomerSiteResult", description="The new site, or why nothing was written."),
]
UpdateSiteResult = Annotated[
    CustomerSitePayload | NotFoundProblem | SiteChangedProblem | ZipNotGeocodableProblem,
    strawberry.union("UpdateCustomerSiteResult", description="The changed site, or why nothing was written."),
]
CloseSiteResult = Annotated[
    CustomerSitePayload | NotFoundProblem | TransitionNotAllowedProblem,
    strawberry.union("CloseCustomerSiteResult", description="The site, or why it did not change."),
]

_SITE_NUMBER = Annotated[str, strawberry.argument(description="1–4 digits, e.g. 349.")]


@strawberry.type(
    description="Site management (issue 10 §1): each mutation locks the site it changes, validates every "
    "field first, and assigns a new or moved site in every territory layer in the same transaction."
)
class SiteMutations:
    @strawberry.mutation(
        extensions=site_admin("addCustomerSite"),
        description="Add a customer site and its contract (billing type Arrears unless given, no building "
        "blocks yet, `configurationSource` `api`), located by the given point or geocoded by ZIP, and "
        "assigned in every territory layer.",
    )
    async def add_customer_site(
        self, info: Ctx, input: Annotated[AddCustomerSiteInput, strawberry.argument(description="The site.")]
    ) -> AddSiteResult | None:
        raw = service.NewSite(
            site_number=input.site_number,
            name=input.name,
            street=input.street,
            city=input.city,
            state=input.state,
            zip=input.zip,
            gl_string=input.gl_string,
            location=service.Point(input.location.lon, input.location.lat) if input.location else None,
            source_district=input.source_district,
            parking_spaces=input.parking_spaces,
            rooms=input.rooms,
            vendor_id=input.vendor_id,
            start_date=input.start_date,
            billing_type=input.billing_type.name,
            contract_type=input.contract_type,
        )
        try:
            done = await service.add_site(info.context, raw)
        except TowneError as error:
            return problem(error, AddSiteResult)  # type: ignore[no-any-return]
        return CustomerSitePayload.of(done)

    @strawberry.mutation(
        extensions=site_admin("updateCustomerSite"),
        description="Change a site's fields; moving it (a new `location`, or a new ZIP or state without one) "
        "reassigns it in every layer, with history. With `expectedUpdatedAt` the change applies only if "
        "the site is unchanged since (SiteChangedProblem otherwise).",
    )
    async def update_customer_site(
        self,
        info: Ctx,
        site_number: _SITE_NUMBER,
        input: Annotated[UpdateCustomerSiteInput, strawberry.argument(description="The changes.")],
        expected_updated_at: Annotated[
            dt.datetime | None,
            strawberry.argument(description="The site's `updatedAt` as the caller read it; null: no check."),
        ] = None,
    ) -> UpdateSiteResult | None:
        try:
            done = await service.update_site(
                info.context,
                site_number=site_number,
                patch=_patch(input),
                expected_updated_at=expected_updated_at,
            )
        except TowneError as error:
            return problem(error, UpdateSiteResult)  # type: ignore[no-any-return]
        return CustomerSitePayload.of(done)

    @strawberry.mutation(
        extensions=site_admin("closeCustomerSite"),
        description="Close a site: its close date is set and it becomes inactive. Service periods starting "
        "after the close date are not billed (SITE_CLOSED); the period containing it still is, whole.",
    )
    async def close_customer_site(
        self,
        info: Ctx,
        site_number: _SITE_NUMBER,
        close_date: Annotated[dt.date, strawberry.argument(description="Last day of operation.")],
    ) -> CloseSiteResult | None:
        try:
            done = await service.close_site(info.context, site_number=site_number, close_date=close_date)
        except TowneError as error:
            return problem(error, CloseSiteResult)  # type: ignore[no-any-return]
        return CustomerSitePayload.of(done)

    @strawberry.mutation(
        extensions=site_admin("reopenCustomerSite"),
        description="Reopen a closed site: the close date is cleared and it is active again.",
    )
    async def reopen_customer_site(self, info: Ctx, site_number: _SITE_NUMBER) -> CloseSiteResult | None:
        try:
            done = await service.reopen_site(info.context, site_number=site_number)
        except TowneError as error:
            return problem(error, CloseSiteResult)  # type: ignore[no-any-return]
        return CustomerSitePayload.of(done)
