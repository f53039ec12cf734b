"""A page of items as GeoJSON text written by PostGIS, spliced into pygeoapi's document.

pygeoapi builds the items document (links, `numberMatched`, `timeStamp`) around a list of
feature dicts and serialises it with `json.dumps`. For a page of 100 farmland patches, turning
rows into dicts and back into JSON was 22 of every 25 ms (issue 20). Here the provider asks
PostgreSQL for the page's features as one text (`ST_AsGeoJSON` in the output CRS and precision,
`properties` as they are stored) and hands pygeoapi a list of placeholders of the same length,
so that everything pygeoapi derives from the page (the `next` link, `numberReturned`) stays
its own. The items view then swaps the placeholders' array for the PostGIS text.

Only JSON answers take this path (`PostgisPage.begin`); HTML and JSON-LD pages get dicts.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import connections

__all__ = ["PostgisPage", "page_text"]

_PLACEHOLDER = "\x00"  # json.dumps writes it as "\u0000", which no feature array can hold
_CURRENT: ContextVar[PostgisPage | None] = ContextVar("postgis_geojson_page", default=None)


@dataclass
class PostgisPage:
    """The features text of the page being answered, once the provider has read it."""

    count: int = 0
    text: str | None = None

    @staticmethod
    def begin(output_format: str | None):
        """A token for `end`; JSON pages (pygeoapi's `json` or no format) are read as text."""
        return _CURRENT.set(PostgisPage() if output_format in (None, "json") else None)

    @staticmethod
    def end(token) -> PostgisPage | None:
        page = _CURRENT.get()
        _CURRENT.reset(token)
        return page if page is not None and page.text is not None else None

    @staticmethod
    def wanted() -> PostgisPage | None:
        """The page to fill, when the answer is JSON."""
        return _CURRENT.get()

    def placeholders(self, count: int, text: str) -> list[str]:
        self.count, self.text = count, text
        return [_PLACEHOLDER] * count

    def splice(self, document: str) -> str:
        """pygeoapi's serialised document with the PostGIS features in place of the placeholders.

        pygeoapi writes `<` and `>` as `&lt;` and `&gt;` in every JSON answer; so does this.
        """
        features = self.text.replace("<", "&lt;").replace(">", "&gt;")
        block = '"features":[' + ",".join([json.dumps(_PLACEHOLDER)] * self.count) + "]"
        if block in document:
            return document.replace(block, '"features":[' + features + "]", 1)
        parsed = json.loads(document)  # pretty-printed or reordered: splice as data
        parsed["features"] = json.loads("[" + features + "]")
        return json.dumps(parsed, separators=(",", ":"))


def page_text(rows, counted, *, geometry: bool, drop: list[str]) -> tuple[int | None, int, str]:
    """(matched, returned, text): how many features `counted` (a queryset, or None for no count)
    holds, and the features of a page of `rows` (a values() queryset of fid, properties and, with
    `geometry`, geojson) as comma-separated GeoJSON Feature texts, in the page's order; `drop`
    names properties left out (the `properties` parameter). One statement, one round trip."""
    sql, params = rows.query.sql_with_params()
    count, count_params = "NULL", ()
    if counted is not None:
        count_sql, count_params = counted.values("pk").query.sql_with_params()
        count = f"(SELECT count(*) FROM ({count_sql}) c)"
    geojson = "coalesce(t.geojson, 'null')" if geometry else "'null'"
    properties = "(t.properties - %s::text[])::text" if drop else "t.properties::text"
    # A sorted subquery feeds the aggregate in its order (PostgreSQL's documented behaviour).
    statement = (f"SELECT {count}, count(*), coalesce(string_agg("
                 "'{\"type\":\"Feature\",\"id\":' || t.fid || ',\"geometry\":' || " + geojson
                 + " || ',\"properties\":' || " + properties + " || '}', ','), '')"
                 f" FROM ({sql}) t")
    with connections[rows.db].cursor() as cursor:
        # In the order the statement names them: the count's, then drop's, then the page's.
        cursor.execute(statement, (*count_params, *([drop] if drop else []), *params))
        return cursor.fetchone()
