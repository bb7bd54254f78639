# The Chinese demo text uses full-width punctuation on purpose.
"""Demo data for the pilot: the Guizhou Red Cross community fund, one street office, its people and grants.

Everything is keyed on natural keys so that seeding twice changes nothing, and every application is moved
through its life by the real services, acted by the demo user who holds the deciding role. Approvals commit
money, so finance first records the fund's donations (restricted gifts are drawn on first); grants past
their agreement have their payable tranches paid, and the closed one is paid in full before it closes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from . import services
from .models import (
    Attachment,
    AuditEntry,
    BeneficiaryGroup,
    BudgetLine,
    Community,
    Donation,
    Foundation,
    Fund,
    FundBalance,
    GrantApplication,
    LedgerEntry,
    Membership,
    Objection,
    Role,
    ServiceCategory,
    StreetOffice,
    Tranche,
)
from .models.organisations import STREET_ROLES
from .permissions import forget_roles
from .selectors.reporting import line_budgets
from .states import STEPS, State

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User

FOUNDATION_NAME = "贵州省红十字基金会"
FUND_NAME = f"{FOUNDATION_NAME}贵州红十字社区公益基金"
FUND_CODE = "gzrc-community"
YUHONG = "宇虹社区"
YUEHU = "阅湖社区"
AUDITOR_GROUP = "审计监督（只读）"

# (code, Chinese name, English name, what it covers)
CATEGORIES = (
    ("elder_care", "敬老", "elder care", "独居、空巢、高龄及失能老人的助餐、探访、照护与文体活动。"),
    ("children", "扶小", "children", "儿童关爱、四点半课堂、安全教育与亲子活动。"),
    ("hardship", "助困", "hardship relief", "低保、低边及突发困难家庭的个案帮扶、就业支持与资源链接。"),
    ("medical", "助医", "medical aid", "大病困难患者救助、陪诊随访、健康讲座与义诊。"),
    ("education", "助学", "education", "困境学生课业辅导、心理陪伴与社区教育。"),
    ("disability", "助残", "disability", "残疾人康复、辅具适配、社区融入与就业辅导。"),
    ("military_families", "双拥", "support for military families", "优抚对象关爱、国防教育与军民共建活动。"),
)

EXAMPLE_COMMUNITIES = ("示例社区一", "示例社区二", "示例社区三", "示例社区四", "示例社区五", "示例社区六")


@dataclass(frozen=True)
class DemoUser:
    """A demo login: its Chinese display name and the one role it holds (None: administrator)."""

    username: str
    last_name: str
    first_name: str
    role: Role | None
    communities: tuple[str, ...] = ()
    is_staff: bool = False
    is_superuser: bool = False


USERS = (
    DemoUser("applicant", "李", "晓燕", Role.APPLICANT, communities=(YUHONG,)),
    DemoUser("applicant2", "张", "敏", Role.APPLICANT, communities=(YUEHU,)),
    DemoUser("community_head", "陈", "建国", Role.COMMUNITY_HEAD, communities=(YUHONG, YUEHU)),
    DemoUser("street_reviewer", "刘", "芳", Role.STREET_REVIEWER),
    DemoUser("street_leader", "杨", "志强", Role.STREET_LEADER),
    DemoUser("programme_officer", "赵", "婷", Role.PROGRAMME_OFFICER),
    DemoUser("secretary_general", "黄", "伟", Role.SECRETARY_GENERAL),
    DemoUser("board_member", "周", "文华", Role.BOARD_MEMBER),
    DemoUser("finance", "吴", "丽", Role.FINANCE),
    DemoUser("auditor", "徐", "静", Role.AUDITOR, is_staff=True),
    DemoUser("admin", "系统", "管理员", None, is_staff=True, is_superuser=True),
)

# Steps of an application's life, in the order the demo walks them.
TO_STREET = ("submit", "confirm")
TO_FOUNDATION = (*TO_STREET, "street_approve", "street_sign_off")
TO_APPROVAL = (*TO_FOUNDATION, "recommend")
TO_PUBLICITY = (*TO_APPROVAL, "approve")
TO_BOARD_PUBLICITY = (*TO_APPROVAL, "approve", "board_approve")
# Publicity cannot end before its working days have passed, so the demo reaches the agreement the other
# legal way: an objection is filed during publicity and dismissed.
TO_AGREEMENT = (*TO_PUBLICITY, "object", "dismiss")
# Signing makes the first tranche payable; finance pays it at once.
TO_IN_PROGRESS = (*TO_AGREEMENT, "sign", "pay")


@dataclass(frozen=True)
class DemoApplication:
    """One demo application: what the community asks for and how far along its life the demo takes it."""

    community: str
    category: str
    title: str
    summary: str
    lines: tuple[tuple[str, str, str], ...]  # (budget category, description, amount in yuan)
    beneficiaries: tuple[tuple[str, int], ...]
    path: tuple[str, ...]
    expect: State
    starts_in_days: int = 30
    duration_days: int = 180
    score: int = 85
    recommended: str | None = None  # default: the requested amount
    conditions: str = ""
    spent: str = ""  # yuan actually spent, reported in the completion report (default: as budgeted)
    texts: dict[str, str] = field(default_factory=dict)  # reasons, reports and minutes, by step name

    @property
    def requested_amount(self) -> Decimal:
        return sum((Decimal(amount) for _cat, _desc, amount in self.lines), Decimal("0"))


APPLICATIONS = (
    DemoApplication(
        YUHONG, "medical", "宇虹社区居民健康讲座系列",
        "联合社区卫生服务中心，每月举办一次慢病防治、合理用药和急救常识讲座，全年共12场，"
        "讲座后设现场咨询。",
        (("services", "专家讲课劳务（12场）", "7200"), ("printing", "宣传海报与讲义印刷", "1800"),
         ("materials", "急救培训教具租用", "1500")),
        (("residents", 600), ("elderly", 200)),
        path=(), expect=State.DRAFT, starts_in_days=45, duration_days=364,
    ),
    DemoApplication(
        YUEHU, "children", "阅湖社区亲子阅读角",
        "每周六上午在社区活动室开展亲子共读和绘本剧表演，招募家长志愿者轮流带读，培养儿童阅读习惯。",
        (("materials", "绘本及阅读材料", "6800"), ("services", "阅读推广社工服务（6个月）", "9600"),
         ("printing", "活动宣传", "600")),
        (("children", 120), ("residents", 80)),
        path=("submit",), expect=State.COMMUNITY_CONFIRMATION,
    ),
    DemoApplication(
        YUHONG, "medical", "宇虹社区困难家庭医疗救助",
        "为辖区低保、低收入家庭中的大病患者协助申请各类医疗救助，提供就医陪诊和康复随访；"
        "个人自付部分按救助标准直接结算至定点医院。",
        (("other", "医疗救助（直接结算至定点医院）", "30000"), ("services", "医务社工陪诊与随访", "12000"),
         ("transport", "陪诊交通", "1600")),
        (("patients", 40),),
        path=TO_STREET, expect=State.STREET_REVIEW,
    ),
    DemoApplication(
        YUEHU, "military_families", "阅湖社区退役军人及军属关爱走访",
        "走访辖区优抚对象家庭，开展优待政策宣讲、法律咨询和心理疏导，建立需求台账并链接服务资源。",
        (("services", "法律咨询与心理疏导服务", "8000"), ("activities", "政策宣讲座谈会（4场）", "3500"),
         ("transport", "走访交通", "1000")),
        (("military_families", 60),),
        path=(*TO_STREET, "street_approve"), expect=State.STREET_SIGNOFF,
    ),
    DemoApplication(
        YUEHU, "education", "阅湖社区四点半课堂",
        "为双职工家庭的小学生提供放学后作业辅导、兴趣课程和安全看护，每周一至周五16:30—18:30。",
        (("services", "辅导老师与社工服务", "28800"), ("materials", "学习用品与教具", "4200"),
         ("other", "场地租赁", "6000")),
        (("students", 50),),
        path=(*TO_STREET, "return"), expect=State.REVISION_REQUESTED, duration_days=300,
        texts={"return": "课堂在社区自有活动室开展，“场地租赁”6,000元不应列支；请删去该项，"
                         "并补充辅导老师资质说明和每周课程安排后重新提交。"},
    ),
    DemoApplication(
        YUHONG, "disability", "宇虹社区残疾人康复辅具适配",
        "联合康复机构为辖区肢体、视力残疾人评估需求，适配轮椅、助行器、助视器等辅具并培训使用；"
        "辅具由社区辅具站登记管理、循环借用，并定期上门随访。",
        (("services", "康复评估与适配服务", "18000"), ("materials", "辅具（社区辅具站循环借用）", "24000"),
         ("transport", "上门随访交通", "2000")),
        (("disabled", 35),),
        path=(*TO_STREET, "return", "resubmit", "street_approve", "street_sign_off"),
        expect=State.FOUNDATION_REVIEW,
        texts={"return": "请补充辅具清单及单价依据（至少两家报价），并说明辅具归属和借用管理办法。",
               "resubmit": "已补充辅具清单、三家报价和《社区辅具站借用管理办法》。"},
    ),
    DemoApplication(
        YUEHU, "education", "阅湖社区困境学生课业辅导与心理陪伴",
        "为低保、单亲和留守家庭的中小学生提供一对一课业辅导与社工心理陪伴，建立成长档案，"
        "每学期与学校和家长沟通一次。",
        (("services", "课业辅导与社工陪伴服务", "36000"), ("training", "志愿者培训", "4000"),
         ("materials", "学习资料", "3000")),
        (("students", 30),),
        path=TO_APPROVAL, expect=State.APPROVAL, score=86, recommended="40000",
        conditions="核减学习资料费3,000元；每学期提交一次辅导记录与成效评估。",
    ),
    DemoApplication(
        YUHONG, "elder_care", "宇虹社区独居老人助餐服务",
        "依托社区长者食堂，为80岁以上独居及失能老人提供午餐配送和用餐补贴，并配套每周一次健康巡访。",
        (("other", "助餐补贴（按月结算至长者食堂）", "96000"), ("services", "送餐服务人员劳务", "43200"),
         ("services", "每周健康巡访", "14400"), ("materials", "保温餐盒与配送耗材", "3400")),
        (("elderly", 120),),
        path=(*TO_APPROVAL, "approve"), expect=State.BOARD_APPROVAL, duration_days=364, score=91,
        recommended="150000", conditions="按月公示助餐人数和补贴结算明细（不公开老人个人信息）。",
    ),
    DemoApplication(
        YUEHU, "elder_care", "阅湖社区“邻里守望”独居老人探访",
        "组织楼栋长和志愿者与独居老人结对，每周电话问候、每月上门探访，建立紧急联系机制。",
        (("training", "志愿者培训", "3000"), ("services", "社工督导", "12000"),
         ("printing", "紧急联系卡印制", "1500"), ("other", "志愿者意外保险", "2400")),
        (("elderly", 90),),
        path=TO_PUBLICITY, expect=State.PUBLICITY, score=84,
    ),
    DemoApplication(
        YUEHU, "hardship", "阅湖社区困难家庭综合帮扶",
        "社工驻点为低保、低边及突发困难家庭提供个案管理、就业指导和资源链接，开展家庭能力建设小组。",
        (("services", "驻点社工服务（12个月）", "86400"), ("training", "就业技能培训", "18000"),
         ("activities", "家庭能力建设小组", "9600"), ("transport", "入户交通与通讯", "2400")),
        (("hardship", 80),),
        path=TO_BOARD_PUBLICITY, expect=State.PUBLICITY, duration_days=364, score=89,
        texts={"board_approve": "理事会临时会议（通讯表决）审议：应到9人，实到7人，同意7票，反对0票，"
                                "弃权0票；同意资助116,400元，按50%、40%、10%分三期拨付。"},
    ),
    DemoApplication(
        YUHONG, "medical", "宇虹社区慢病管理与健康义诊",
        "联合社区卫生服务中心每月开展一次义诊，为高血压、糖尿病居民建立随访档案并开展自我管理小组。",
        (("services", "医护人员义诊与随访服务", "15000"), ("activities", "自我管理小组活动", "4000"),
         ("printing", "健康宣传资料", "1000")),
        (("patients", 150),),
        path=(*TO_PUBLICITY, "object"), expect=State.OBJECTION, score=82,
        texts={"object": "义诊和慢病随访是否与社区卫生服务中心的基本公共卫生服务重复？"
                         "请说明资金的具体用途。"},
    ),
    DemoApplication(
        YUHONG, "military_families", "宇虹社区双拥文化活动月",
        "八一建军节前后举办军民联欢、国防教育进社区和退役军人就业创业分享会等系列活动。",
        (("activities", "军民联欢与分享会", "9000"), ("printing", "国防教育展板", "2000"),
         ("transport", "活动交通", "1000")),
        (("military_families", 80), ("residents", 300)),
        path=TO_AGREEMENT, expect=State.AGREEMENT, score=80,
        texts={"object": "联欢活动是否会给参加者发放礼品或现金？",
               "dismiss": "经核查，项目预算不含礼品或现金发放，经费仅用于活动组织、展板和交通，异议不成立。"},
    ),
    DemoApplication(
        YUEHU, "children", "阅湖社区儿童防溺水与交通安全教育",
        "面向辖区6—12岁儿童开展防溺水、交通安全和防拐骗情景教育，每月两次，并培训家长安全监护。",
        (("services", "安全教育讲师与社工服务", "16000"), ("activities", "情景演练活动", "6000"),
         ("materials", "演练器材与教具", "3000")),
        (("children", 200),),
        path=TO_IN_PROGRESS, expect=State.IN_PROGRESS, starts_in_days=-20, duration_days=240, score=88,
        texts={"object": "建议优先招募流动儿童家庭参加。",
               "dismiss": "项目招募已包含流动儿童家庭，所提建议纳入执行要求，不影响资助决定。"},
    ),
    DemoApplication(
        YUHONG, "disability", "宇虹社区精神障碍康复者社区融入",
        "为居家精神障碍康复者提供日间康复活动、家属支持小组和就业辅导，减少复发和社会排斥。",
        (("services", "日间康复活动与个案服务", "30000"), ("activities", "家属支持小组", "8000"),
         ("training", "就业辅导", "4000")),
        (("disabled", 25), ("other", 40)),
        path=(*TO_IN_PROGRESS, "midterm_report"), expect=State.PROGRESS_REVIEW, starts_in_days=-150,
        duration_days=300, score=87,
        texts={"object": "康复者参加活动时的个人信息如何保护？",
               "dismiss": "项目只报送服务人次，不公开个人信息，档案由社工站加锁保管，异议不成立。",
               "midterm_report": "已开展日间康复活动16次、家属小组4次，服务康复者23人；"
                                 "已支出19,600元，执行进度约47%。"},
    ),
    DemoApplication(
        YUEHU, "hardship", "阅湖社区失业人员就业技能培训",
        "为辖区失业及就业困难人员开展家政、育婴和电商直播技能培训，并对接用工企业。",
        (("training", "技能培训课程（4期）", "18000"), ("services", "就业对接服务", "6000"),
         ("printing", "招生宣传", "1000")),
        (("hardship", 60),),
        path=(*TO_IN_PROGRESS, "midterm", "completion_report"), expect=State.COMPLETION_VERIFICATION,
        starts_in_days=-130, duration_days=120, score=83, spent="24380",
        texts={"object": "培训是否只面向本社区居民？",
               "dismiss": "项目面向阅湖社区户籍及常住的失业人员，招生条件已在申请书中载明，异议不成立。",
               "midterm_report": "已开展家政、育婴培训2期，结业31人；已支出11,900元，执行进度约48%。",
               "midterm_accept": "中期进展符合计划，同意拨付第二期资金。",
               "completion_report": "共开展培训4期，结业58人，实现就业21人；"
                                    "实际支出24,380元，结余620元，尾款相应核减。"},
    ),
    DemoApplication(
        YUHONG, "elder_care", "宇虹社区老年人防范电信诈骗宣传",
        "联合派出所开展防诈骗情景剧巡演、入户提醒和反诈小课堂，提升老年人的防骗意识。",
        (("activities", "情景剧巡演（6场）", "6000"), ("printing", "反诈宣传折页", "2500"),
         ("services", "入户提醒志愿服务督导", "3500")),
        (("elderly", 400),),
        path=(*TO_IN_PROGRESS, "midterm", "completion_report", "verify", "accept", "pay", "close"),
        expect=State.CLOSED, starts_in_days=-120, duration_days=90, score=85, spent="10480",
        texts={"object": "情景剧演出是否由社区工作人员承担，会不会重复领取报酬？",
               "dismiss": "演出由志愿者剧团承担，预算不含社区工作人员报酬，异议不成立。",
               "midterm_report": "已完成情景剧巡演3场、入户提醒160户；已支出5,800元，执行进度约48%。",
               "midterm_accept": "中期进展符合计划，同意拨付第二期资金。",
               "completion_report": "巡演6场、入户提醒312户，观众和受访老人共计486人次；实际支出10,480元，"
                                    "已拨资金结余320元。",
               "verify": "已现场核实活动照片、签到表和票据。",
               "accept": "成效达到申请书目标，同意结项。",
               "close": "第三期资金不再拨付；已拨资金结余320元已退回专项基金。"},
    ),
    DemoApplication(
        YUEHU, "elder_care", "阅湖社区广场健身器材采购",
        "在社区广场新增一组适老健身器材，并对器材区地面进行硬化。",
        (("materials", "适老健身器材", "58000"), ("other", "器材区地面硬化", "22000")),
        (("elderly", 300),),
        path=(*TO_FOUNDATION, "reject"), expect=State.REJECTED,
        texts={"reject": "购置固定资产和基建工程属于本基金的禁止用途，不予资助；"
                         "建议向体育或住建部门申请专项资金。"},
    ),
    DemoApplication(
        YUHONG, "children", "宇虹社区端午亲子邻里节",
        "端午节举办包粽子、做香囊等亲子活动，促进邻里交流。",
        (("activities", "亲子活动组织", "4000"), ("materials", "手工材料", "2000")),
        (("children", 80), ("residents", 120)),
        path=(*TO_STREET, "withdraw"), expect=State.WITHDRAWN,
        texts={"withdraw": "辖区企业已全额赞助本次活动，社区撤回申请。"},
    ),
    DemoApplication(
        YUEHU, "education", "阅湖社区老年大学书画班",
        "开设老年书法、国画班各一个，每周授课一次，学期末举办作品展。",
        (("services", "书画教师课酬", "14400"), ("materials", "笔墨纸砚等教学材料", "3600"),
         ("activities", "学期作品展", "2000")),
        (("elderly", 60),),
        path=(*TO_PUBLICITY, "object", "uphold"), expect=State.CANCELLED, score=78,
        texts={"object": "承接书画班的培训机构负责人是本项目定向捐赠企业的股东，存在利益关联。",
               "uphold": "经核实异议属实：承接机构与定向捐赠方存在关联关系，违反《慈善法》第四十条，"
                         "撤销本次资助决定。"},
    ),
)


# --- The fund's money -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDonation:
    """One demo gift, keyed by its bank reference (or, while only announced, by the platform's id)."""

    donor_name: str
    donor_kind: str
    amount: str
    purpose: str
    received_days_ago: int | None  # None: announced, the money has not arrived
    bank_reference: str = ""
    is_anonymous: bool = False
    public_acknowledgement: bool = False
    category: str | None = None  # restricted to this category (code)
    community: str | None = None  # restricted to this community (name)
    source: str = Donation.Source.MANUAL
    platform: str = ""
    platform_donation_id: str = ""


DONATIONS = (
    # The founding gift of the trading company named in the article, thanked publicly.
    DemoDonation("贵州泰禾安商贸有限公司", Donation.DonorKind.COMPANY, "500000.00",
                 "发起设立贵州红十字社区公益基金，用于社区公益服务。", received_days_ago=150,
                 bank_reference="ICBC-2026-000101", public_acknowledgement=True),
    DemoDonation("云潭街道爱心餐饮企业（示例）", Donation.DonorKind.COMPANY, "60000.00",
                 "定向用于敬老服务：独居、高龄老人助餐与探访。", received_days_ago=120,
                 bank_reference="ICBC-2026-000102", public_acknowledgement=True, category="elder_care"),
    DemoDonation("阅湖社区业主爱心联盟（示例）", Donation.DonorKind.COMPANY, "30000.00",
                 "定向用于阅湖社区的公益服务项目。", received_days_ago=90,
                 bank_reference="ICBC-2026-000103", public_acknowledgement=True, community=YUEHU),
    # Two gifts of the public: one who wished to stay anonymous, one who agreed to be thanked by name.
    DemoDonation("钱明远", Donation.DonorKind.PERSON, "2000.00", "支持社区公益。", received_days_ago=60,
                 bank_reference="ICBC-2026-000104", is_anonymous=True),
    DemoDonation("孙丽华", Donation.DonorKind.PERSON, "5000.00", "愿社区老人和孩子们生活更好。", received_days_ago=30,
                 bank_reference="ICBC-2026-000105", public_acknowledgement=True),
    # Announced by the donation platform; finance marks it as arrived when the settlement reaches the account.
    DemoDonation("周女士", Donation.DonorKind.PERSON, "8800.00", "支持儿童安全教育。", received_days_ago=None,
                 source=Donation.Source.PLATFORM, platform="公益平台（示例）",
                 platform_donation_id="DEMO-2026-0001"),
)

# Charged once, after the gifts have arrived (keyed by its memo).
MANAGEMENT_FEE = ("3000.00", "示例：基金管理费（按协议从捐赠收入中提取）。")


# --- PDF stand-ins ------------------------------------------------------------------------------------


def demo_pdf(text: str) -> bytes:
    """A one-page PDF carrying one line of ASCII text, so that demo documents open in any viewer."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    content = b"BT /F1 14 Tf 72 770 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


DOCUMENT_NAMES = {
    Attachment.Kind.APPLICATION_FORM: "项目申请书.pdf",
    Attachment.Kind.BOARD_MINUTES: "理事会决议.pdf",
    Attachment.Kind.AGREEMENT: "资助协议.pdf",
    Attachment.Kind.PROGRESS_REPORT: "中期报告.pdf",
    Attachment.Kind.COMPLETION_REPORT: "结项报告.pdf",
    Attachment.Kind.RECEIPT: "支出票据汇总.pdf",
    Attachment.Kind.PHOTO: "活动照片.pdf",
    Attachment.Kind.BENEFICIARY_SIGNOFF: "受益人签收表.pdf",
}


def _attach(actor: User, application: GrantApplication, kind: Attachment.Kind) -> None:
    pdf = demo_pdf(f"Demo {kind.value.replace('_', ' ')} of application {application.pk} (example data)")
    file = SimpleUploadedFile(DOCUMENT_NAMES[kind], pdf, content_type="application/pdf")
    services.attachment_add(actor=actor, application=application, kind=kind, file=file)


# --- Seeding ------------------------------------------------------------------------------------------


@dataclass
class Pilot:
    """What the seed created or found: the organisations and the cast of demo users."""

    foundation: Foundation
    fund: Fund
    street_office: StreetOffice
    communities: dict[str, Community]
    categories: dict[str, ServiceCategory]
    users: dict[str, User] = field(default_factory=dict)

    def user_with_role(self, role: Role, community: Community) -> User:
        """The demo user who holds `role` for this community's applications (applicants differ)."""
        for spec in USERS:
            if spec.role == role and (not spec.communities or community.name in spec.communities):
                return self.users[spec.username]
        raise LookupError(f"No demo user holds the role {role} for {community}")


def seed_organisations() -> Pilot:
    """The foundation, its fund and categories, the street office and its eight communities."""
    foundation, _created = Foundation.objects.get_or_create(name=FOUNDATION_NAME,
                                                            defaults={"short_name": "省红基会"})
    fund, _created = Fund.objects.update_or_create(
        code=FUND_CODE,
        defaults={"foundation": foundation, "name": FUND_NAME, "board_threshold": Decimal("100000.00"),
                  "publicity_working_days": 5})
    fund.full_clean()
    categories = {}
    for position, (code, name, name_en, description) in enumerate(CATEGORIES, start=1):
        categories[code], _created = ServiceCategory.objects.update_or_create(
            fund=fund, code=code,
            defaults={"name": name, "name_en": name_en, "description": description, "position": position})
    street_office, _created = StreetOffice.objects.get_or_create(city="贵阳市", district="观山湖区",
                                                                 name="云潭街道")
    communities = {}
    for name in (YUHONG, YUEHU, *EXAMPLE_COMMUNITIES):
        communities[name], _created = Community.objects.update_or_create(
            street_office=street_office, name=name,
            defaults={"kind": Community.Kind.RESIDENTS, "is_example": name not in (YUHONG, YUEHU)})
    return Pilot(foundation, fund, street_office, communities, categories)


def seed_users(pilot: Pilot, *, password: str) -> None:
    """One demo user per role with its membership; the auditor may view everything in the admin."""
    user_model = get_user_model()
    auditors, _created = Group.objects.get_or_create(name=AUDITOR_GROUP)
    auditors.permissions.set(Permission.objects.filter(content_type__app_label="grants",
                                                       codename__startswith="view_"))
    for spec in USERS:
        user, created = user_model.objects.update_or_create(
            username=spec.username,
            defaults={"last_name": spec.last_name, "first_name": spec.first_name,
                      "email": f"{spec.username}@example.org", "is_staff": spec.is_staff,
                      "is_superuser": spec.is_superuser, "is_active": True})
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        if spec.communities:
            for name in spec.communities:
                Membership.objects.get_or_create(user=user, role=spec.role, community=pilot.communities[name])
        elif spec.role in STREET_ROLES:
            Membership.objects.get_or_create(user=user, role=spec.role, street_office=pilot.street_office)
        elif spec.role is not None:
            Membership.objects.get_or_create(user=user, role=spec.role, foundation=pilot.foundation)
        if spec.role == Role.AUDITOR:
            user.groups.add(auditors)
        forget_roles(user)
        pilot.users[spec.username] = user


# A step of a demo application's path: (the pilot, the application, its spec) -> runs one service.
Step = Callable[[Pilot, GrantApplication, DemoApplication], object]


def _as(pilot: Pilot, role: Role, application: GrantApplication) -> User:
    return pilot.user_with_role(role, application.community)


def _decider(pilot: Pilot, application: GrantApplication) -> User:
    """Whoever decides at the application's current step."""
    return _as(pilot, STEPS[application.status].role, application)


def _submit(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_submit(actor=_as(p, Role.APPLICANT, app), application=app)


def _confirm(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_confirm(actor=_as(p, Role.COMMUNITY_HEAD, app), application=app)


def _return(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_return(actor=_decider(p, app), application=app, reason=spec.texts["return"])


def _resubmit(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_resubmit(actor=_as(p, Role.APPLICANT, app), application=app,
                                  comment=spec.texts.get("resubmit", ""))


def _reject(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_reject(actor=_decider(p, app), application=app, reason=spec.texts["reject"])


def _withdraw(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_withdraw(actor=_as(p, Role.APPLICANT, app), application=app,
                                  reason=spec.texts["withdraw"])


def _street_approve(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_street_approve(actor=_as(p, Role.STREET_REVIEWER, app), application=app)


def _street_sign_off(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_street_sign_off(actor=_as(p, Role.STREET_LEADER, app), application=app)


def _recommend(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_foundation_recommend(
        actor=_as(p, Role.PROGRAMME_OFFICER, app), application=app, score=spec.score,
        recommended_amount=spec.recommended or spec.requested_amount, conditions=spec.conditions)


def _approve(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    # Above the fund's board threshold this refers the application to the board.
    services.application_approve(actor=_as(p, Role.SECRETARY_GENERAL, app), application=app)


def _board_approve(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    member = _as(p, Role.BOARD_MEMBER, app)
    services.application_board_approve(actor=member, application=app, minutes=spec.texts["board_approve"])
    _attach(member, app, Attachment.Kind.BOARD_MINUTES)


def _object(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.objection_file(application=app, text=spec.texts["object"])


def _decide_objection(*, uphold: bool) -> Step:
    def decide(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
        services.objection_decide(actor=_as(p, Role.SECRETARY_GENERAL, app),
                                  objection=app.objections.get(decision=Objection.Decision.PENDING),
                                  uphold=uphold, reason=spec.texts["uphold" if uphold else "dismiss"])
        # The service moved its own copy of the application.
        app.refresh_from_db()

    return decide


def _sign(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    secretary_general = _as(p, Role.SECRETARY_GENERAL, app)
    services.agreement_sign(actor=secretary_general, application=app)
    _attach(secretary_general, app, Attachment.Kind.AGREEMENT)


def _midterm_report(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    applicant = _as(p, Role.APPLICANT, app)
    _attach(applicant, app, Attachment.Kind.PROGRESS_REPORT)
    services.progress_report_submit(actor=applicant, application=app,
                                   progress=spec.texts.get("midterm_report", "中期进展报告。"))


def payment_reference(tranche: Tranche, *, year: int) -> str:
    """The demo bank reference of a tranche's transfer, one per application and tranche number."""
    return f"ICBC-{year}-{tranche.application_id:04d}{tranche.number:02d}"


def _pay(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    """Finance (who signed nothing of the approval) pays every tranche whose condition has been met."""
    finance = _as(p, Role.FINANCE, app)
    year = timezone.localdate().year
    for tranche in app.tranches.filter(status=Tranche.Status.PAYABLE).order_by("number"):
        services.tranche_pay(actor=finance, tranche=tranche, bank_reference=payment_reference(tranche, year=year))


def _midterm(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    """The mid-term review when the grant owes one (a mid-term tranche, or a long project), then its payment."""
    if not app.midterm_required:
        return
    _midterm_report(p, app, spec)
    services.progress_report_review(actor=_as(p, Role.PROGRAMME_OFFICER, app), application=app, accept=True,
                            comment=spec.texts.get("midterm_accept", "中期进展符合计划。"))
    _pay(p, app, spec)


def _demo_spending(app: GrantApplication, spec: DemoApplication) -> list[services.SpendingInput]:
    """Every line spent as budgeted, except that the last one absorbs what was not spent."""
    lines = list(app.budget_lines.all())
    budgets = line_budgets(app, lines)
    if spec.spent:
        budgets[-1] -= sum(budgets) - Decimal(spec.spent)
    last = len(lines) - 1
    return [services.SpendingInput(budget_line_id=line.pk, amount=budget,
                                   explanation="按实际开展场次结算，结余部分不再使用。" if index == last else "")
            for index, (line, budget) in enumerate(zip(lines, budgets, strict=True))]


def _completion_report(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    applicant = _as(p, Role.APPLICANT, app)
    services.completion_report_save(
        actor=applicant, application=app, outcomes=spec.texts["completion_report"],
        public_summary=spec.texts["completion_report"], activities_held=12,
        served={group.kind: group.planned_count for group in app.beneficiary_groups.all()},
        spending=_demo_spending(app, spec))
    for kind in (Attachment.Kind.COMPLETION_REPORT, Attachment.Kind.RECEIPT, Attachment.Kind.PHOTO,
                 Attachment.Kind.BENEFICIARY_SIGNOFF):
        _attach(applicant, app, kind)
    services.completion_report_submit(actor=applicant, application=app,
                                      comment=spec.texts["completion_report"])


def _verify(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.completion_verify(actor=_as(p, Role.STREET_REVIEWER, app), application=app,
                               comment=spec.texts["verify"])


def _accept(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.completion_accept(actor=_as(p, Role.PROGRAMME_OFFICER, app), application=app,
                               comment=spec.texts["accept"])


def _close(p: Pilot, app: GrantApplication, spec: DemoApplication) -> None:
    services.application_close(actor=_as(p, Role.FINANCE, app), application=app, comment=spec.texts["close"],
                               unspent_to=services.UnspentMoney.REFUND, reason=spec.texts["close"])


STEP_ACTIONS: dict[str, Step] = {
    "submit": _submit,
    "confirm": _confirm,
    "return": _return,
    "resubmit": _resubmit,
    "reject": _reject,
    "withdraw": _withdraw,
    "street_approve": _street_approve,
    "street_sign_off": _street_sign_off,
    "recommend": _recommend,
    "approve": _approve,
    "board_approve": _board_approve,
    "object": _object,
    "dismiss": _decide_objection(uphold=False),
    "uphold": _decide_objection(uphold=True),
    "sign": _sign,
    "pay": _pay,
    "midterm": _midterm,
    "midterm_report": _midterm_report,
    "completion_report": _completion_report,
    "verify": _verify,
    "accept": _accept,
    "close": _close,
}


def seed_application(pilot: Pilot, spec: DemoApplication, *, today: dt.date) -> GrantApplication | None:
    """Create one demo application as a real draft and walk it along its path; None if it exists already.

    1. The applicant drafts it with budget lines and beneficiaries and attaches the application form.
    2. Each step of its path runs the real service as the demo user who decides there.
    3. All of it happens in one transaction, so a failure leaves no half-walked application behind.
    """
    community = pilot.communities[spec.community]
    if GrantApplication.objects.filter(community=community, title=spec.title).exists():
        return None
    with transaction.atomic():
        applicant = pilot.user_with_role(Role.APPLICANT, community)
        start = today + dt.timedelta(days=spec.starts_in_days)
        application = services.application_create(
            actor=applicant, community=community, category=pilot.categories[spec.category], title=spec.title,
            summary=spec.summary, start_date=start, end_date=start + dt.timedelta(days=spec.duration_days),
            requested_amount=spec.requested_amount,
            budget_lines=[services.BudgetLineData(category=cat, description=desc, amount=Decimal(amount))
                          for cat, desc, amount in spec.lines],
            beneficiaries=[services.BeneficiaryData(kind=kind, planned_count=count)
                           for kind, count in spec.beneficiaries])
        _attach(applicant, application, Attachment.Kind.APPLICATION_FORM)
        for step in spec.path:
            STEP_ACTIONS[step](pilot, application, spec)
        if application.status != spec.expect:
            raise RuntimeError(f"Demo application {spec.title!r} ended in {application.status}, "
                               f"not {spec.expect}")
    return application


def _existing_donation(fund: Fund, spec: DemoDonation) -> Donation | None:
    if spec.bank_reference:
        return Donation.objects.filter(fund=fund, bank_reference=spec.bank_reference).first()
    return Donation.objects.filter(fund=fund, platform=spec.platform,
                                   platform_donation_id=spec.platform_donation_id).first()


def seed_donations(pilot: Pilot, *, today: dt.date) -> list[Donation]:
    """Finance records the fund's gifts through the services (the money arrives before any approval)."""
    finance = pilot.users["finance"]
    created = []
    with transaction.atomic():
        for spec in DONATIONS:
            if _existing_donation(pilot.fund, spec) is not None:
                continue
            received_on = (today - dt.timedelta(days=spec.received_days_ago)
                           if spec.received_days_ago is not None else None)
            created.append(services.donation_record(
                actor=finance, fund=pilot.fund, amount=Decimal(spec.amount), donor_name=spec.donor_name,
                donor_kind=spec.donor_kind, is_anonymous=spec.is_anonymous,
                public_acknowledgement=spec.public_acknowledgement,
                restricted_category=pilot.categories[spec.category] if spec.category else None,
                restricted_community=pilot.communities[spec.community] if spec.community else None,
                purpose=spec.purpose, received_on=received_on, bank_reference=spec.bank_reference,
                source=spec.source, platform=spec.platform, platform_donation_id=spec.platform_donation_id))
        amount, memo = MANAGEMENT_FEE
        if not LedgerEntry.objects.filter(fund=pilot.fund, kind=LedgerEntry.Kind.MANAGEMENT_FEE, memo=memo).exists():
            services.management_fee_charge(actor=finance, fund=pilot.fund, amount=Decimal(amount), memo=memo)
    return created


@dataclass
class SeedReport:
    """What one run of the seed did."""

    pilot: Pilot
    created: list[GrantApplication]
    skipped: list[str]
    donations: list[Donation] = field(default_factory=list)


def seed_demo(*, password: str) -> SeedReport:
    """Create (or find) the whole pilot: organisations, demo users, the fund's gifts and applications in every state."""
    with transaction.atomic():
        pilot = seed_organisations()
        seed_users(pilot, password=password)
    today = timezone.localdate()
    donations = seed_donations(pilot, today=today)
    created, skipped = [], []
    for spec in APPLICATIONS:
        application = seed_application(pilot, spec, today=today)
        if application is None:
            skipped.append(spec.title)
        else:
            created.append(application)
    return SeedReport(pilot, created, skipped, donations)


def demo_counts() -> dict[str, int]:
    """Row counts of the seeded tables and applications per state, to compare two runs."""
    models = (Foundation, Fund, ServiceCategory, StreetOffice, Community, Membership, get_user_model(),
              GrantApplication, BudgetLine, BeneficiaryGroup, Attachment, Objection, AuditEntry, Donation,
              LedgerEntry, FundBalance, Tranche)
    counts = {model._meta.label: model.objects.count() for model in models}
    per_state = GrantApplication.objects.values("status").annotate(n=Count("id")).order_by("status")
    counts.update({f"status {row['status']}": row["n"] for row in per_state})
    return counts
