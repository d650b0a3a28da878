"""Benchmark: what the document caches (schema.caches) save per request on a dashboard-shaped document.

    .venv/bin/python bench/document_cache.py [--repeat 2000]

Times, in one process, graphql-core's parse and validate of the document with the schema's own rules (the
specified rules plus our depth and alias limits), against a cache hit of `DocumentCache` and
`ValidationResultCache` on the same text, and prints milliseconds per request and the ratio. No database:
only the part of a request the caches replace. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import graphql

from schema import build_schema
from schema.caches import DocumentCache, ValidationResultCache
from schema.limits import _rules_of, coded
from server.settings import Settings

DASHBOARD = """
query ($layer: String!, $code: String!) {
  territory(layer: $layer, code: $code) {
    name siteCount
    sites(first: 100) {
      totalCount
      edges { node {
        id siteNumber name address city state zip parkingSpaces rooms isActive vendorId
        contract { billingType }
        territories { method validFrom layer { code } territory { code name } }
      } }
    }
  }
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="requests timed per measurement")
    n = parser.parse_args().repeat
    core = build_schema()._schema
    limits = Settings.model_construct()
    from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

    from resolvers.errors import QueryTooDeep, TooManyAliases

    rules = (
        *graphql.specified_rules,
        *(coded(r, QueryTooDeep) for r in _rules_of(QueryDepthLimiter(max_depth=limits.max_depth))),
        *(coded(r, TooManyAliases) for r in _rules_of(MaxAliasesLimiter(max_alias_count=limits.max_aliases))),
    )
    document = graphql.parse(DASHBOARD)
    assert not graphql.validate(core, document, rules)
    parse = timeit.timeit(lambda: graphql.parse(DASHBOARD), number=n) / n
    validate = timeit.timeit(lambda: graphql.validate(core, document, rules), number=n) / n
    cached_parse = DocumentCache().cached_parse_document
    cached_validate = ValidationResultCache().cached_validate_document
    cached_validate(core, cached_parse(DASHBOARD), rules)
    hit = timeit.timeit(lambda: cached_validate(core, cached_parse(DASHBOARD), rules), number=n) / n
    print(
        f"parse {parse * 1e3:.3f} ms + validate {validate * 1e3:.3f} ms per request uncached;"
        f" cache hit {hit * 1e3:.3f} ms; {(parse + validate) / hit:.0f}x"
    )


if __name__ == "__main__":
    main()
