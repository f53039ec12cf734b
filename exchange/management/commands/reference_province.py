"""`manage.py reference_province`: the province's side of the front database, for the demo and tests.

Not part of the product: it stands in for the provincial system. It takes new rows (SJSCZT = 0),
validates them by the standard's rules, and writes SJSCZT and SBYY back. It can be told to
reject a district's rows, to be slow (hold its tables locked), or to go down (refuse connections).
"""

from __future__ import annotations

import io
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand
from psycopg import sql

ACCEPTED, REJECTED = 2, 3
TABLES = ("spgl_dfghkzxxxb", "spgl_xmydhxjzxxb", "spgl_xmqqyjxxb")
_REQUIRED = {"spgl_dfghkzxxxb": ("xzqhdm", "kzxwjxh", "kzxwjmc", "gxsj"),
             "spgl_xmydhxjzxxb": ("xzqhdm", "xmdm", "jzwjxh", "jzwjmc", "gxsj"),
             "spgl_xmqqyjxxb": ("xzqhdm", "xmdm", "qqyjslbm", "bldwdm", "bldwmc", "fksj", "qqyj", "gxsj")}
_ATTACHMENT = {"spgl_dfghkzxxxb": "kzxwjfj", "spgl_xmydhxjzxxb": "jzwjfj"}
_PROJECT_CODE = re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}-\d{6}$")


@dataclass
class ReferenceProvince:
    """The province, on the front database at `url`."""

    url: str
    reject_districts: set[str] = field(default_factory=set)
    taken: int = 0

    def take(self) -> int:
        """Validate every new row and write its verdict; return how many were taken."""
        count = 0
        with psycopg.connect(self.url) as conn, conn.cursor() as cursor:
            for table in TABLES:
                cursor.execute(sql.SQL("SELECT * FROM {} WHERE sjsczt = 0 FOR UPDATE SKIP LOCKED")
                               .format(sql.Identifier(table)))
                names = [c.name for c in cursor.description]
                for values in cursor.fetchall():
                    row = dict(zip(names, values, strict=True))
                    reasons = self.problems(table, row)
                    cursor.execute(sql.SQL("UPDATE {} SET sjsczt = %s, sbyy = %s WHERE dfsjzj = %s")
                                   .format(sql.Identifier(table)),
                                   [REJECTED if reasons else ACCEPTED, "；".join(reasons) or None,
                                    row["dfsjzj"]])
                    count += 1
        self.taken += count
        return count

    def problems(self, table: str, row: dict) -> list[str]:
        """The standard's rules, as the province checks them."""
        found = [f"{name.upper()} 为空" for name in _REQUIRED[table] if row.get(name) in (None, "")]
        if not re.fullmatch(r"\d{6}", str(row.get("xzqhdm") or "")):
            found.append("XZQHDM 不是 6 位行政区划代码")
        if row.get("xzqhdm") in self.reject_districts:
            found.append(f"行政区划代码 {row['xzqhdm']} 未在省级系统登记")
        if "xmdm" in row and not _PROJECT_CODE.match(str(row.get("xmdm") or "")):
            found.append("XMDM 不符合 GB/T 40058 项目代码格式")
        if row.get("sjyxbs") not in (0, 1):
            found.append("SJYXBS 只能为 0 或 1")
        if row.get("sjyxbs") == 0 and not row.get("sjwxyy"):
            found.append("无效数据须填写 SJWXYY")
        if row.get("sjyxbs") == 1 and table in _ATTACHMENT:
            found += _attachment_problems(table, row.get(_ATTACHMENT[table]))
        return found

    # --- faults -----------------------------------------------------------------------------
    def _admin(self):
        return psycopg.connect(self.url, dbname="postgres", autocommit=True)

    def _allow(self, allowed: bool) -> None:
        name = psycopg.conninfo.conninfo_to_dict(self.url)["dbname"]
        with self._admin() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allowed else "false")))
            if not allowed:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                             [name])

    def down(self) -> None:
        """Refuse every connection to the front database (and end the open ones)."""
        self._allow(False)

    def up(self) -> None:
        self._allow(True)

    def slow(self, seconds: float) -> threading.Thread:
        """Hold the tables locked for `seconds` (in a thread): writers wait, as on a busy province."""
        locked = threading.Event()

        def hold():
            with psycopg.connect(self.url) as conn:
                conn.execute(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
                locked.set()
                time.sleep(seconds)

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        locked.wait(10)
        return thread


def _attachment_problems(table: str, blob) -> list[str]:
    if not blob:
        return ["缺少附件"]
    data = bytes(blob)
    if table == "spgl_xmydhxjzxxb":
        try:
            text = data.decode("gbk")
        except UnicodeDecodeError:
            return ["界址文件不是 GBK 编码"]
        complete = "[地块坐标]" in text and "[属性描述]" in text
        return [] if complete else ["界址文件缺少 [属性描述] 或 [地块坐标]"]
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return ["控制线附件不是 zip 文件"]
    missing = {".shp", ".shx", ".dbf", ".prj", ".cpg"} - {n[n.rfind("."):].lower() for n in names}
    return [f"控制线附件缺少 {', '.join(sorted(missing))}"] if missing else []


class Command(BaseCommand):
    help = "模拟省级系统：读取前置库新数据，校验并回写上传状态 (the reference province, for the demo)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="take the new rows once and stop")
        parser.add_argument("--interval", type=float, default=10.0, help="seconds between rounds")
        parser.add_argument("--reject-district", action="append", default=[],
                            help="reject every row of this GB/T 2260 code (repeatable)")

    def handle(self, *args, once=False, interval=10.0, reject_district=(), **options):
        province = ReferenceProvince(settings.BLUEPRINT["EXCHANGE_DATABASE_URL"], set(reject_district))
        while True:
            taken = province.take()
            if taken:
                self.stdout.write(f"省级系统已处理 {taken} 条 (took {taken} rows)")
            if once:
                return
            time.sleep(interval)
