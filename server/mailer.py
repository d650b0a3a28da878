"""E-mail over SMTP (issue 12 §2; domain.md §3.5 SendEmail): the invoice message and its delivery.

`invoice_message` builds the customer's message: To the site's billing contacts, the invoice PDFs attached,
a `Message-ID` fixed by the send job, so a receiving system that drops duplicates by Message-ID drops a
repeat. `deliver` hands it to the configured server (aiosmtplib: `TOWNE_SMTP_HOST`, `_PORT`, `_TLS`
none/starttls/tls, `_USERNAME`, `_PASSWORD`) and classifies what happens:

* before DATA (connection, TLS, login, MAIL FROM, RCPT TO): nothing was delivered. A refused connection, a
  timeout and a 4xx answer are retryable; a 5xx answer or a failed login is final (a retry cannot change it).
* `before_data()` runs just before DATA: the worker records, committed, that the message is being handed
  over. If the worker dies after that mark, nobody knows whether the server kept the message, so the job
  becomes UNCERTAIN instead of being sent again (`server.worker`).
* DATA answered: 250 is delivered; 4xx/5xx is a definite refusal (nothing kept), retryable or final as above.
  DATA unanswered (the connection drops, the timeout passes) raises `Uncertain`.

SMTP gives no way to ask a server whether it has a message, so exactly-once holds everywhere except that
window between the end of DATA and the worker's commit; there it is at-most-once, and a person decides.
"""

from __future__ import annotations

import contextlib
import email.utils
import uuid
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from email.message import EmailMessage

import aiosmtplib

from server.delivery import DeliveryFailed
from server.settings import Settings


class Uncertain(DeliveryFailed):
    """The message was being handed over (DATA) when the connection was lost: it may have been delivered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retryable=False)


class LeaseLost(DeliveryFailed):
    """The worker no longer holds the job (its lease expired and another worker took it): stop, send nothing."""

    def __init__(self) -> None:
        super().__init__("the worker lost its lease on the job before sending", retryable=True)


def invoice_message(
    settings: Settings,
    *,
    job_id: uuid.UUID,
    recipients: Sequence[str],
    bill_to: str,
    site_number: str,
    site_name: str,
    service_period: str,
    invoices: Sequence[tuple[str, Decimal]],
    attachments: Sequence[tuple[str, bytes]],
) -> EmailMessage:
    """The customer's e-mail of one statement version: `invoices` (invoice number, amount USD) listed in the
    text, `attachments` (file name, PDF bytes) attached as application/pdf. `service_period` is YYYY-MM."""
    message = EmailMessage()
    numbers = ", ".join(number for number, _ in invoices)
    message["Subject"] = f"Towne Park invoice {numbers} ({site_name}, service period {service_period})"
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = f"<send-{job_id}@towne-graph>"
    total = sum((amount for _, amount in invoices), Decimal("0.00"))
    lines = [
        f"Dear {bill_to},",
        "",
        f"please find attached the invoice{'s' if len(invoices) > 1 else ''} for site {site_number} "
        f"({site_name}), service period {service_period}:",
        "",
        *(f"  {number}   USD {amount:,.2f}" for number, amount in invoices),
        "",
        f"  Total      USD {total:,.2f}",
        "",
        "Payment terms and remittance details are on each invoice.",
        "",
        "Towne Park Billing",
    ]
    message.set_content("\n".join(lines))
    for filename, content in attachments:
        message.add_attachment(content, maintype="application", subtype="pdf", filename=filename)
    return message


def notice_message(settings: Settings, *, recipients: Sequence[str], subject: str, body: str) -> EmailMessage:
    """The failure notice of domain.md §3.8, to the operators of `TOWNE_SEND_FAILURE_NOTICE_TO`."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain="towne-graph")
    message.set_content(body)
    return message


def _client(settings: Settings) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_tls == "tls",
        start_tls=settings.smtp_tls == "starttls",
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout_s,
    )


def _answered(error: aiosmtplib.SMTPResponseException, step: str) -> DeliveryFailed:
    code = error.code
    return DeliveryFailed(
        f"the SMTP server refused {step}: {code} {error.message}"[:500], retryable=400 <= code < 500
    )


async def deliver(
    settings: Settings,
    message: EmailMessage,
    *,
    recipients: Sequence[str],
    before_data: Callable[[], Awaitable[bool]] | None = None,
) -> str:
    """Send `message` to `recipients`; returns the server's answer to DATA. Raises `DeliveryFailed`
    (retryable or final, see the module), `Uncertain` (DATA unanswered) or `LeaseLost` (`before_data`
    answered False: nothing was sent)."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    client = _client(settings)
    try:
        try:
            await client.connect()
            await client.mail(settings.smtp_from)
            refused: list[str] = []
            for recipient in recipients:
                try:
                    await client.rcpt(recipient)
                except aiosmtplib.SMTPRecipientRefused as error:
                    refused.append(f"{recipient}: {error.code} {error.message}")
                    if len(refused) == len(recipients):
                        raise _answered(error, "every recipient (" + "; ".join(refused) + ")") from error
        except aiosmtplib.SMTPAuthenticationError as error:
            raise DeliveryFailed(
                f"the SMTP server {where} refused the login ({error.code}): check TOWNE_SMTP_USERNAME and "
                "TOWNE_SMTP_PASSWORD",
                retryable=False,
            ) from error
        except aiosmtplib.SMTPResponseException as error:
            raise _answered(error, "the message") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(
                f"could not reach the SMTP server {where}: {type(error).__name__}", retryable=True
            ) from error
        if before_data is not None and not await before_data():
            raise LeaseLost()
        try:
            answer = await client.data(message.as_bytes())
        except aiosmtplib.SMTPResponseException as error:
            raise _answered(error, "the message") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise Uncertain(
                f"the connection to {where} was lost while the message was handed over "
                f"({type(error).__name__}): it may have been delivered"
            ) from error
        note = f" ({len(refused)} recipient(s) refused: {'; '.join(refused)})" if refused else ""
        return f"accepted by {where}: {answer.code} {answer.message}{note}"[:1000]
    finally:
        with contextlib.suppress(Exception):
            if client.is_connected:
                await client.quit()
