"""Territory layers, territories and site assignments in the GraphQL contract (domain.md §4.3)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from resolvers import sites as site_resolvers
from resolvers import territories as service
from resolvers.errors import BadUserInput, TowneError
from resolvers.records import AssignmentView, LayerRecord, SiteChange, TerritoryView
from schema.access import gis_editor, manual_assigner
from schema.common import Ctx, SiteOrderField
from schema.problems import (
    CodeInUseProblem,
    GeometryProblem,
    ImportRefusedProblem,
    NotFoundProblem,
    OverlapProblem,
    SplitFailedProblem,
    TerritoryHasHistoryProblem,
    TerritoryRetiredProblem,
    VersionConflictProblem,
    problem,
)
from schema.scalars import JSON, GeoJSON
from spatial.validation import Repair

if TYPE_CHECKING:
    from schema.sites import Site, SiteConnection


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
    overlap_tolerance_m2: float = strawberry.field(
        description="Partition layers: the largest overlap (geodesic m²) two current territories may have; "
        "a larger one is refused, by the API and by the database at commit."
    )

    @classmethod
    def from_row(cls, row: LayerRecord) -> TerritoryLayer:
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            kind=LayerKind(row.kind),
            description=row.description,
            overlap_tolerance_m2=row.overlap_tolerance_m2,
        )

    @strawberry.field(description="The layer's current territories (retired ones are not listed), by code.")
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
    retired_at: dt.datetime | None = strawberry.field(
        description="When it was retired (it keeps its history, has no sites and is no longer listed in "
        "`TerritoryLayer.territories`); null while current, and for a version asked for `asOf`."
    )
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
            retired_at=view.retired_at,
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

    @strawberry.field(
        description="Every version of the territory, oldest first (who, when, code, name, geometry)."
    )
    async def history(self, info: Ctx) -> list[TerritoryVersion]:
        rows = await service.territory_history(info.context, self.id)
        return [
            TerritoryVersion(
                version=r.version,
                code=r.code,
                name=r.name,
                geometry=GeoJSON(r.geometry),
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                changed_by=r.changed_by,
                change=r.change,
            )
            for r in rows
        ]

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


# ================================================================================== editing (issue 9 §1)


@strawberry.type(description="One version of a territory (its code, name and geometry then).")
class TerritoryVersion:
    version: int = strawberry.field(description="1 for the first, then one more per edited transaction.")
    code: str = strawberry.field(description="Code in this version.")
    name: str = strawberry.field(description="Name in this version.")
    geometry: GeoJSON = strawberry.field(
        description="GeoJSON MultiPolygon, lon/lat EPSG:4326, 6 decimals, of this version."
    )
    valid_from: dt.datetime | None = strawberry.field(
        description="In force from (inclusive); null: since the beginning of the record (imported)."
    )
    valid_to: dt.datetime | None = strawberry.field(description="Until (exclusive); null while in force.")
    changed_by: str = strawberry.field(
        description="Who: the caller's token subject through the API, else the database login (QGIS, psql)."
    )
    change: str = strawberry.field(
        description="What made it: `create`, `update`, `restore`, `import`; a retirement closes the last "
        "version (its `validTo`) without a new one."
    )


@strawberry.type(description="A site whose territory in a layer changed (or would, in a dry run).")
class SiteTerritoryChange:
    site_number: str | None = strawberry.field(
        description="4-digit site number; null for a site outside the caller's scope (counted, not named)."
    )
    layer: str = strawberry.field(description="Layer code.")
    from_code: str | None = strawberry.field(description="The territory it was in; null: none.")
    to_code: str | None = strawberry.field(description="The territory it is in now; null: none.")


@strawberry.type(description="What `repair: true` changed to make a geometry valid (`make_valid`).")
class GeometryRepair:
    fault: str = strawberry.field(description="SELF_INTERSECTION or INVALID_GEOMETRY.")
    reason: str = strawberry.field(description="The fault in `explain_validity`'s words, with its location.")
    location: list[float] | None = strawberry.field(description="[lon, lat] of the fault.")
    area_before_m2: float = strawberry.field(
        description="Area of the rings as given, m² (a bowtie's lobes cancel: about 0)."
    )
    area_after_m2: float = strawberry.field(description="Area of the repaired geometry, m².")
    parts_before: int = strawberry.field(description="Polygons given.")
    parts_after: int = strawberry.field(description="Polygons after repair.")
    vertices_before: int = strawberry.field(description="Positions given.")
    vertices_after: int = strawberry.field(description="Positions after repair.")
    feature_index: int | None = strawberry.field(
        default=None, description="In an import: the feature it belongs to."
    )

    @classmethod
    def of(cls, repair: Repair, index: int | None = None) -> GeometryRepair:
        return cls(
            fault=repair.fault,
            reason=repair.reason,
            location=list(repair.location) if repair.location else None,
            area_before_m2=round(repair.area_before_m2, 1),
            area_after_m2=round(repair.area_after_m2, 1),
            parts_before=repair.parts_before,
            parts_after=repair.parts_after,
            vertices_before=repair.vertices_before,
            vertices_after=repair.vertices_after,
            feature_index=index,
        )


def _changes(rows: list[SiteChange]) -> list[SiteTerritoryChange]:
    return [
        SiteTerritoryChange(
            site_number=r.site_number, layer=r.layer_code, from_code=r.from_code, to_code=r.to_code
        )
        for r in rows
    ]


async def _territory(info: Ctx, territory_id: int | None) -> Territory | None:
    if territory_id is None:
        return None
    view = await info.context.loaders.territory_by_id.load(territory_id)
    return Territory.from_view(view) if view else None


@strawberry.type(
    description="What a territory edit did, re-read after it; in a dry run what it would do (nothing kept)."
)
class TerritoryEditPayload:
    dry_run: bool = strawberry.field(description="True: nothing was written.")
    sites_changed: int = strawberry.field(description="Number of sites whose territory changed.")
    site_changes: list[SiteTerritoryChange] = strawberry.field(
        description="Those sites, by site number: from which territory to which."
    )
    deleted: bool = strawberry.field(description="The territory was deleted (never had a site).")
    repairs: list[GeometryRepair] = strawberry.field(description="What `repair: true` changed, if anything.")
    _edited: strawberry.Private[service.Edited]

    @classmethod
    def of(cls, edited: service.Edited) -> TerritoryEditPayload:
        return cls(
            dry_run=edited.dry_run,
            sites_changed=len(edited.site_changes),
            site_changes=_changes(edited.site_changes),
            deleted=edited.deleted,
            repairs=[GeometryRepair.of(r) for r in edited.repairs],
            _edited=edited,
        )

    @strawberry.field(
        description="The territory edited, created or kept (a merge's), at its new version; in a dry run "
        "as it still is; null after a deletion and in a dry run of a creation."
    )
    async def territory(self, info: Ctx) -> Territory | None:
        return await _territory(info, self._edited.territory_id)

    @strawberry.field(description="A split's new territory (null in a dry run and for other edits).")
    async def created(self, info: Ctx) -> Territory | None:
        return await _territory(info, self._edited.created_id)

    @strawberry.field(description="The territories this edit retired (a merge's others, a retirement).")
    async def retired(self, info: Ctx) -> list[Territory]:
        found = [await _territory(info, i) for i in self._edited.retired_ids]
        return [t for t in found if t is not None]


@strawberry.type(description="What a layer import did with one feature.")
class ImportedFeature:
    index: int = strawberry.field(description="0-based index in `features`.")
    code: str = strawberry.field(description="Its territory code.")
    action: str = strawberry.field(
        description="`created`, `updated` (a new version), `unchanged`, or `restored` (a retired code)."
    )
    version: int | None = strawberry.field(description="The territory's version after the import.")


@strawberry.type(description="A layer import's report (all features were imported, or none).")
class LayerImportPayload:
    dry_run: bool = strawberry.field(description="True: nothing was written.")
    layer_created: bool = strawberry.field(description="The layer did not exist and was created.")
    features: list[ImportedFeature] = strawberry.field(description="One per feature, in file order.")
    retired: list[str] = strawberry.field(description="Codes retired (mode REPLACE: absent from the file).")
    sites_changed: int = strawberry.field(description="Number of sites whose territory changed.")
    site_changes: list[SiteTerritoryChange] = strawberry.field(description="Those sites.")
    repairs: list[GeometryRepair] = strawberry.field(description="Geometries `repair: true` changed.")
    _layer_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, done: service.Imported) -> LayerImportPayload:
        return cls(
            dry_run=done.dry_run,
            layer_created=done.layer_created,
            features=[
                ImportedFeature(index=f.index, code=f.code, action=f.action, version=f.version)
                for f in done.features
            ],
            retired=done.retired,
            sites_changed=len(done.site_changes),
            site_changes=_changes(done.site_changes),
            repairs=[GeometryRepair.of(r, i) for i, r in done.repairs],
            _layer_id=done.layer_id,
        )

    @strawberry.field(description="The layer (null for a layer a dry run would create).")
    async def layer(self, info: Ctx) -> TerritoryLayer | None:
        if self._layer_id is None:
            return None
        row = await info.context.loaders.layer_by_id.load(self._layer_id)
        return TerritoryLayer.from_row(row) if row else None


@strawberry.type(description="A created territory layer.")
class LayerPayload:
    _layer_id: strawberry.Private[int]

    @strawberry.field(description="The layer.")
    async def layer(self, info: Ctx) -> TerritoryLayer:
        row = await info.context.loaders.layer_by_id.load(self._layer_id)
        assert row is not None
        return TerritoryLayer.from_row(row)


@strawberry.type(description="A site's manual assignment as set or cleared.")
class ManualAssignmentPayload:
    previous_territory_code: str | None = strawberry.field(
        description="The territory the site was in before (null: none)."
    )
    _outcome: strawberry.Private[service.ManualOutcome]

    @strawberry.field(description="The site.")
    async def site(self, info: Ctx) -> Annotated[Site, strawberry.lazy("schema.sites")]:
        row = await info.context.loaders.site_by_id.load(self._outcome.site_id)
        assert row is not None
        from schema.sites import Site

        return Site.from_row(row)

    @strawberry.field(description="The territory the site is in now (null: none).")
    async def territory(self, info: Ctx) -> Territory | None:
        return await _territory(info, self._outcome.territory_id)


@strawberry.input(description="A territory of a merge and the version the caller read.")
class TerritoryVersionInput:
    code: str = strawberry.field(description="Territory code.")
    expected_version: int = strawberry.field(description="Its version as the caller last read it.")


@strawberry.enum(description="A side of a line, walking it from its first position to its last.")
class LineSide(enum.Enum):
    LEFT = strawberry.enum_value("left", description="The left-hand side.")
    RIGHT = strawberry.enum_value("right", description="The right-hand side.")


@strawberry.enum(description="What a layer import does with the layer's territories absent from the file.")
class ImportMode(enum.Enum):
    MERGE = strawberry.enum_value("merge", description="Leave them as they are.")
    REPLACE = strawberry.enum_value("replace", description="Retire them: the layer becomes the file.")


TerritoryEditResult = Annotated[
    TerritoryEditPayload
    | NotFoundProblem
    | GeometryProblem
    | OverlapProblem
    | VersionConflictProblem
    | CodeInUseProblem
    | TerritoryRetiredProblem
    | TerritoryHasHistoryProblem
    | SplitFailedProblem,
    strawberry.union("TerritoryEditResult", description="The edit's outcome, or why nothing was written."),
]
LayerResult = Annotated[
    LayerPayload | CodeInUseProblem,
    strawberry.union("CreateTerritoryLayerResult", description="The new layer, or why there is none."),
]
ImportResult = Annotated[
    LayerImportPayload | ImportRefusedProblem | GeometryProblem,
    strawberry.union(
        "ImportTerritoryLayerResult",
        description="The import's report, or why nothing was imported (every refused feature listed).",
    ),
]
ManualResult = Annotated[
    ManualAssignmentPayload | NotFoundProblem | TerritoryRetiredProblem,
    strawberry.union(
        "ManualAssignmentResult", description="The site's assignment, or why it did not change."
    ),
]

_LAYER = Annotated[str, strawberry.argument(description="Layer code, e.g. `districts`.")]
_CODE = Annotated[str, strawberry.argument(description="Territory code, e.g. `orlando`.")]
_EXPECTED = Annotated[
    int,
    strawberry.argument(
        description="The version the edit is based on (`Territory.version` as last read): another is "
        "VERSION_CONFLICT."
    ),
]
_DRY_RUN = Annotated[
    bool, strawberry.argument(description="Report what would change (sites included) and write nothing.")
]
_REPAIR = Annotated[
    bool,
    strawberry.argument(
        description="Repair an invalid geometry with `make_valid` (polygonal parts kept) instead of refusing "
        "it; `repairs` says what changed."
    ),
]


@strawberry.type(
    description="Territory mutations (issue 9 §1). Each edit locks the rows it changes, checks the version "
    "the caller read, validates geometry before writing and, in partition layers, overlaps; the database "
    "reassigns the affected sites in the same transaction."
)
class TerritoryMutations:
    @strawberry.mutation(
        extensions=gis_editor("createTerritoryLayer"), description="Create a territory layer."
    )
    async def create_territory_layer(
        self,
        info: Ctx,
        code: Annotated[str, strawberry.argument(description="New code: a-z, 0-9, '-', at most 64.")],
        name: Annotated[str, strawberry.argument(description="Display name, 1–200 characters.")],
        kind: Annotated[LayerKind, strawberry.argument(description="Partition or overlay.")],
        description: Annotated[
            str | None, strawberry.argument(description="What the layer stands for.")
        ] = None,
        overlap_tolerance_m2: Annotated[
            float | None,
            strawberry.argument(
                description="Partition layers: the largest overlap between two territories accepted, m² "
                "(default 10,000: digitising slivers)."
            ),
        ] = None,
    ) -> LayerResult | None:
        try:
            layer_id = await service.create_layer(
                info.context,
                code=code,
                name=name,
                kind=cast(str, kind.value),
                description=description,
                overlap_tolerance_m2=overlap_tolerance_m2,
            )
        except TowneError as error:
            return problem(error, LayerResult)  # type: ignore[no-any-return]
        return LayerPayload(_layer_id=layer_id)

    @strawberry.mutation(
        extensions=gis_editor("createTerritory"),
        description="Create a territory (a Polygon is stored as a one-part MultiPolygon); its tie-rule "
        "priority is frozen now (its area in km²).",
    )
    async def create_territory(
        self,
        info: Ctx,
        layer: _LAYER,
        code: Annotated[str, strawberry.argument(description="New code: a-z, 0-9, '-', at most 64.")],
        name: Annotated[str, strawberry.argument(description="Display name, 1–200 characters.")],
        geometry: Annotated[
            GeoJSON, strawberry.argument(description="GeoJSON Polygon or MultiPolygon, lon/lat EPSG:4326.")
        ],
        repair: _REPAIR = False,
        dry_run: _DRY_RUN = False,
    ) -> TerritoryEditResult | None:
        return await _edit(
            info,
            service.create_territory(
                info.context,
                layer_code=layer,
                code=code,
                name=name,
                geometry=geometry,
                repair=repair,
                dry_run=dry_run,
            ),
        )

    @strawberry.mutation(
        extensions=gis_editor("updateTerritory"),
        description="Change a territory's geometry and/or name, as a new version; the sites inside the old "
        "or new geometry are reassigned.",
    )
    async def update_territory(
        self,
        info: Ctx,
        layer: _LAYER,
        code: _CODE,
        expected_version: _EXPECTED,
        geometry: Annotated[
            GeoJSON | None,
            strawberry.argument(description="New GeoJSON Polygon or MultiPolygon; null: keep."),
        ] = None,
        name: Annotated[str | None, strawberry.argument(description="New name; null: keep.")] = None,
        repair: _REPAIR = False,
        dry_run: _DRY_RUN = False,
    ) -> TerritoryEditResult | None:
        return await _edit(
            info,
            service.update_territory(
                info.context,
                layer_code=layer,
                code=code,
                expected_version=expected_version,
                geometry=geometry,
                name=name,
                repair=repair,
                dry_run=dry_run,
            ),
        )

    @strawberry.mutation(
        extensions=gis_editor("revertTerritory"),
        description="Give a territory the code, name and geometry of an earlier version, as a new version "
        "(history is never rewritten); a retired territory is restored by it.",
    )
    async def revert_territory(
        self,
        info: Ctx,
        layer: _LAYER,
        code: _CODE,
        to_version: Annotated[int, strawberry.argument(description="The version to go back to.")],
        expected_version: _EXPECTED,
        dry_run: _DRY_RUN = False,
    ) -> TerritoryEditResult | None:
        return await _edit(
            info,
            service.revert_territory(
                info.context,
                layer_code=layer,
                code=code,
                to_version=to_version,
                expected_version=expected_version,
                dry_run=dry_run,
            ),
        )

    @strawberry.mutation(
        extensions=gis_editor("retireTerritory"),
        description="End a territory: its sites are reassigned by geometry (or left unassigned), its "
        "history stays. With `delete: true` a territory that never had a site is removed with its "
        "versions instead (TERRITORY_HAS_HISTORY otherwise).",
    )
    async def retire_territory(
        self,
        info: Ctx,
        layer: _LAYER,
        code: _CODE,
        expected_version: _EXPECTED,
        delete: Annotated[
            bool, strawberry.argument(description="Delete it (only a territory that never had a site).")
        ] = False,
        dry_run: _DRY_RUN = False,
    ) -> TerritoryEditResult | None:
        return await _edit(
            info,
            service.retire_territory(
                info.context,
                layer_code=layer,
                code=code,
                expected_version=expected_version,
                delete=delete,
                dry_run=dry_run,
            ),
        )

    @strawberry.mutation(
        extensions=gis_editor("mergeTerritories"),
        description="Merge two or more territories of a layer: `into` gets their union (a new version), the "
        "others are retired.",
    )
    async def merge_territories(
        self,
        info: Ctx,
        layer: _LAYER,
        territories: Annotated[
            list[TerritoryVersionInput],
            strawberry.argument(description="The territories, each with the version the caller read."),
        ],
        into: Annotated[str, strawberry.argument(description="The code (one of them) that remains.")],
        name: Annotated[str | None, strawberry.argument(description="Its new name; null: keep.")] = None,
        dry_run: _DRY_RUN = False,
    ) -> TerritoryEditResult | None:
        return await _edit(
            info,
            service.merge_territories(
                info.context,
                layer_code=layer,
                versions=[(t.code, t.expected_version) for t in territories],
                into=into,
                name=name,
                dry_run=dry_run,
            ),
        )

    @strawberry.mutation(
        extensions=gis_editor("splitTerritory"),
        description="Cut a territory by a line: the pieces on `newSide` become the new territory `newCode` "
        "(with the original's tie-rule priority), the original keeps the rest as a new version.",
    )
    async def split_territory(
        self,
        info: Ctx,
        layer: _LAYER,
        code: _CODE,
        expected_version: _EXPECTED,
        line: Annotated[
            GeoJSON,
            strawberry.argument(description="GeoJSON LineString, lon/lat, crossing the territory."),
        ],
        new_code: Annotated[str, strawberry.argument(description="Code of the new territory.")],
        new_name: Annotated[str, strawberry.argument(description="Name of the new territory.")],
        new_side: Annotated[
            LineSide, strawberry.argument(description="Which side of the line becomes the new territory.")
        ] = LineSide.RIGHT,
        dry_run: _DRY_RUN = False,
    ) -> TerritoryEditResult | None:
        return await _edit(
            info,
            service.split_territory(
                info.context,
                layer_code=layer,
                code=code,
                expected_version=expected_version,
                line=line,
                new_code_value=new_code,
                new_name=new_name,
                new_side="left" if new_side is LineSide.LEFT else "right",
                dry_run=dry_run,
            ),
        )

    @strawberry.mutation(
        extensions=gis_editor("importTerritoryLayer"),
        description="Import a GeoJSON FeatureCollection into a layer, all features or none (properties "
        "`code`, `name`, optional `version`: the version the feature was exported at, checked). A code "
        "of the layer is updated (a retired one restored), a new one created; the layer is created if "
        "needed (`kind`). Inline up to the request-size limit; large files: `POST /layers/{code}/import`.",
    )
    async def import_territory_layer(
        self,
        info: Ctx,
        layer: _LAYER,
        feature_collection: Annotated[
            JSON, strawberry.argument(description="GeoJSON FeatureCollection, lon/lat EPSG:4326.")
        ],
        mode: Annotated[
            ImportMode, strawberry.argument(description="What happens to territories absent from the file.")
        ] = ImportMode.MERGE,
        kind: Annotated[
            LayerKind | None, strawberry.argument(description="Kind of a layer to create.")
        ] = None,
        name: Annotated[str | None, strawberry.argument(description="Name of a layer to create.")] = None,
        repair: _REPAIR = False,
        dry_run: _DRY_RUN = False,
    ) -> ImportResult | None:
        try:
            done = await service.import_layer(
                info.context,
                layer_code=layer,
                collection=feature_collection,
                replace=mode is ImportMode.REPLACE,
                layer_name=name,
                kind=cast(str, kind.value) if kind else None,
                repair=repair,
                dry_run=dry_run,
            )
        except TowneError as error:
            return problem(error, ImportResult)  # type: ignore[no-any-return]
        return LayerImportPayload.of(done)

    @strawberry.mutation(
        extensions=manual_assigner("setManualAssignment"),
        description="Put a site in a territory by hand (null: in none of the layer); it wins over geometry "
        "until `clearManualAssignment`.",
    )
    async def set_manual_assignment(
        self,
        info: Ctx,
        site_number: Annotated[str, strawberry.argument(description="1–4 digits.")],
        layer: _LAYER,
        territory: Annotated[
            str | None, strawberry.argument(description="Territory code; null: manually unassigned.")
        ],
    ) -> ManualResult | None:
        try:
            done = await service.set_manual_assignment(
                info.context, site_number=site_number, layer_code=layer, territory_code=territory
            )
        except TowneError as error:
            return problem(error, ManualResult)  # type: ignore[no-any-return]
        return ManualAssignmentPayload(previous_territory_code=done.previous_code, _outcome=done)

    @strawberry.mutation(
        extensions=manual_assigner("clearManualAssignment"),
        description="End a site's manual assignment in a layer: it is assigned by geometry again.",
    )
    async def clear_manual_assignment(
        self,
        info: Ctx,
        site_number: Annotated[str, strawberry.argument(description="1–4 digits.")],
        layer: _LAYER,
    ) -> ManualResult | None:
        try:
            done = await service.clear_manual_assignment(
                info.context, site_number=site_number, layer_code=layer
            )
        except TowneError as error:
            return problem(error, ManualResult)  # type: ignore[no-any-return]
        return ManualAssignmentPayload(previous_territory_code=done.previous_code, _outcome=done)


async def _edit(info: Ctx, work: Awaitable[service.Edited]) -> TerritoryEditResult | None:
    try:
        edited = await work
    except TowneError as error:
        return problem(error, TerritoryEditResult)  # type: ignore[no-any-return]
    return TerritoryEditPayload.of(edited)
