-- The province's front database (前置库): the three 多规 tables of the MOHURD data-sharing standard
-- (《工程建设项目审批管理系统数据共享交换标准》) that belong to the one blueprint. Idempotent.
-- Used by scripts/pg.sh (make run / make test), docker-compose.yml and the tests.
-- The city inserts rows and never edits them; the province writes SJSCZT and SBYY back.

CREATE TABLE IF NOT EXISTS SPGL_DFGHKZXXXB (      -- 地方规划控制线信息表
    DFSJZJ     VARCHAR(64) PRIMARY KEY,           -- 地方数据主键
    XZQHDM     VARCHAR(12) NOT NULL,              -- 行政区划代码 (GB/T 2260)
    KZXWJXH    VARCHAR(50) NOT NULL,              -- 控制线文件序号
    KZXWJMC    VARCHAR(200) NOT NULL,             -- 控制线文件名称
    KZXSYKSSJ  TIMESTAMP(0),                      -- 控制线使用开始时间
    KZXWJSM    VARCHAR(2000),                     -- 控制线文件说明
    KZXWJFJ    BYTEA,                             -- 控制线文件附件 (zipped Shapefile)
    SJYXBS     SMALLINT NOT NULL DEFAULT 1,       -- 数据有效标识 (1 valid, 0 invalid)
    SJWXYY     VARCHAR(200),                      -- 数据无效原因
    SJSCZT     SMALLINT NOT NULL DEFAULT 0,       -- 数据上传状态 (written by the province)
    SBYY       VARCHAR(2000),                     -- 失败原因 (written by the province)
    GXSJ       TIMESTAMP(0) NOT NULL              -- 更新时间
);

CREATE TABLE IF NOT EXISTS SPGL_XMYDHXJZXXB (     -- 项目用地红线界址信息表
    DFSJZJ     VARCHAR(64) PRIMARY KEY,
    XZQHDM     VARCHAR(12) NOT NULL,
    XMDM       VARCHAR(50) NOT NULL,              -- 项目代码 (GB/T 40058)
    JZWJXH     VARCHAR(50) NOT NULL,              -- 界址文件序号
    JZWJMC     VARCHAR(200) NOT NULL,             -- 界址文件名称
    JZWJSM     VARCHAR(2000),                     -- 界址文件说明
    JZWJFJ     BYTEA,                             -- 界址文件附件 (界址坐标 TXT)
    SJYXBS     SMALLINT NOT NULL DEFAULT 1,
    SJWXYY     VARCHAR(200),
    SJSCZT     SMALLINT NOT NULL DEFAULT 0,
    SBYY       VARCHAR(2000),
    GXSJ       TIMESTAMP(0) NOT NULL
);

CREATE TABLE IF NOT EXISTS SPGL_XMQQYJXXB (       -- 项目前期意见信息表
    DFSJZJ     VARCHAR(64) PRIMARY KEY,
    XZQHDM     VARCHAR(12) NOT NULL,
    XMDM       VARCHAR(50) NOT NULL,
    QQYJSLBM   VARCHAR(64) NOT NULL,              -- 前期意见实例编码
    BLDWDM     VARCHAR(50) NOT NULL,              -- 办理单位代码
    BLDWMC     VARCHAR(200) NOT NULL,             -- 办理单位名称
    FKSJ       TIMESTAMP(0) NOT NULL,             -- 反馈时间
    BLR        VARCHAR(50),                       -- 办理人
    QQYJ       VARCHAR(4000) NOT NULL,            -- 前期意见
    FJMC       VARCHAR(200),                      -- 附件名称
    FJID       VARCHAR(500),                      -- 附件 id
    SJYXBS     SMALLINT NOT NULL DEFAULT 1,
    SJWXYY     VARCHAR(200),
    SJSCZT     SMALLINT NOT NULL DEFAULT 0,
    SBYY       VARCHAR(2000),
    GXSJ       TIMESTAMP(0) NOT NULL
);

-- The province reads new rows by state.
CREATE INDEX IF NOT EXISTS spgl_dfghkzxxxb_sjsczt ON SPGL_DFGHKZXXXB (SJSCZT);
CREATE INDEX IF NOT EXISTS spgl_xmydhxjzxxb_sjsczt ON SPGL_XMYDHXJZXXB (SJSCZT);
CREATE INDEX IF NOT EXISTS spgl_xmqqyjxxb_sjsczt ON SPGL_XMQQYJXXB (SJSCZT);
