"""Customer sites (domain.md §1.2, §6.1)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import ARRAY, Boolean, CheckConstraint, Date, Index, Integer, String, Text, Uuid, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base, Timestamped

if TYPE_CHECKING:
    from db.models.contract import Contract

GEOCODE_METHODS = ("zip", "zip3_prefix", "manual")


class CustomerSite(Timestamped, Base):
    """One parking operation. `location` is a Point in EPSG:4326 (lon, lat)."""

    __tablename__ = "customer_site"

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    site_number: Mapped[str] = mapped_column(String(4), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False)  # the legacy single field, verbatim
    street: Mapped[str] = mapped_column(Text, nullable=False)
    city: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(2), nullable=False)
    zip: Mapped[str] = mapped_column(String(5), nullable=False)
    source_district: Mapped[str | None] = mapped_column(Text)  # legacy `bs_district`, verbatim
    gl_string: Mapped[str] = mapped_column(String(11), nullable=False)
    parking_spaces: Mapped[int | None] = mapped_column(Integer)
    rooms: Mapped[int | None] = mapped_column(Integer)
    vendor_id: Mapped[str | None] = mapped_column(Text)
    # personal (§1.2, §4.4): the API shows them to billing roles only (migration 0017)
    invoice_recipient: Mapped[str | None] = mapped_column(Text, comment="who invoices are addressed to")
    billing_contact_emails: Mapped[list[str]] = mapped_column(
        ARRAY(Text),
        nullable=False,
        server_default=text("'{}'::text[]"),
        comment="addresses invoices are e-mailed to (personal: billing roles only)",
    )
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    location: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    geocode_method: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract | None] = relationship(back_populates="site", lazy="raise", uselist=False)

    __table_args__ = (
        CheckConstraint(r"site_number ~ '^[0-9]{4}$'", name="site_number_format"),
        CheckConstraint(r"zip ~ '^[0-9]{5}$'", name="zip_format"),
        CheckConstraint(r"state ~ '^[A-Z]{2}$'", name="state_format"),
        CheckConstraint(r"gl_string ~ '^[0-9]{2}-[0-9]{2}-[0-9]{4}-$'", name="gl_string_format"),
        CheckConstraint("parking_spaces >= 0", name="parking_spaces_non_negative"),
        CheckConstraint("rooms >= 0", name="rooms_non_negative"),
        CheckConstraint("length(btrim(invoice_recipient)) > 0", name="invoice_recipient_not_blank"),
        CheckConstraint("towne_valid_addresses(billing_contact_emails)", name="billing_contact_emails_valid"),
        CheckConstraint("geocode_method IN ('zip', 'zip3_prefix', 'manual')", name="geocode_method_known"),
        CheckConstraint("(location IS NULL) = (geocode_method IS NULL)", name="geocoded_with_method"),
        # on Earth, as the API requires; BETWEEN also refuses NaN (ordered above every number) and ±Infinity
        CheckConstraint("NOT ST_IsEmpty(location)", name="location_not_empty"),
        CheckConstraint(
            "ST_X(location) BETWEEN -180 AND 180 AND ST_Y(location) BETWEEN -90 AND 90",
            name="location_in_lon_lat_range",
        ),
        Index("ix_customer_site_location", "location", postgresql_using="gist"),
        Index("ix_customer_site_source_district", "source_district"),
        Index("ix_customer_site_state", "state"),
        # metre-based "within N metres" filters run on geography
        Index("ix_customer_site_geography", text("(location::geography)"), postgresql_using="gist"),
        # substring search on name and address
        Index(
            "ix_customer_site_search",
            text("(name || ' ' || address) gin_trgm_ops"),
            postgresql_using="gin",
        ),
    )
