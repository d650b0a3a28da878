"""Reference geography that is not ours to edit: the US states of the basemap (migration 0010).

Geometries are EPSG:4326 MultiPolygons, loaded from `data/us/states.geojson` (US Census 2016 cartographic
boundaries at 1:500k, simplified; see `data/towne-park/territories/README.md`). Every signed-in caller may
read them (company geography, as the territory layers); nobody writes them through the API.
"""

from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class UsState(Base):
    """A US state, DC or Puerto Rico: USPS `code`, `name`, 2-digit census `fips`, MultiPolygon 4326."""

    __tablename__ = "us_state"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    fips: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False
    )

    __table_args__ = (
        CheckConstraint("code ~ '^[A-Z]{2}$'", name="code_format"),
        CheckConstraint("fips ~ '^[0-9]{2}$'", name="fips_format"),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        Index("ix_us_state_geom", "geom", postgresql_using="gist"),
    )
