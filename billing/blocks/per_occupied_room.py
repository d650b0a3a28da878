"""Per Occupied Room building block, code 126840002 (domain.md §2.3; ``PerOccupiedRoomGenerationChildFlow``)."""

from __future__ import annotations

import datetime

from ..codes import BuildingBlock
from ..config import ContractConfig
from ..facts import PeriodFacts
from ..lines import InvoiceLine
from ..money import ZERO, format_number
from ..period import ServicePeriod
from .base import DEFAULT_OPTIONS, EMPTY, BlockOptions, BlockResult, BlockSpec
from .common import gate_2_warning, row_count

__all__ = ["PER_OCCUPIED_ROOM", "calculate", "diagnose"]

_LABEL = BuildingBlock.PER_OCCUPIED_ROOM.label


def calculate(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    selection_date: datetime.date,
    options: BlockOptions = DEFAULT_OPTIONS,
) -> BlockResult:
    """The "Occupied Rooms" line of invoice group ``group_number`` (§2.3).

    Gate: ``coalesce(occupied_room_invoice_group, 1) == group_number``. ``rooms`` = Σ occupied rooms of the
    'Occupied Rooms' rows dated in the month of ``P_start``; amount = rooms × room rate (USD, unrounded);
    code = the contract's occupied-room code. No rows ⇒ 0 (the line is then dropped).
    """
    settings = config.per_occupied_room
    if settings.group_number != group_number:
        return EMPTY
    days = [
        day for day in facts.occupied_rooms if (day.date.year, day.date.month) == (period.year, period.month)
    ]
    rooms = sum((day.rooms for day in days), ZERO)
    amount = rooms * settings.room_rate
    room_text = format_number(rooms)
    line = InvoiceLine(
        building_block=BuildingBlock.PER_OCCUPIED_ROOM,
        title="Occupied Rooms",
        code=settings.code or "",
        amount=amount,
        description=f"{room_text} occupied rooms at ${settings.room_rate} per room",
        explanation=(
            f"§2.3 Per Occupied Room: amount = rooms × rate = {room_text} × {settings.room_rate} = {amount} "
            f"(no rounding). rooms = Σ of {row_count(days)} daily 'Occupied Rooms' values in {period.key}; rate is "
            f"the contract's occupied-room rate; invoice group "
            f"{settings.group_number if settings.invoice_group is not None else '1 (unset ⇒ 1)'}."
        ),
    )
    return BlockResult.of((line,))


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """A zero rate, a missing GL code or a group the statement lacks."""
    settings = config.per_occupied_room
    warnings: list[str] = []
    if settings.room_rate == 0:
        warnings.append(f"{_LABEL} is enabled but the occupied-room rate is 0: nothing is billed")
    if not settings.code:
        warnings.append(f"{_LABEL} has no occupied-room GL code: the line prints an empty code")
    gate = gate_2_warning(_LABEL, settings.group_number, group_numbers)  # never None: defaults to 1
    if gate:
        warnings.append(gate)
    return tuple(warnings)


PER_OCCUPIED_ROOM = BlockSpec(calculate=calculate, diagnose=diagnose)
