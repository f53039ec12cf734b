"""Turn a source file into CSV rows for COPY, batch by batch, with the work done in bulk:
validity and repair (GEOS), ellipsoidal areas, attribute JSON, hex EWKB — and stream them to
PostgreSQL from a thread, so that Python and the database work at the same time."""

from __future__ import annotations

import io
import logging
import queue
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely
from django.conf import settings
from pyogrio.errors import DataLayerError, DataSourceError

from blueprint.errors import InvalidInput
from layers import crs

__all__ = ["Rows", "Stream", "Tally", "COPY_COLUMNS"]

POLYGONAL = {"Polygon", "MultiPolygon"}
FAMILIES = {"Polygon": POLYGONAL, "MultiPolygon": POLYGONAL,
            "LineString": {"LineString", "MultiLineString"},
            "MultiLineString": {"LineString", "MultiLineString"},
            "Point": {"Point", "MultiPoint"}, "MultiPoint": {"Point", "MultiPoint"}}


def _batches(path: Path, batch_size: int) -> Iterator[tuple[list, np.ndarray, dict]]:
    """Yield (fids, geometries, arrow columns) per batch of the file."""
    try:
        with pyogrio.open_arrow(path, batch_size=batch_size, return_fids=True,
                                use_pyarrow=True) as (meta, reader):
            fid_column = meta.get("fid_column") or "OGC_FID"
            for batch in reader:
                # GDAL names an unnamed geometry column "wkb_geometry": take whatever is left.
                geometry_column = meta["geometry_name"] or next(
                    name for name in batch.schema.names
                    if name != fid_column and name not in set(meta["fields"]))
                columns = {name: batch.column(name) for name in batch.schema.names}
                fids = columns.pop(fid_column).to_pylist()
                geoms = shapely.from_wkb(columns.pop(geometry_column).to_numpy(zero_copy_only=False),
                                         on_invalid="warn")
                if shapely.has_z(geoms).any():
                    geoms = shapely.force_2d(geoms)
                yield fids, geoms, columns
    except (DataSourceError, DataLayerError, OSError) as exc:
        logging.getLogger(__name__).info("reading %s failed: %s", path, exc)  # GDAL's text: the log's
        raise InvalidInput(f"读取 {path.name} 时出错：文件可能已损坏。 (Reading {path.name} failed:"
                           " the file may be corrupt.)") from exc


