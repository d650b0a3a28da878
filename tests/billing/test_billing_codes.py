"""Option-set codes and labels (domain.md §1.3, §1.4)."""

from __future__ import annotations

import pytest

from billing import BillingType, BuildingBlock


def test_billing_type_codes() -> None:
    assert BillingType.ADVANCED.value == 126840000
    assert BillingType.ARREARS.value == 126840001


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Arrears", BillingType.ARREARS),
        ("arrears", BillingType.ARREARS),
        ("ADVANCED", BillingType.ADVANCED),
        (" Advanced ", BillingType.ADVANCED),
    ],
)
def test_billing_type_from_label(label: str, expected: BillingType) -> None:
    assert BillingType.from_label(label) is expected


@pytest.mark.parametrize("label", ["", "Arrear", "In Advance", "126840001"])
def test_billing_type_from_label_rejects(label: str) -> None:
    with pytest.raises(ValueError, match="unknown billing type"):
        BillingType.from_label(label)


def test_building_block_codes_and_labels() -> None:
    table = {block: (block.value, block.label) for block in BuildingBlock}
    assert table == {
        BuildingBlock.FIXED_FEE: (126840000, "Fixed Fee"),
        BuildingBlock.PER_LABOR_HOUR: (126840001, "Per Labor Hour"),
        BuildingBlock.PER_OCCUPIED_ROOM: (126840002, "Per Occupied Room"),
        BuildingBlock.INVOICE_GROUPING: (126840003, "Invoice Grouping"),
        BuildingBlock.REVENUE_SHARE: (126840004, "Revenue Share"),
        BuildingBlock.BELL_SERVICE: (126840005, "Bell Service"),
        BuildingBlock.MID_MONTH_ADVANCE: (126840006, "Mid Month Advance"),
        BuildingBlock.DEPOSITED_REVENUE: (126840007, "Deposited Revenue"),
        BuildingBlock.BILLABLE_ACCOUNTS: (126840008, "Billing Account"),
        BuildingBlock.MANAGEMENT_AGREEMENT: (126840009, "Management Agreement"),
    }


@pytest.mark.parametrize("block", list(BuildingBlock))
def test_building_block_from_label_inverts_label(block: BuildingBlock) -> None:
    assert BuildingBlock.from_label(block.label) is block
    assert BuildingBlock.from_label(f" {block.label.upper()} ") is block


def test_building_block_labels_of_a_prod_contract_components_cell() -> None:
    cell = "Deposited Revenue; Billing Account; Management Agreement"
    assert {BuildingBlock.from_label(part) for part in cell.split(";")} == {
        BuildingBlock.DEPOSITED_REVENUE,
        BuildingBlock.BILLABLE_ACCOUNTS,
        BuildingBlock.MANAGEMENT_AGREEMENT,
    }


@pytest.mark.parametrize("label", ["Billable Accounts", "FixedFee", "", "Other"])
def test_building_block_from_label_names_the_bad_label(label: str) -> None:
    with pytest.raises(ValueError, match=f"unknown building block {label!r}"):
        BuildingBlock.from_label(label)
