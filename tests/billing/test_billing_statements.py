"""Statement rules (domain.md §3.3–§3.6, example F-12); the GL export (§3.8) is in test_billing_gl.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.codes import BillingType
from billing.statements import (
    StatementStatus,
    TransitionError,
    compare_with_forecast,
    confirm_review_target,
    initial_status,
    invoiced_revenue,
    plan_version,
    posted_revenue,
    transition,
)

D = Decimal
S = StatementStatus


def test_f12_deviation_exceeded_goes_to_approval_team() -> None:
    posted = posted_revenue([("4700", "02", D(0))])
    invoiced = invoiced_revenue([("4790", D("42500.00")), ("7000", D("999"))])
    comparison = compare_with_forecast(
        forecast=D("48000"),
        posted=posted,
        invoiced=invoiced,
        threshold_amount=D(2500),
        threshold_percentage=D(10),
    )
    assert comparison.deviation_amount == D("5500.00")
    assert round(comparison.deviation_percentage, 3) == D("11.458")
    assert comparison.exceeded
    assert (
        initial_status(BillingType.ARREARS, has_ready_for_invoice_comment=False, exceeded=True)
        is S.APPROVAL_TEAM
    )
    # RFI comments on an Arrears site win: AR Review
    assert (
        initial_status(BillingType.ARREARS, has_ready_for_invoice_comment=True, exceeded=True) is S.AR_REVIEW
    )
    assert (
        initial_status(BillingType.ADVANCED, has_ready_for_invoice_comment=True, exceeded=True)
        is S.APPROVAL_TEAM
    )


def test_f12_within_limits_is_ready_to_send() -> None:
    comparison = compare_with_forecast(
        forecast=D(48000),
        posted=D(0),
        invoiced=D(46000),
        threshold_amount=D(2500),
        threshold_percentage=D(10),
    )
    assert (comparison.deviation_amount, round(comparison.deviation_percentage, 2)) == (D(2000), D("4.17"))
    assert not comparison.exceeded
    assert (
        initial_status(BillingType.ARREARS, has_ready_for_invoice_comment=False, exceeded=False)
        is S.READY_TO_SEND
    )


def test_both_thresholds_must_be_exceeded_strictly() -> None:
    # 12.5 % but only 1,000: not exceeded; exactly 2,500 and 50 %: not exceeded (strict)
    assert not compare_with_forecast(
        forecast=D(8000), posted=D(0), invoiced=D(7000), threshold_amount=D(2500), threshold_percentage=D(10)
    ).exceeded
    assert not compare_with_forecast(
        forecast=D(5000), posted=D(0), invoiced=D(2500), threshold_amount=D(2500), threshold_percentage=D(10)
    ).exceeded


def test_zero_forecast_has_zero_percent() -> None:
    comparison = compare_with_forecast(
        forecast=None, posted=D(0), invoiced=D(100), threshold_amount=D(0), threshold_percentage=D(0)
    )
    assert comparison.deviation_percentage == 0 and not comparison.exceeded


def test_posted_revenue_is_credit_signed_and_skips_entity_06() -> None:
    assert posted_revenue(
        [("4700", "02", D("-1200.00")), ("4795", "06", D("-50")), ("6000", "02", D(9))]
    ) == D("1200.00")


def test_versions_after_sent_and_replacing_unsent() -> None:
    assert plan_version([]).version == 1
    assert plan_version([(1, S.READY_TO_SEND)]) == plan_version([(1, S.AR_REVIEW)])
    assert plan_version([(1, S.READY_TO_SEND)]).replaces == 1
    assert plan_version([(1, S.SENT)]).version == 2
    plan = plan_version([(2, S.APPROVAL_TEAM), (1, S.SENT)])
    assert (plan.version, plan.replaces, plan.carry_adhoc_from) == (2, 2, 2)


def test_allowed_moves_only() -> None:
    assert transition(S.READY_TO_SEND, S.SENT) is S.SENT
    with pytest.raises(TransitionError, match="a SENT statement cannot move to READY_TO_SEND"):
        transition(S.SENT, S.READY_TO_SEND)
    with pytest.raises(TransitionError):
        transition(S.AR_REVIEW, S.SENT)
    assert confirm_review_target(S.AR_REVIEW, exceeded=True) is S.APPROVAL_TEAM
    assert confirm_review_target(S.AR_REVIEW, exceeded=False) is S.READY_TO_SEND
    assert confirm_review_target(S.APPROVAL_TEAM, exceeded=True) is S.READY_TO_SEND
    with pytest.raises(TransitionError):
        confirm_review_target(S.READY_TO_SEND, exceeded=False)