def _not_finite(geoms: np.ndarray) -> np.ndarray:
    """Which geometries hold a NaN or infinite coordinate (GEOS would "repair" them into nonsense)."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    return np.bincount(index[bad], minlength=len(geoms)).astype(bool)


def _triage(fids, geoms, layer, path, rejected) -> np.ndarray:
    """Reject empty geometries; stop on a geometry of the wrong kind."""
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for fid in np.asarray(fids)[empty]:
        rejected.append({"fid": int(fid), "reason": "空几何 / empty geometry"})
    infinite = _not_finite(geoms) & ~empty
    for fid in np.asarray(fids)[infinite]:
        rejected.append({"fid": int(fid), "reason": "坐标不是有限数 (NaN、∞) / non-finite coordinates"})
    empty |= infinite
    family = FAMILIES.get(layer.geometry_type)
    if family:
        wrong = ~empty & ~np.isin(shapely.get_type_id(geoms), [_TYPE_IDS[t] for t in family])
        if wrong.any():
            index = int(np.flatnonzero(wrong)[0])
            kind = geoms[index].geom_type
            raise InvalidInput(
                f"{path.name} 混有不同几何类型：要素 {fids[index]} 是 {kind}，图层 {layer.slug} 需要"
                f" {layer.geometry_type}。 (Mixed geometry types: feature {fids[index]} is {kind};"
                f" layer {layer.slug} takes {layer.geometry_type}.)")
    return ~empty


_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5,
             "MultiPolygon": 6}


@dataclass
class Tally:
    """What the rows streamed so far add up to."""

    count: int = 0
    area_m2: float = 0.0
    bounds: list = field(default_factory=lambda: [np.inf, np.inf, -np.inf, -np.inf])
    repaired: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


@dataclass
class _Prepared:
    """One batch made ready for COPY, with what it adds to the tally."""

    read: int
    csv: bytes | None = None
    count: int = 0
    area_m2: float = 0.0
    bounds: list = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    repaired: list[dict] = field(default_factory=list)


class Rows:
    """Prepare batches in CSV for COPY: validity and repair, areas, JSON, EWKB — all vectorised."""

    def __init__(self, path, source, layer, mapper, version_id: int, on_progress, total) -> None:
        self.path, self.source, self.layer, self.mapper = path, source, layer, mapper
        self.version_id, self.on_progress, self.total = version_id, on_progress, total
        self.polygonal = layer.geometry_type in POLYGONAL
        self.max_vertices = int(settings.BLUEPRINT["SUBDIVIDE_MAX_VERTICES"])
        self.tally = Tally()

    def __iter__(self) -> Iterator[bytes]:
        # Two threads prepare batches (GEOS, Arrow and numpy release the GIL) while COPY sends the
        # previous ones; results are taken in order, so the tally is kept by this thread only.
        done = 0
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending: deque = deque()
            for fids, geoms, batch in _batches(self.path, settings.BLUEPRINT["IMPORT_BATCH_SIZE"]):
                pending.append(pool.submit(self._prepare, fids, geoms, batch))
                if len(pending) > 2:
                    done, chunk = self._collect(pending.popleft().result(), done)
                    if chunk:
                        yield chunk
            while pending:
                done, chunk = self._collect(pending.popleft().result(), done)
                if chunk:
                    yield chunk

    def _collect(self, prepared: _Prepared, done: int) -> tuple[int, bytes | None]:
        tally = self.tally
        tally.rejected += prepared.rejected
        tally.repaired += prepared.repaired
        if prepared.count:
            tally.count += prepared.count
            tally.area_m2 += prepared.area_m2
            west, south, east, north = prepared.bounds
            tally.bounds = [min(tally.bounds[0], west), min(tally.bounds[1], south),
                            max(tally.bounds[2], east), max(tally.bounds[3], north)]
        done += prepared.read
        if self.on_progress:
            self.on_progress(done, self.total)
        return done, prepared.csv

    def _prepare(self, fids: list, geoms: np.ndarray, batch: dict) -> _Prepared:
        out = _Prepared(read=len(fids))
        keep = _triage(fids, geoms, self.layer, self.path, out.rejected)
        fids = [fid for fid, k in zip(fids, keep, strict=True) if k]
        batch = {name: column.filter(pa.array(keep)) for name, column in batch.items()}
        if not keep.any():  # a batch of rejected features only
            return out
        geoms, usable = self._valid(np.asarray(fids), crs.to_cgcs2000(geoms[keep], self.source), out)
        if not usable.all():
            fids = [fid for fid, k in zip(fids, usable, strict=True) if k]
            batch = {name: column.filter(pa.array(usable)) for name, column in batch.items()}
            geoms = geoms[usable]
        if len(fids):
            out.csv = self._csv(fids, geoms, batch, out)
        return out

    def _valid(self, fids: np.ndarray, geoms: np.ndarray,
               out: _Prepared) -> tuple[np.ndarray, np.ndarray]:
        """Repair invalid geometries (GEOS make_valid, structure method); reject what vanishes."""
        invalid = ~shapely.is_valid(geoms)
        usable = np.ones(len(geoms), dtype=bool)
        if invalid.any():
            reasons = shapely.is_valid_reason(geoms[invalid])
            fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
            if self.polygonal:
                fixed = _polygonal_parts(fixed)
            geoms = geoms.copy()
            geoms[invalid] = fixed
            for fid, reason, geom in zip(fids[invalid], reasons, fixed, strict=True):
                entry = {"fid": int(fid), "reason": str(reason)}
                (out.rejected if geom is None or geom.is_empty else out.repaired).append(entry)
            usable[invalid] = ~(shapely.is_missing(fixed) | shapely.is_empty(fixed))
        return geoms, usable

    def _csv(self, fids: list, geoms: np.ndarray, batch: dict, out: _Prepared) -> bytes:
        if self.polygonal:
            geoms = _as_multi(geoms)
        areas = crs.ellipsoidal_areas_m2(geoms) if self.polygonal else np.full(len(fids), np.nan)
        out.count, out.area_m2 = len(fids), float(np.nansum(areas))
        out.bounds = list(shapely.total_bounds(geoms))
        columns = {
            "version_id": pa.array(np.full(len(fids), self.version_id, dtype=np.int64)),
            "fid": pa.array(fids, pa.int64()),
            "properties": self.mapper.json_texts(fids, batch),
            "area_m2": pa.array(areas, from_pandas=True),  # NaN (no area) → NULL
            "subdivided": pa.array(shapely.get_num_coordinates(geoms) > self.max_vertices),
            "geom": _hex_ewkb(geoms),
        }
        buffer = io.BytesIO()
        pacsv.write_csv(pa.table(columns), buffer, pacsv.WriteOptions(include_header=False))
        return buffer.getvalue()


COPY_COLUMNS = "version_id, fid, properties, area_m2, subdivided, geom"


def _polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    parts, index = shapely.get_parts(geoms, return_index=True)
    polygons = np.isin(shapely.get_type_id(parts), [3, 6])
    out = np.array([shapely.MultiPolygon() for _ in geoms], dtype=object)
    if polygons.any():
        merged = shapely.multipolygons(shapely.get_parts(parts[polygons]),
                                       indices=np.repeat(index[polygons],
                                                         shapely.get_num_geometries(parts[polygons])))
        out[np.unique(index[polygons])] = merged
    return out


def _as_multi(geoms: np.ndarray) -> np.ndarray:
    single = shapely.get_type_id(geoms) == 3
    if single.any():
        geoms = geoms.copy()
        geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(single.sum()))
    return geoms


_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def _hex_ewkb(geoms: np.ndarray) -> pa.Array:
    """EWKB (SRID 4490) as hex text, built as one Arrow string buffer."""
    blobs = shapely.to_wkb(shapely.set_srid(geoms, 4490), include_srid=True)
    lengths = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    text = np.empty(raw.size * 2, dtype=np.uint8)
    text[0::2], text[1::2] = _HEX[raw >> 4], _HEX[raw & 0x0F]
    offsets = np.concatenate([[0], np.cumsum(lengths * 2)]).astype(np.int32)
    return pa.StringArray.from_buffers(len(blobs), pa.py_buffer(offsets), pa.py_buffer(text.tobytes()))


class Stream(io.RawIOBase):
    """A file for COPY to read while a thread prepares the next batches, so that Python and
    PostgreSQL work at the same time. psycopg2 turns an error raised in read() into a bare
    QueryCanceled, so the thread's own error is kept in `error` for the caller to raise."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=2)  # bounds memory to a couple of batches
        self.pending = memoryview(b"")
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, args=(chunks,), daemon=True)
        self.thread.start()

    def _produce(self, chunks) -> None:
        try:
            for chunk in chunks:
                while not self.stop.is_set():
                    try:
                        self.queue.put(chunk, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    return
        except BaseException as exc:  # handed to the reader, which re-raises it
            self.error = exc
        self.queue.put(None)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not len(self.pending):
            item = self.queue.get()
            if item is None:
                if self.error is not None:
                    raise self.error
                return b""
            self.pending = memoryview(item)
        size = len(self.pending) if size is None or size < 0 else size
        # A memoryview slice copies nothing: slicing bytes here would copy the rest every read.
        chunk, self.pending = self.pending[:size], self.pending[size:]
        return bytes(chunk)

    def close(self) -> None:
        self.stop.set()
        while self.thread.is_alive():
            try:
                self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
        super().close()
