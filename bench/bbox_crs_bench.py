"""Time OGC items requests with `bbox` and `bbox-crs` against a running server.

Usage: .venv/bin/python bench/bbox_crs_bench.py http://127.0.0.1:8000 [N]

Median and maximum of N requests per case (after one warm-up) on the `small` demo data's
water_body layer; the three boxes cover the same area in CRS84, EPSG:4490 (latitude first) and
EPSG:3857, so each answer has the same features.
"""

import statistics
import sys
import time
import urllib.parse
import urllib.request

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CASES = {
    "bbox CRS84": {"bbox": "116.9,34.5,117.3,34.9"},
    "bbox-crs 4490": {"bbox": "34.5,116.9,34.9,117.3", "bbox-crs": EPSG + "4490"},
    "bbox-crs 3857": {"bbox": "13013000,4098000,13057000,4147000", "bbox-crs": EPSG + "3857"},
    "crs 4490 output": {"bbox": "116.9,34.5,117.3,34.9", "crs": EPSG + "4490"},
}


def main(base: str, n: int) -> None:
    for name, params in CASES.items():
        query = urllib.parse.urlencode({"f": "json", "limit": 10, **params})
        url = f"{base}/ogc/collections/water_body/items?{query}"
        times = []
        for i in range(n + 1):
            started = time.perf_counter()
            body = urllib.request.urlopen(url).read()
            if i:
                times.append(time.perf_counter() - started)
        print(f"{name:18s} median {statistics.median(times) * 1000:7.1f} ms"
              f"  max {max(times) * 1000:7.1f} ms  ({len(body)} bytes)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15)
