"""Persisted operations: a registry of GraphQL documents known by the sha256 of their text.

The registry is a JSON file (`TOWNE_PERSISTED_OPERATIONS`): an object `{"<sha256 hex>": "<document>"}`, or
a list of documents (their hashes computed). Every hash is checked against its document when the server
starts. A request names an operation by hash in Apollo's shape, `"extensions": {"persistedQuery":
{"version": 1, "sha256Hash": "…"}}`, or as `"documentId": "sha256:…"` (the GraphQL-over-HTTP draft; the
`sha256:` prefix is optional); over GET both travel as query parameters. With `TOWNE_PERSISTED_ONLY` only
operations of the registry run: a document sent as text is PERSISTED_QUERY_REQUIRED.

Make the registry from the client's documents, e.g.
`python -c 'import hashlib,json,sys; d=sys.stdin.read(); print(json.dumps({hashlib.sha256(d.encode()).hexdigest(): d}))'`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from resolvers.errors import BadRequest, PersistedQueryNotFound, PersistedQueryRequired

_HASH = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class Registry:
    def __init__(self, documents: Mapping[str, str], *, only: bool = False) -> None:
        self.documents = {key.lower(): value for key, value in documents.items()}
        self.only = only

    @classmethod
    def load(cls, path: Path | None, *, only: bool = False) -> Registry:
        """The registry of `path` (none: empty). Raises `ValueError` for a file that is not a registry or a
        hash that is not its document's."""
        if path is None:
            return cls({}, only=only)
        raw: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(raw, list):
            raw = {sha256_of(document): document for document in raw}
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise ValueError(f"{path}: a persisted-operations registry is a JSON object of hash → document")
        for key, document in raw.items():
            if not isinstance(key, str) or key.lower() != sha256_of(document):
                raise ValueError(f"{path}: {key!r} is not the sha256 of its document")
        return cls(raw, only=only)

    def resolve(self, query: object, extensions: object) -> str | None:
        """The document to run: the registry's for a hash, else `query`; raises the coded refusals."""
        named = _hash_of(extensions)
        if named is None:
            if self.only and query is not None:
                raise PersistedQueryRequired(
                    "this server runs persisted operations only: send the sha256Hash of a registered "
                    "document, not its text"
                )
            return query if isinstance(query, str) or query is None else None
        if isinstance(query, str) and query and sha256_of(query) != named:
            raise BadRequest("extensions.persistedQuery.sha256Hash is not the sha256 of the query sent")
        document = self.documents.get(named)
        if document is None:
            if not self.only and isinstance(query, str) and query:
                return query  # a client's automatic persisted query with its text: run the text
            raise PersistedQueryNotFound(
                f"no persisted operation has the hash {named}; send a hash of the registry"
            )
        return document


def _hash_of(extensions: object) -> str | None:
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    given = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    found = _HASH.fullmatch(given) if isinstance(given, str) else None
    if found is None:
        raise BadRequest("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
    return found.group(1).lower()


def with_document_id(envelope: dict[str, Any]) -> dict[str, Any]:
    """`documentId` of an envelope as Apollo's `extensions.persistedQuery` (one place resolves both)."""
    if "documentId" not in envelope:
        return envelope
    document_id = envelope["documentId"]
    extensions = envelope.get("extensions")
    if extensions is None:
        extensions = {}
    if not isinstance(extensions, dict):
        return envelope  # strawberry refuses extensions that are not an object
    return {**envelope, "extensions": {**extensions, "persistedQuery": {"sha256Hash": document_id}}}
