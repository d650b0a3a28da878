"""Per Occupied Room (domain.md §2.3) and Bell Service Fee (§2.6) through the engine: golden F-8."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from billing import (
    BellService,
    BillingType,
    BuildingBlock,
    ContractConfig,
    OccupiedRoomsDay,
    PeriodFacts,
    PerOccupiedRoom,
    RevenueRow,
    ServicePeriod,
    preview,
)

D = Decimal
day = datetime.date
APRIL = ServicePeriod(2025, 4)

# Contract 1078 ("Other": POR + bell, Processed_Files/1078_*.json, §5 F-8).
CONTRACT_1078 = ContractConfig(
    "1078",
    BillingType.ARREARS,
    frozenset({BuildingBlock.PER_OCCUPIED_ROOM, BuildingBlock.BELL_SERVICE}),
    per_occupied_room=PerOccupiedRoom(D("1.17"), "4791", 1),
    bell_service=BellService(1),
)


def other(
    collection_type: str | None, amount: str, *, category: str = "Other Revenue", d: int = 12
) -> RevenueRow:
    return RevenueRow(day(2025, 4, d), "OR1", category, collection_type, "Y", D(amount), D(amount), D(0))


F8_FACTS = PeriodFacts(
    occupied_rooms=(
        *(OccupiedRoomsDay(day(2025, 4, d), D(330)) for d in range(1, 30)),  # 29 × 330 = 9,570
        OccupiedRoomsDay(day(2025, 4, 30), D(280)),
        OccupiedRoomsDay(day(2025, 3, 31), D(999)),
        OccupiedRoomsDay(day(2025, 5, 1), D(999)),
    ),
    revenue=(
        other("Bell Service Fee", "1200.00"),
        other("Portorage", "640.00"),  # the flow's misspelling is on the list
        other("Gratuities/Tips", "500.00"),
        other("Valet Tips", "75.00"),  # not a bell collection type
        other("Bell Revenue", "300.00", category="Parking"),  # not 'Other Revenue'
        other(None, "10.00"),
        RevenueRow(day(2025, 3, 31), "OR1", "Other Revenue", "Bell Service Fee", "Y", D(800), D(800), D(0)),
    ),
)


def test_golden_f8_occupied_rooms_and_bell_service() -> None:
    result = preview(CONTRACT_1078, APRIL, F8_FACTS)

    [invoice] = result.invoices
    assert invoice.invoice_number == "1078-202504-01-01"
    rooms, bell = invoice.lines
    assert (rooms.title, rooms.code, str(rooms.amount)) == ("Occupied Rooms", "4791", "11524.50")
    assert rooms.description == "9850 occupied rooms at $1.17 per room"
    assert "9850 × 1.17 = 11524.50" in rooms.explanation and "§2.3" in rooms.explanation
    assert (bell.title, bell.code, str(bell.amount)) == ("Bell Service Fee", "4795", "2340.00")
    assert "Portorage" in bell.explanation and "§2.6" in bell.explanation
    assert str(invoice.amount) == "13864.50"
    assert result.not_computed == () and result.warnings == ()


def test_occupied_room_group_defaults_to_1_and_routes_otherwise() -> None:
    unset = dataclasses.replace(CONTRACT_1078, per_occupied_room=PerOccupiedRoom(D("1.17"), "4791"))
    assert [line.title for line in preview(unset, APRIL, F8_FACTS).lines()] == [
        "Occupied Rooms",
        "Bell Service Fee",
    ]
    elsewhere = dataclasses.replace(CONTRACT_1078, per_occupied_room=PerOccupiedRoom(D("1.17"), "4791", 2))
    result = preview(elsewhere, APRIL, F8_FACTS)
    assert [line.title for line in result.lines()] == ["Bell Service Fee"]
    assert (
        "Per Occupied Room routes to invoice group 2, which the statement does not have: not billed"
        in result.warnings
    )


def test_bell_group_has_no_default() -> None:
    config = dataclasses.replace(CONTRACT_1078, bell_service=BellService(None))
    result = preview(config, APRIL, F8_FACTS)
    assert [line.title for line in result.lines()] == ["Occupied Rooms"]
    assert "Bell Service row has no invoice group (no default, §2.0 gate 2): not billed" in result.warnings
    missing = dataclasses.replace(CONTRACT_1078, bell_service=None)
    assert (
        "Bell Service is enabled but the contract has no bell-service row: not billed"
        in preview(missing, APRIL, F8_FACTS).warnings
    )


def test_missing_inputs_bill_nothing() -> None:
    result = preview(CONTRACT_1078, APRIL, PeriodFacts())
    assert result.invoices == ()
    zero_rate = dataclasses.replace(CONTRACT_1078, per_occupied_room=PerOccupiedRoom(D(0), "4791", 1))
    assert (
        "Per Occupied Room is enabled but the occupied-room rate is 0: nothing is billed"
        in preview(zero_rate, APRIL, F8_FACTS).warnings
    )


def test_fractional_rate_is_stored_at_cents() -> None:
    config = dataclasses.replace(CONTRACT_1078, per_occupied_room=PerOccupiedRoom(D("0.635"), "4791", 1))
    facts = PeriodFacts(occupied_rooms=(OccupiedRoomsDay(day(2025, 4, 3), D(3)),))
    [line] = preview(config, APRIL, facts).lines()
    assert line.amount == D("1.91")  # 1.905 rounds half up
    assert "round2(1.90500) = 1.91" in line.explanation
