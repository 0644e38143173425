"""The demo commune: Ngọk Bay with its villages, households, people and staff accounts.

Generated from a fixed random seed, so every run produces the same commune. The names
are realistic Kinh and Xơ Đăng names; nobody here is a real person.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from webapp.accounts.models import User
from webapp.accounts.services import hash_password
from webapp.extensions import db
from webapp.people.models import (
    Commune,
    DisabilityType,
    Household,
    Person,
    Sex,
    TargetGroup,
    Village,
)
from webapp.permissions import Role
from webapp.text import fold, name_key, name_sort_key

DEMO_PASSWORD = "lopso-demo-2025"
COMMUNE_CODE = "NGOKBAY"
VILLAGES = [
    "Thôn Kon Rờ Bàng 1",
    "Thôn Kon Rờ Bàng 2",
    "Thôn Kon Hra Klah",
    "Thôn Đăk Kia",
    "Thôn Kon Rơ Wang",
    "Thôn Plei Rơ Wai",
    "Thôn Ngọc Bay",
    "Thôn Kon Tum Kơ Pâng",
]
HOUSEHOLDS = 600
PERSONS = 2000


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: Role
    village: int | None = None  # index into VILLAGES, for village leads


DEMO_USERS = [
    DemoUser("admin", "Quản trị hệ thống", Role.ADMIN),
    DemoUser("canbo.vhxh", "Trần Thị Thu Hà", Role.ORGANISER),
    DemoUser("gv.hoa", "Nguyễn Thị Hoa", Role.TRAINER),
    DemoUser("gv.nam", "Lê Văn Nam", Role.TRAINER),
    DemoUser("gv.lan", "Y Lan", Role.TRAINER),
    DemoUser("dss.an", "Phạm Văn An", Role.MENTOR),
    DemoUser("dss.binh", "Đinh Thị Bình", Role.MENTOR),
    DemoUser("dss.cuong", "A Cường", Role.MENTOR),
    DemoUser("dss.dung", "Võ Thị Dung", Role.MENTOR),
    DemoUser("dss.em", "Huỳnh Văn Em", Role.MENTOR),
    DemoUser("truongthon.1", "A Thút", Role.VILLAGE_LEAD, village=0),
    DemoUser("truongthon.2", "Bùi Văn Tâm", Role.VILLAGE_LEAD, village=6),
]

KINH_SURNAMES = [
    "Nguyễn",
    "Nguyễn",
    "Nguyễn",
    "Trần",
    "Trần",
    "Lê",
    "Lê",
    "Phạm",
    "Huỳnh",
    "Hoàng",
    "Phan",
    "Võ",
    "Vũ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Trương",
]
MALE_MIDDLE = ["Văn", "Văn", "Văn", "Hữu", "Đức", "Minh", "Quốc", "Công", "Thành", "Xuân"]
FEMALE_MIDDLE = ["Thị", "Thị", "Thị", "Thị Thu", "Thị Hồng", "Ngọc", "Thị Kim", "Thị Mỹ"]
MALE_GIVEN = [
    "An",
    "Bảo",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Đức",
    "Hải",
    "Hiếu",
    "Hùng",
    "Huy",
    "Khánh",
    "Lâm",
    "Long",
    "Lộc",
    "Minh",
    "Nam",
    "Nghĩa",
    "Phúc",
    "Phương",
    "Quang",
    "Sơn",
    "Tài",
    "Tâm",
    "Thắng",
    "Thịnh",
    "Toàn",
    "Trung",
    "Tuấn",
    "Việt",
    "Vinh",
    "Ướt",
]
FEMALE_GIVEN = [
    "Anh",
    "Ánh",
    "Chi",
    "Dung",
    "Duyên",
    "Giang",
    "Hà",
    "Hằng",
    "Hạnh",
    "Hoa",
    "Hương",
    "Huyền",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Mai",
    "My",
    "Nga",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phượng",
    "Quyên",
    "Sương",
    "Thảo",
    "Thơm",
    "Thủy",
    "Trang",
    "Tuyết",
    "Vân",
    "Yến",
]
# Xơ Đăng names: men are written "A ...", women "Y ..."; some families use Đinh.
XODANG_GIVEN_MALE = [
    "Blông",
    "Brôh",
    "Dốc",
    "Đin",
    "Hùng",
    "Khoa",
    "Lực",
    "Nhiên",
    "Pôl",
    "Rin",
    "Thút",
    "Thuyên",
    "Tới",
    "Vel",
    "Xiêm",
    "Yă",
]
XODANG_GIVEN_FEMALE = [
    "Blih",
    "Drim",
    "Hiên",
    "H'Nga",
    "Lan",
    "Loan",
    "Mơ",
    "Nhô",
    "Pang",
    "Rơm",
    "Thuận",
    "Xuân",
    "Gió",
    "Kim",
]
SPECIAL_PERSONS = [
    # (name, birth year, sex) — used by tests and by the demo script in README.
    ("Nguyễn Thị Hồng Nhung", 1958, Sex.FEMALE),
    ("Đặng Văn Ướt", 1949, Sex.MALE),
]


def demo_exists() -> bool:
    """True when the demo commune is already in the database."""
    return db.session.scalar(select(Commune.id).where(Commune.code == COMMUNE_CODE)) is not None


def demo_commune() -> Commune:
    """The demo commune (after :func:`seed_demo`)."""
    return db.session.scalars(select(Commune).where(Commune.code == COMMUNE_CODE)).one()


def database_is_empty() -> bool:
    """True when there is no commune and no user yet."""
    return not (
        db.session.scalar(select(func.count()).select_from(Commune))
        or db.session.scalar(select(func.count()).select_from(User))
    )


def _name(rng: random.Random, sex: Sex, xodang: bool, family: str | None) -> str:
    if xodang:
        given = rng.choice(XODANG_GIVEN_MALE if sex == Sex.MALE else XODANG_GIVEN_FEMALE)
        if family == "Đinh":
            return f"Đinh {'Văn' if sex == Sex.MALE else 'Thị'} {given}"
        return f"{'A' if sex == Sex.MALE else 'Y'} {given}"
    middle = rng.choice(MALE_MIDDLE if sex == Sex.MALE else FEMALE_MIDDLE)
    given = rng.choice(MALE_GIVEN if sex == Sex.MALE else FEMALE_GIVEN)
    return f"{family} {middle} {given}"


def _group(rng: random.Random, age: int) -> str:
    if 6 <= age <= 18:
        return TargetGroup.STUDENT
    if 22 <= age <= 60 and rng.random() < 0.08:
        return TargetGroup.PUBLIC_SECTOR
    if 18 <= age <= 55 and rng.random() < 0.15:
        return TargetGroup.ENTERPRISE_WORKER
    return TargetGroup.CITIZEN


def seed_demo(*, now: datetime) -> dict[str, int]:
    """Create the demo commune, its people and the demo accounts. Idempotent.

    Returns how many communes, villages, households, persons and users were created
    (all zero when the demo commune already exists).
    """
    if demo_exists():
        return {"communes": 0, "villages": 0, "households": 0, "persons": 0, "users": 0}
    rng = random.Random(20251125)
    commune = Commune(
        code=COMMUNE_CODE,
        name="Xã Ngọk Bay",
        province="Tỉnh Quảng Ngãi",
        committee_name="Ủy ban nhân dân xã Ngọk Bay",
    )
    db.session.add(commune)
    villages = [Village(commune=commune, name=name, position=i) for i, name in enumerate(VILLAGES)]
    db.session.add_all(villages)
    db.session.flush()

    # Households: the first three villages are mostly Xơ Đăng.
    household_rows = []
    household_meta = []  # (village index, xodang, family name)
    for n in range(HOUSEHOLDS):
        v = n % len(VILLAGES)
        xodang = rng.random() < (0.85 if v < 3 else 0.15)
        family = ("Đinh" if rng.random() < 0.3 else None) if xodang else rng.choice(KINH_SURNAMES)
        household_rows.append(
            {
                "commune_id": commune.id,
                "village_id": villages[v].id,
                "code": f"T{v + 1}-{n // len(VILLAGES) + 1:03d}",
                "address": f"{VILLAGES[v]}, xã Ngọk Bay",
                "is_poor": rng.random() < (0.25 if xodang else 0.06),
            }
        )
        household_meta.append((v, xodang, family))
    db.session.execute(insert(Household.__table__), household_rows)
    household_ids = db.session.scalars(
        select(Household.id).where(Household.commune_id == commune.id).order_by(Household.id)
    ).all()

    person_rows = []
    seen = set()

    def add(name, year, sex, h, *, special=False):
        v, xodang, _family = household_meta[h]
        key = (name_key(name), year, v)
        if key in seen:
            return
        seen.add(key)
        age = now.year - year
        adult = age >= 16
        phone = (
            f"0{rng.choice('3579')}{rng.randrange(10**8):08d}"
            if adult and rng.random() < (0.45 if age >= 60 else 0.8)
            else None
        )
        disability = None
        if special and name.startswith("Đặng"):
            disability = DisabilityType.VISION
        elif rng.random() < 0.05:
            disability = rng.choice(list(DisabilityType))
        vneid = adult and rng.random() < 0.55
        signature = adult and vneid and rng.random() < 0.3
        on = now.date() - timedelta(days=rng.randrange(30, 400))
        person_rows.append(
            {
                "commune_id": commune.id,
                "village_id": villages[v].id,
                "household_id": household_ids[h],
                "full_name": name,
                "sort_key": name_sort_key(name),
                "name_key": name_key(name),
                "search_text": f"{fold(name)} {phone or ''}".strip(),
                "birth_year": year,
                "sex": sex.value,
                "phone": phone,
                "target_group": _group(rng, age),
                "disability": disability,
                "trader_farmer": 25 <= age <= 70 and rng.random() < 0.3,
                "ethnic_minority": xodang,
                "vneid_level2": vneid,
                "vneid_level2_on": on if vneid else None,
                "digital_signature": signature,
                "digital_signature_on": on if signature else None,
                "consent_on": on if rng.random() < 0.7 else None,
                "note": "",
                "created_at": now,
                "updated_at": now,
            }
        )

    for i, (name, year, sex) in enumerate(SPECIAL_PERSONS):
        add(name, year, sex, 8 * (10 + i) + 6, special=True)  # households in Thôn Ngọc Bay
    h = 0
    while len(person_rows) < PERSONS:
        v, xodang, family = household_meta[h % HOUSEHOLDS]
        # Every household gets a head; later passes add spouses, children, grandparents.
        sex = Sex.MALE if rng.random() < 0.5 else Sex.FEMALE
        age = rng.choices(
            [
                rng.randrange(6, 18),
                rng.randrange(18, 40),
                rng.randrange(40, 60),
                rng.randrange(60, 92),
            ],
            weights=[22, 33, 25, 20],
        )[0]
        add(_name(rng, sex, xodang, family), now.year - age, sex, h % HOUSEHOLDS)
        h += 1
    db.session.execute(insert(Person.__table__), person_rows)
    # The demo's consent dates, as if read from the commune's list.
    from webapp.people import consent
    from webapp.people.privacy_models import ConsentMethod

    consent.record_dated(actor=None, now=now, method=ConsentMethod.IMPORT)

    user_count = 0
    for spec in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.username == spec.username)):
            continue
        db.session.add(
            User(
                username=spec.username,
                full_name=spec.full_name,
                password_hash=hash_password(DEMO_PASSWORD),
                role=spec.role,
                commune_id=commune.id,
                village_id=villages[spec.village].id if spec.village is not None else None,
                province_wide=spec.role == Role.ADMIN,
                active=True,
                created_at=now,
            )
        )
        user_count += 1
    db.session.flush()
    return {
        "communes": 1,
        "villages": len(villages),
        "households": len(household_rows),
        "persons": len(person_rows),
        "users": user_count,
    }


def demo_logins() -> list[tuple[str, str]]:
    """(user name, role) of each demo account, in the order README lists them."""
    return [(spec.username, spec.role.value) for spec in DEMO_USERS]
