"""Per-occupied-room forecast, C# ``PerOccupiedRoomCalculator`` (domain.md §2.3 "Forecast", §7 #12)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..codes import BuildingBlock
from ..money import ZERO
from ..period import ServicePeriod
from ._text import money
from .inputs import BudgetRow, ForecastContract, ForecastFacts
from .statistics import select_statistics

__all__ = ["PerOccupiedRoomForecast", "forecast_per_occupied_room"]


@dataclass(frozen=True, slots=True)
class PerOccupiedRoomForecast:
    """``total = base_revenue = fee_per_room × rooms`` (USD, unrounded), rooms = ``forecasted_rooms`` when
    > 0 (then ``budget_rooms`` is None) else ``budget_rooms``. No escalator (the C# one is a stub)."""

    fee_per_room: Decimal
    forecasted_rooms: Decimal | None
    budget_rooms: Decimal | None
    base_revenue: Decimal
    total: Decimal
    statistics_basis: str
    explanation: tuple[str, ...]


def forecast_per_occupied_room(
    contract: ForecastContract,
    facts: ForecastFacts,
    period: ServicePeriod,
    *,
    legacy_sum_all_statistic_types: bool = False,
) -> PerOccupiedRoomForecast | None:
    """Forecast occupied-room fee of ``period`` (§2.3 "Forecast"); ``None`` without the POR block.

    ``rooms`` = Σ occupied rooms of the month's statistic rows (Forecast, else Actual, §7 #12; all types with
    ``legacy_sum_all_statistic_types``); if that is 0, the site's budget rooms of the month
    (:attr:`BudgetRow.OCCUPIED_ROOMS`, 0 if absent). ``total = occupied_room_rate (0 if unset) × rooms``.
    """
    if not contract.enables(BuildingBlock.PER_OCCUPIED_ROOM):
        return None
    fee = contract.occupied_room_rate if contract.occupied_room_rate is not None else ZERO
    selection = select_statistics(
        facts.statistics, period, legacy_sum_all_types=legacy_sum_all_statistic_types
    )
    forecasted = sum((d.occupied_rooms for d in selection.details if d.occupied_rooms is not None), ZERO)
    lines = [
        f"§2.3 per-occupied-room forecast (C# PerOccupiedRoomCalculator) for {period}: "
        f"fee per room {money(fee)}; statistics basis {selection.basis}, forecast rooms {money(forecasted)}"
    ]
    if forecasted > 0:
        rooms, budget_rooms, forecasted_rooms = forecasted, None, forecasted
        lines.append("rooms = forecast rooms (> 0)")
    else:
        budget = facts.budget_value(BudgetRow.OCCUPIED_ROOMS, period)
        budget_rooms = budget if budget is not None else ZERO
        rooms, forecasted_rooms = budget_rooms, None
        lines.append(
            f"no forecast rooms: budget rooms {money(budget_rooms)}"
            + (" (absent ⇒ 0)" if budget is None else "")
        )
    base = fee * rooms
    lines.append(f"total = {money(fee)} × {money(rooms)} = {money(base)} (no escalator; unrounded)")
    return PerOccupiedRoomForecast(
        fee_per_room=fee,
        forecasted_rooms=forecasted_rooms,
        budget_rooms=budget_rooms,
        base_revenue=base,
        total=base,
        statistics_basis=selection.basis,
        explanation=tuple(lines),
    )
