"""`GET /invoices/{id}.pdf`: the PDF of one stored invoice (issue 12 §1; docs/invoices.md).

`id` is the invoice's id as the API returns it (`Invoice.id`, a UUID; `Invoice.pdfUrl` is this path). A
bearer token is required (401 `UNAUTHENTICATED` otherwise). Roles that read no billing data (gisEditor,
auditor, no role) are 403 `FORBIDDEN`, as for the billing exports (`server.exports.BILLING_READERS`). An id
that is no UUID is 400 `BAD_USER_INPUT`; an invoice that does not exist or lies outside the caller's row
scope is 404 `NOT_FOUND` alike, so the answer does not reveal that it exists. The invoice is read through the
request's door as the caller (row-level security, docs/security.md); the bill-to block names the invoice
recipient only for billingAdmin and billingManager.

200: `Content-Type: application/pdf`, `Content-Disposition: inline; filename="<invoice number>.pdf"`,
`Cache-Control: private, no-store` (a bill with personal data is never kept by a shared cache).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from db.database import Database, RequestDatabase
from resolvers import documents as service
from resolvers.context import BILLING_DETAIL, Caller
from resolvers.errors import Forbidden, NotFound
from resolvers.validation import identifier
from server.app import door_route
from server.exports import BILLING_READERS
from server.settings import Settings
from server.tokens import TokenVerifier

log = logging.getLogger("towne.documents")

PDF = "application/pdf"
INVOICE_PDF_PATH = "/invoices/{invoice_id}.pdf"


def invoice_pdf_path(invoice_id: object) -> str:
    """The path of an invoice's PDF: `/invoices/<id>.pdf`."""
    return f"/invoices/{invoice_id}.pdf"


def document_routes(database: Database, settings: Settings, verifier: TokenVerifier) -> list[BaseRoute]:
    """The routes of this module, for `server.app.create_app`."""

    async def invoice_pdf(request: Request, door: RequestDatabase, caller: Caller) -> Response:
        if not caller.has_any(BILLING_READERS):
            held = ", ".join(sorted(caller.roles)) or "no role"
            raise Forbidden(
                f"an invoice is billing data: it needs one of the roles {', '.join(sorted(BILLING_READERS))}; "
                f"you have {held}"
            )
        invoice_id = identifier(request.path_params["invoice_id"], argument="invoiceId")
        async with door.read() as session:
            document = await service.invoice_document(
                session, invoice_id=invoice_id, billing_detail=caller.has_any(BILLING_DETAIL)
            )
        if document is None:
            raise NotFound(f"no invoice {invoice_id}")
        return Response(
            document.content,
            media_type=PDF,
            headers={
                "content-disposition": f'inline; filename="{document.filename}"',
                "cache-control": "private, no-store",
            },
        )

    route = door_route(database, settings, verifier, invoice_pdf, what="invoice PDF", logger=log)
    return [Route(INVOICE_PDF_PATH, route)]


__all__ = ["INVOICE_PDF_PATH", "PDF", "document_routes", "invoice_pdf_path"]
