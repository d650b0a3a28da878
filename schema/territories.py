"""Territory layers, territories and site assignments in the GraphQL contract (domain.md §4.3)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import sites as site_resolvers
from resolvers import territories as service
from resolvers.errors import BadUserInput
from resolvers.records import AssignmentView, LayerRecord, TerritoryView
from schema.common import Ctx, SiteOrderField
from schema.scalars import GeoJSON

if TYPE_CHECKING:
    from schema.sites import SiteConnection


@strawberry.enum(description="How a layer's territories relate to each other.")
class LayerKind(enum.Enum):
    PARTITION = strawberry.enum_value(
        "partition", description="Territories do not overlap: a site is in at most one."
    )
    OVERLAY = strawberry.enum_value(
        "overlay", description="Territories may overlap (ties go to the smallest)."
    )


@strawberry.enum(description="How a site came to be in a territory.")
class AssignmentMethod(enum.Enum):
    POINT_IN_POLYGON = strawberry.enum_value(
        "point_in_polygon",
        description="The site's point is covered by the polygon (`ST_Covers`, borders inside).",
    )
    MANUAL = strawberry.enum_value(
        "manual", description="Set by hand; wins over point-in-polygon until cleared."
    )
    INITIAL = strawberry.enum_value(
        "initial",
        description="The site's first assignment in the layer (point in polygon), in force since its start "
        "date, or since the beginning of the record when that is unknown.",
    )


@strawberry.type(
    description="A territory layer: districts, regions, … (`partition`: no overlaps; `overlay`: may overlap)."
)
class TerritoryLayer:
    id: int = strawberry.field(description="Database id of the layer.")
    code: str = strawberry.field(description="Stable code used in arguments, e.g. `districts`.")
    name: str = strawberry.field(description="Display name.")
    kind: LayerKind = strawberry.field(description="Partition or overlay.")
    description: str | None = strawberry.field(
        description="What the layer stands for and where it comes from."
    )

    @classmethod
    def from_row(cls, row: LayerRecord) -> TerritoryLayer:
        return cls(
            id=row.id, code=row.code, name=row.name, kind=LayerKind(row.kind), description=row.description
        )

    @strawberry.field(description="The layer's territories, by code.")
    async def territories(self, info: Ctx) -> list[Territory]:
        return [Territory.from_view(v) for v in await info.context.loaders.territories_of_layer.load(self.id)]


@strawberry.type(description="A territory polygon of a layer (EPSG:4326).")
class Territory:
    id: int = strawberry.field(description="Database id of the territory.")
    code: str = strawberry.field(description="Code, unique within its layer, e.g. `orlando`.")
    name: str = strawberry.field(description="Display name.")
    source_district: str | None = strawberry.field(
        description="The legacy district string this polygon stands for."
    )
    version: int = strawberry.field(
        description="Incremented on every edit of the geometry, name or code (as of an instant: the version then)."
    )
    area_km2: float = strawberry.field(description="Geodesic area in km².")
    _layer_id: strawberry.Private[int]
    # None: the territory as it is now; else the version in force at this instant (code, name, geometry)
    _as_of: strawberry.Private[dt.datetime | None] = None

    @classmethod
    def from_view(cls, view: TerritoryView, *, as_of: dt.datetime | None = None) -> Territory:
        return cls(
            id=view.id,
            code=view.code,
            name=view.name,
            source_district=view.source_district,
            version=view.version,
            area_km2=round(view.area_km2, 3),
            _layer_id=view.layer_id,
            _as_of=as_of,
        )

    @strawberry.field(description="The layer the territory belongs to.")
    async def layer(self, info: Ctx) -> TerritoryLayer:
        row = await info.context.loaders.layer_by_id.load(self._layer_id)
        assert row is not None
        return TerritoryLayer.from_row(row)

    @strawberry.field(
        description="GeoJSON MultiPolygon, lon/lat EPSG:4326, coordinates to 6 decimals: of the version in "
        "force at the `asOf` the territory was asked for, if any."
    )
    async def geometry(
        self,
        info: Ctx,
        simplify_tolerance: Annotated[
            float | None,
            strawberry.argument(
                description="Simplify (topology preserved) by this many degrees, 0–1, for web maps; "
                "null: the full geometry."
            ),
        ] = None,
    ) -> GeoJSON:
        if simplify_tolerance is not None and not 0 <= simplify_tolerance <= 1:
            raise BadUserInput(
                f"simplifyTolerance must be between 0 and 1 degree, got {simplify_tolerance}",
                argument="simplifyTolerance",
            )
        text = await info.context.loaders.geometry.load((self.id, simplify_tolerance or None, self._as_of))
        assert text is not None  # the territory exists: it was loaded to get here
        return GeoJSON(text)

    @strawberry.field(description="Number of sites currently assigned to this territory.")
    async def site_count(self, info: Ctx) -> int:
        return await info.context.loaders.site_count.load(self.id)

    @strawberry.field(description="The sites currently assigned to this territory, as a Relay connection.")
    async def sites(
        self,
        info: Ctx,
        first: Annotated[int, strawberry.argument(description="Page size, 0–500.")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
        order_by: Annotated[
            SiteOrderField, strawberry.argument(description="Sort order of the sites.")
        ] = SiteOrderField.SITE_NUMBER,
    ) -> Annotated[SiteConnection, strawberry.lazy("schema.sites")]:
        from schema.sites import SiteConnection

        page = await site_resolvers.territory_site_page(
            info.context, territory_id=self.id, order=order_by.order, first=first, after=after
        )
        return SiteConnection.from_page(page)


@strawberry.type(
    description="A site's assignment to a territory of one layer, valid from `validFrom` until `validTo`; "
    "`territory` null = explicitly unassigned (in no territory of the layer)."
)
class SiteTerritory:
    method: AssignmentMethod = strawberry.field(description="How the site came to be there.")
    valid_from: dt.datetime | None = strawberry.field(
        description="Start of the assignment (inclusive); null: since the beginning of the record (a first "
        "assignment whose site start date is unknown)."
    )
    valid_to: dt.datetime | None = strawberry.field(description="End (exclusive); null while it holds.")
    _view: strawberry.Private[AssignmentView]
    # the instant asked for (Site.territory(asOf:)): the territory is then the version in force at it
    _as_of: strawberry.Private[dt.datetime | None] = None

    @classmethod
    def from_view(cls, view: AssignmentView, *, as_of: dt.datetime | None = None) -> SiteTerritory:
        return cls(
            method=AssignmentMethod(view.method),
            valid_from=view.valid_from,
            valid_to=view.valid_to,
            _view=view,
            _as_of=as_of,
        )

    @strawberry.field(description="The layer of the assignment.")
    async def layer(self, info: Ctx) -> TerritoryLayer:
        row = await info.context.loaders.layer_by_id.load(self._view.layer_id)
        assert row is not None
        return TerritoryLayer.from_row(row)

    @strawberry.field(
        description="The territory; null when the site is in none of the layer's territories. As of an "
        "instant: the territory's version then (as `Query.territory(asOf:)`)."
    )
    async def territory(self, info: Ctx) -> Territory | None:
        if self._view.territory_id is None:
            return None
        if self._as_of is not None:
            view = await info.context.loaders.territory_as_of.load((self._view.territory_id, self._as_of))
        else:
            view = await info.context.loaders.territory_by_id.load(self._view.territory_id)
        return Territory.from_view(view, as_of=self._as_of) if view else None


@strawberry.type
class TerritoryRoot:
    @strawberry.field(description="Every territory layer, by id.")
    async def territory_layers(self, info: Ctx) -> list[TerritoryLayer]:
        return [TerritoryLayer.from_row(row) for row in await service.layers(info.context)]

    @strawberry.field(description="A territory layer by code; an unknown code is BAD_USER_INPUT.")
    async def territory_layer(
        self,
        info: Ctx,
        code: Annotated[str, strawberry.argument(description="Layer code, e.g. `districts`.")],
    ) -> TerritoryLayer | None:
        return TerritoryLayer.from_row(await service.layer(info.context, code))

    @strawberry.field(
        description="A territory by layer and code; with `asOf`, the version in force at that instant (its "
        "code, name, version, area and geometry then), so it agrees with `Site.territory(asOf:)`; null when "
        "it was not in force then. An unknown layer or code is BAD_USER_INPUT."
    )
    async def territory(
        self,
        info: Ctx,
        layer: Annotated[str, strawberry.argument(description="Layer code, e.g. `districts`.")],
        code: Annotated[str, strawberry.argument(description="Territory code, e.g. `orlando`.")],
        as_of: Annotated[
            dt.datetime | None,
            strawberry.argument(description="An instant with a time-zone offset; null: now."),
        ] = None,
    ) -> Territory | None:
        view = await service.territory(info.context, layer, code, as_of)
        return Territory.from_view(view, as_of=as_of) if view else None
