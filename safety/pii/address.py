"""Postal addresses in patient text, read as a structure rather than matched as one pattern.

Chinese (mainland, Hong Kong, Macau): an address is a chain of parts, each found where the last
one ended: regions (省 → 市 → 区/县 → 镇/乡/街道, or 香港/九龙/新界/澳门), a road and its
number (…路88号, …路附3号), or a village and its group (…村三组18号), estates and buildings
(…花园, …大厦, …邨), parts of an estate (东区, B座, 东塔) and units (8幢, 2单元, 15楼, 601室), and a
bare room number at the end, and which flat of a floor (4楼右, 2楼东户). A chain is an address
when it has a house number, a village group, or units after a road, estate or village, or
three levels of region (…省…市…县), or two before a road, village or estate (…市…区…街).
Names of parts never hold the words that lead up to an address (我住…, 寄到…, 地址系…), so the
address starts where the place starts.

Latin script (Hong Kong, UK, US, and mainland addresses written in English): units and named
buildings ("Flat B, 12/F, Tak Fung Building,"), a house number and street, or a PO box, then
the district, city, state or county after commas, and a UK postcode, a US state with its ZIP
code, or a Chinese postcode.

Offsets are those of the normalised text the masker reads (lower case, simplified); ``cased``
is the same text with its case kept.
"""

from __future__ import annotations

import re

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ffff"  # with the rarer extensions (𪨶)
_NUM = r"0-9一二三四五六七八九十百零〇两"
# Characters of the words that lead up to an address; the first part's name holds none.
_LEAD = "我你他她您住在寄到是系去往给请从址的了吗呢与及或把向于送发写返"
# Of those, the ones place names also use (于都县, 从化区, 向阳路, 发展大道): a part that
# follows another may hold them.
_ALSO_IN_PLACES = "于从向发与及把送写"
# Words before an address that a region's name could take for its own (老家陕西省 is not a
# province's name).
_LEAD_WORDS = ("老家", "家乡", "家里", "户籍", "籍贯", "原籍", "户口", "现住", "目前", "现在")


def _parts(lead: str) -> dict[str, re.Pattern[str]]:
    """The parts of an address, their names holding no character of ``lead``."""
    name = rf"(?:(?![{lead}])[{_CJK}])"
    name_or_digit = rf"(?:(?![{lead}])[{_CJK}0-9a-z])"
    return {
        "region": re.compile(
            rf"(?:{name}{{1,7}}?(?:特别行政区|自治区|自治州|自治县|省|市|地区|盟|州|区|县|旗|镇|乡|街道)"
            r"|香港|九龙|新界|港岛|澳门|氹仔|路环)"
        ),
        "road": re.compile(
            rf"{name_or_digit}{{1,10}}?(?:大马路|马路|大道|大街|路|街|道|巷|胡同|弄|里)"
            # a road's part or section: 大道中, 东路, 人民南路四段, 忠孝东路四段
            rf"(?:[东西南北中][段路]?)?(?:[{_NUM}]{{1,3}}段)?"
        ),
        "number": re.compile(
            rf"附?[{_NUM}]+(?:号院|号楼|号|弄|巷)(?:附[{_NUM}]+号|之(?:[一二三四五六七八九十]+|[0-9]+))?"
        ),
        # greedy: 王庄村, not 王庄; 新庄村委会; a town's 社区 has groups as a village has
        "village": re.compile(rf"{name}{{1,6}}(?:村委会|村|邨|屯|庄|社区|围)"),
        # a village's group by number (三组, 5队) or by name (下屋组, 东头小组)
        "group": re.compile(
            rf"[{_NUM}]+(?:组|队|社)|{name}{{1,4}}小组|{name}{{1,3}}组(?!织|成|合|长)"
        ),
        # greedy: the estate's whole name, up to its last suffix (东园新村, not 东园)
        "estate": re.compile(
            rf"{name_or_digit}{{1,10}}(?:小区|花园|家园|新村|公寓|大厦|中心|广场|屋苑|苑|园|院|邨|大楼|楼|阁|"
            r"轩|公馆|府|城|庭)"
        ),
        # an address may start with a housing estate (枫影苑8幢…), not with a building of any
        # kind: 门诊楼3楼 and 医技楼2层201室 are directions inside the hospital
        "home": re.compile(
            rf"{name}(?:{name_or_digit}{{1,9}}(?:小区|花园|家园|新村|公寓|大厦|屋苑|苑|邨|阁|轩|公馆|府|庭)"
            # a two-character one (翠苑) when a part of it or a building follows: 翠苑一区12幢
            rf"|[苑邨阁轩府庭](?=[东西南北中a-z0-9一二三四五六七八九十]{{1,3}}(?:区|期|座|幢|栋)))"
        ),
        "sub": re.compile(r"[东西南北中a-z0-9一二三四五六七八九十]{1,3}(?:区|期|座|塔)"),
        # a building or compound of any name after a house number, when a building's number
        # follows it: …27号商鼎国际16栋, …1037号华中科技大学西边高校区27栋
        "named": re.compile(
            rf"{name}{name_or_digit}{{1,13}}?"
            rf"(?=[{_NUM}a-z]{{1,4}}(?:号楼|栋|幢|座|单元)|[0-9]{{1,4}}(?:-[0-9]{{1,4}}){{1,2}}(?![0-9]))"
        ),
        # (a part of it after 之: 8楼之2)
        "unit": re.compile(
            rf"(?:\s(?=[{_NUM}]))?(?:[{_NUM}a-z\-]{{1,6}}(?:号院|号楼|号房|栋|幢|座|单元|门|楼|层|室|房|号|户|f)"
            # (a building by its number and #: 9#1502)
            r"|[0-9]{1,3}#(?=[0-9])"
            # a building or entrance named by a direction or 甲乙丙丁: 乙单元, 东单元, 丙栋
            r"|[东西南北中甲乙丙丁](?:单元|栋|幢|座))"
            r"(?:之(?:[一二三四五六七八九十]+|[0-9]+))?"
        ),
        # (a floor and a room joined: 23-5; building, entrance and room: 17-2-401)
        "tail": re.compile(
            r"(?:[0-9]{1,4}(?:-[0-9]{1,4}){1,3}|[0-9]{2,5})[a-z]?(?![0-9a-z])|[a-z](?![a-z0-9])"
            # a flat of a floor (3B), a room read out in numerals (二零零三)
            r"|[0-9][a-z](?![0-9a-z])|[零〇一二三四五六七八九]{3,4}(?![零〇一二三四五六七八九十])"
        ),
        # which flat of a floor: 1楼左, 2楼东户, 3楼后座
        "side": re.compile(
            r"[东西南北]边?户|[前后]座|[东西]套|[左右](?![侧边手])|地下|地铺"
            r"|[东西南北](?=[\s，。,.!?！？、]|$)"  # (四层东: the east flat, the address's end)
        ),
        # a crossing of two roads before the building: 鞍山西道与白堤路交口的时代奥城
        "junction": re.compile(
            rf"与{name_or_digit}{{1,10}}?(?:路|街|道|大道)交(?:叉)?口(?:的|处)?"
        ),
        # a housing development of any name (金地格林小镇, 保利香槟国际) when its building number
        # follows; never one with the hospital's words (住院部3号楼, 门诊楼2楼 are directions)
        "lead": re.compile(
            rf"(?:(?![医院诊部科室馆楼层]){name_or_digit}){{2,12}}?"
            rf"(?=[{_NUM}a-z]{{1,4}}(?:号楼|栋|幢|座))"
        ),
        # building, entrance and room after a lane (金厦里7-2-303)
        "rooms": re.compile(r"[0-9]{1,4}(?:-[0-9]{1,4}){1,3}(?![0-9a-z])"),
        # where the home is from a landmark: …58号海南大学|西边|紫菘公寓12栋, 万达广场|旁边的|…
        "relation": re.compile(
            r"\s?的?(?:对面|后面|后边|旁边|附近|隔壁|[东西南北]边|[东西南北]侧)(?:的|那个|那栋|那片)?\s?"
        ),
        "landmark": re.compile(
            rf"{name_or_digit}{{1,10}}(?:广场|商场|商厦|大厦|中心|大学|医院|公园|市场|超市|学校|中学|小学)"
            r"(?=\s?的?(?:对面|后面|后边|旁边|附近|隔壁|[东西南北]边|[东西南北]侧))"
        ),
    }


_PARTS = _parts(_LEAD)
_INNER_PARTS = _parts("".join(c for c in _LEAD if c not in _ALSO_IN_PLACES))
for _parts_of in (_PARTS, _INNER_PARTS):
    _parts_of["leadunit"] = _parts_of["unit"]
# Which part may follow which (a chain is read left to right, longest first at each step).
_NEXT: dict[str, tuple[str, ...]] = {
    "start": ("region", "road", "village", "home", "lead", "landmark"),
    "landmark": ("relation",),
    "relation": ("estate", "home", "road", "village", "named", "lead"),
    # a development of any name needs a building and then a flat or a floor (保利香槟国际7栋2304)
    "lead": ("leadunit",),
    "leadunit": ("unit", "tail", "side"),
    "region": ("region", "road", "village", "estate"),
    # a lane off a road (平江路大儒巷41号), a building named after the road (…路金城国际3号楼)
    "road": ("road", "number", "estate", "unit", "named", "rooms", "junction"),
    "junction": ("estate", "named", "home"),
    "number": ("estate", "sub", "unit", "tail", "named", "side", "landmark"),
    "named": ("unit", "rooms"),
    # a hamlet inside a village (峡山村北岙自然村45号)
    "village": ("village", "group", "number", "estate", "unit"),
    "group": ("number", "unit", "tail"),
    "estate": ("estate", "sub", "unit", "tail", "relation"),
    "home": ("estate", "sub", "unit", "tail"),
    "sub": ("unit", "tail"),
    "unit": ("unit", "tail", "side", "number"),
    "tail": (),
    "side": (),
    "rooms": (),
}
# Regions that make a place an address with no house number: three levels (蒲城县椿林镇 under
# 渭南市 under 陕西省), or two before a road, village or estate (石家庄市长安区广安街).
_REGIONS_ALONE = 3
_REGIONS_BEFORE_PLACE = 2
_MIN_ZH = 5


_PLACES = frozenset({"road", "estate", "home", "village", "lead"})
_BLOCK_RE = re.compile(r"(?:楼|阁|苑|轩|大厦)$")


def _longest(text: str, start: int) -> int:
    """The end of the longest chain of parts from ``start`` that is an address (a house
    number or a village group, or units after a road, estate or village), or -1. Every kind
    that may follow is tried (古荡新村东区 is an estate and a part of it, not a district)."""
    memo: dict[tuple[int, str, bool, bool, int], int] = {}

    def best(pos: int, state: str, place: bool, valid: bool, regions: int) -> int:
        key = (pos, state, place, valid, regions)
        if key in memo:
            return memo[key]
        out = pos if valid else -1
        for kind in _NEXT[state]:
            m = (_PARTS if state == "start" else _INNER_PARTS)[kind].match(text, pos)
            if m is None or m.end() <= pos:
                continue
            now_regions = min(regions + (kind == "region"), _REGIONS_ALONE)
            now_valid = (
                valid
                or kind in ("number", "group")
                # a public estate and its block (爱民邨嘉贤楼): a home with no number
                or (
                    kind == "estate"
                    and state in ("village", "home")
                    and _BLOCK_RE.search(m.group()) is not None
                )
                or (kind in ("unit", "tail", "rooms") and place)
                or now_regions >= _REGIONS_ALONE
                or (kind in _PLACES and now_regions >= _REGIONS_BEFORE_PLACE)
            )
            out = max(out, best(m.end(), kind, place or kind in _PLACES, now_valid, now_regions))
        memo[key] = out
        return out

    return best(start, "start", False, False, 0)


def zh_addresses(text: str) -> list[tuple[int, int]]:
    """Spans of Chinese addresses in ``text`` (normalised), left to right, not overlapping.
    An address typed with spaces between its parts (嘉兴市南湖区 中山东路 1346 号 2 幢 601) is
    read with them taken out; a flat named by its building's entrance (8号楼4单元302, 3单元5楼)
    is an address on its own."""
    out = _chains(text)
    if _PART_SPACE_RE.search(text):
        kept = [i for i in range(len(text)) if not _dropped_space(text, i)]
        compact = "".join(text[i] for i in kept)
        for s, e in _chains(compact):
            start, end = kept[s], kept[e - 1] + 1
            if not any(a < end and start < b for a, b in out):
                out.append((start, end))
    for m in _FLAT_RE.finditer(text):
        if not any(a < m.end() and m.start() < b for a, b in out):
            out.append(m.span())
    return sorted(out)


def _chains(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos < n:
        end = _longest(text, pos)
        if end - pos >= _MIN_ZH:
            out.append((_trimmed(text, pos, end), end))
            pos = end
        else:
            pos += 1
    return out


# A space between two parts of a Chinese address: Chinese or a digit on both sides
_PART_SPACE_RE = re.compile(rf"[{_CJK}0-9][ \t]+[{_CJK}0-9]")
_JOINABLE_RE = re.compile(rf"[{_CJK}0-9]")


def _dropped_space(text: str, i: int) -> bool:
    """Is ``text[i]`` a space or tab inside a run of them with Chinese or digits on both sides?"""
    if text[i] not in " \t":
        return False
    a, b = i, i
    while a > 0 and text[a - 1] in " \t":
        a -= 1
    while b < len(text) - 1 and text[b + 1] in " \t":
        b += 1
    return (
        a > 0
        and b < len(text) - 1
        and _JOINABLE_RE.match(text[a - 1]) is not None
        and _JOINABLE_RE.match(text[b + 1]) is not None
        and not (text[a - 1].isdigit() and text[b + 1].isdigit())  # two numbers stay two
    )


# A building's entrance and a flat or floor in it: 8号楼4单元302, 2单元8楼1号, 1单元602 (a
# hospital's buildings have no 单元)
_FLAT_RE = re.compile(
    rf"(?<![0-9])(?:[0-9{_NUM}]{{1,3}}(?:号楼|栋|幢|座))?[0-9{_NUM}]{{1,2}}单元"
    r"(?:[0-9]{1,2}(?:楼|层)(?:[0-9]{1,2}号|[0-9]{3,4}室?)?|[0-9]{3,4}(?:室|号)?)(?![0-9])"
)


# The hospital's own place named just before an address: the address is the hospital's, not a
# patient's ("你们医院地址是…", "滨江院区的地址是不是…", "is your clinic at …")
_INSTITUTION_BEFORE_RE = re.compile(
    r"(?:医院|院区|分院|门诊部|诊所|药房|贵院|你们|your\s+(?:hospital|clinic|pharmacy)"
    r"|(?:the\s+)?(?:hospital|clinic|pharmacy)['’]s)"
    r"[^，。,.!?！？\n]{0,6}?(?:地址|位置|在|位于|搬到|(?:address\s+)?(?:is|at))"
    r"[^，。,.!?！？\n0-9]{0,4}$"
)
_INSTITUTION_REACH = 24


# A mainland address written in pinyin, as people without a Chinese keyboard type it: regions
# with their words (sheng, shi, qu, xian, zhen), a road and its number (… lu 90 hao), or an
# estate and its building (dongyuan xiaoqu 3 zhuang 201)
_PY_NAME = r"(?!(?:in|at|to|is|my|the|and|live|send|address)\b)[a-z]{2,10}(?: [a-z]{2,10})?"
_PY_REGION = rf"{_PY_NAME} (?:sheng|shi|qu|xian|zhen|xiang|jiedao)"
_PY_ROAD = (
    rf"{_PY_NAME} (?:(?:dong|xi|nan|bei|zhong) )?(?:lu|jie|dajie|dadao|dao|hutong|nong)"
    r"(?: (?:dong|xi|nan|bei|zhong)(?: duan)?)?"
)
_PY_ESTATE = rf"{_PY_NAME} (?:xiaoqu|huayuan|gongyu|dasha|jiayuan|xincun)"
_PY_UNIT = r"(?:[0-9a-z]{1,3} ?(?:zuo|zhuang|dong|danyuan|lou|ceng|hao lou)|[0-9]{3,4}(?: ?shi)?)"
_PINYIN_ADDRESS_RE = re.compile(
    rf"(?<![a-z])(?:{_PY_REGION} ){{0,4}}"
    rf"(?:{_PY_ROAD} [0-9]{{1,4}} ?hao(?: ?yuan)?(?: {_PY_ESTATE})?|{_PY_ESTATE})"
    rf"(?: {_PY_UNIT}){{0,3}}(?![a-z0-9])"
)


def pinyin_addresses(text: str) -> list[tuple[int, int]]:
    """Spans of mainland addresses written in pinyin in ``text`` (normalised): a road with its
    house number, or an estate with a building or flat after it."""
    out = []
    for m in _PINYIN_ADDRESS_RE.finditer(text):
        if " hao" in m.group() or re.search(rf" {_PY_UNIT}$", m.group()):
            out.append(m.span())
    return out


def institution_before(text: str, start: int) -> bool:
    """Is the address at ``start`` named as the hospital's (or a clinic's, a pharmacy's)?"""
    before = _INSTITUTION_BEFORE_RE.search(text, max(0, start - _INSTITUTION_REACH), start)
    return before is not None


def _trimmed(text: str, start: int, end: int) -> int:
    """Where an address found from ``start`` begins: a region's name may have taken a word
    that leads up to it (老家|陕西省…, 籍贯|渭南市…)."""
    for word in _LEAD_WORDS:
        if text.startswith(word, start) and _longest(text, start + len(word)) == end:
            return start + len(word)
    return start


# --- Latin script ----------------------------------------------------------------------------

_STREET = (
    r"(?:street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|crescent|close|highway|hwy|grove|mews|row|walk|parade|hill|rise|gardens|square|"
    r"sq|wharf|quay|circle|cir|parkway|pkwy|park|green|gate|cres|circuit|cct|esplanade|pde|"
    r"view|cross|cottages|tce|approach)"
)
_UNIT_WORD = (
    r"(?:apartment|apt|room|rm|unit|flat|suite|ste|building|bldg|block|blk|tower|floor|fl|plot|"
    r"house\s+no\.?)"
)
_UNIT = (
    rf"(?:{_UNIT_WORD}\.?\s*#?[0-9a-z\-]{{1,6}},?\s+|[0-9]{{1,3}}/?f(?:-[0-9]{{1,2}})?\.?,?\s+"
    r"|(?:[0-9]{1,2}(?:st|nd|rd|th)|ground|first|second|third|fourth|fifth|top)\s+floor,?\s+"
    r"|[0-9]{1,2}/[0-9]{1,2},\s+"  # a Glasgow flat: 2/1, 88 Dumbarton Road
    # a block, floor and unit (Malaysia, India): A-7-2, B-204, C-1/45; Hong Kong's ground floor
    r"|[a-z]-[0-9]{1,4}(?:[-/][0-9]{1,4}){0,2},\s+|g/f,?\s+"
    r"|#[0-9]{1,3}-[0-9]{1,5},?\s+)"  # a Singapore unit first: "#08-115, Block 331, …"
)
# words that never name a street ("walk 200 metres down the road")
_NOT_STREET_NAME = (
    r"(?!(?:the|a|an|to|of|down|up|along|from|and|or|my|your|our|this|that|in|on|at|for|by|address|"
    r"metres?|meters?|km|miles?|minutes?|mins?|yards?|steps?|feet|ft|m)\s)"
)
# words that lead up to a building's name ("collection from Rose Cottage, …")
_NOT_BUILDING_NAME = r"(?!(?:from|to|at|up|address|collection|visit)\s)"
_BUILDING = (
    rf"(?:{_NOT_BUILDING_NAME}[a-z]+\s+){{1,3}}(?:building|bldg|tower|mansion|mansions|court|house|"
    r"centre|center|"
    r"garden|gardens|estate|plaza|villa|villas|apartments|residence|heights|city|towers|society|"
    r"cottage|rectory|farm|lodge|manor|living|hall|halls|care home|nursing home)\b,?\s+"
    # the word first (Malaysia): Pangsapuri Seri Mutiara, Residensi Vista, Taman Mawar
    r"|(?:pangsapuri|residensi|kondominium|taman|apartment)(?:\s+[a-z]+){1,3},?\s+"
)
# A house number: "12A", "2215-B", a unit and the number ("4/18", "302-1088"), after "No.",
# "Lot" or "Blk" (a Singapore block)
_NUMBER = r"(?:(?:no\.?|lot|blk|block|unit)\s*)?(?:[0-9]{1,4}[/\-])?[0-9]{1,5}[a-z]?(?:-[a-z])?"
_HOUSE = (
    # (a comma after the number: "12/3, 2nd Main Road", never after a date's year)
    rf"{_NUMBER}(?:(?<!/[0-9]{{4}}),)?\s+(?:(?:{_NOT_STREET_NAME}[a-z0-9'’]+\s+){{1,3}}{_STREET}\b\.?"
    # the street word first: "rue Saint-Denis", "Jalan Kechubong", "Toa Payoh Lorong 8"
    r"|(?:[a-z]+\s+){0,2}(?:rue|jalan|jln|lorong|calle|via|rua|avenida|boul\.|chemin|quai)"
    r"\s+[a-z0-9\-'’]+)"
    r"(?:\s+(?:north|south|east|west|n|s|e|w|nw|ne|sw|se|upper|lower|central|extension)\b)?"
    # Ang Mo Kio Ave 10, Lorong 8, Jalan SS 2/24 (not a floor: "Road 5/F", "Road 8楼")
    r"(?:\s+[0-9]{1,3}(?:/[0-9]{1,3})?(?![0-9/楼]))?"
    r"(?:,?\s*(?:apt|apartment|unit|suite|ste|flat|app|room|rm|building|bldg|block|tower|"
    r"floor|#)\.?\s*[0-9a-z\-]+"
    # a floor after the street, as Hong Kong writes it: "13 Fuk Man Road 5/F", "… Road 8楼"
    r"|,?\s*[0-9]{1,3}(?:/f|楼)){0,3}"
)
# Where there is no house number: a lane and its number before the road (Shanghai), a village
# and its group or house, a rural route and box
_NO_NUMBER = (
    rf"lane\s+[0-9]{{1,5}},?\s+(?:[a-z]+\s+){{1,3}}{_STREET}\b"
    r"|(?:group|team|house)\s+[0-9]{1,3},\s+(?:[a-z]+\s+){1,4}village"
    r"|(?:rr|rural route)\s*[0-9]{1,3}(?:,?\s*site\s*[0-9]{1,3})?,?\s*box\s*[0-9]{1,5}"
    r"|rmb\s*[0-9]{1,5}(?![0-9]|[,.][0-9])"  # (not an amount in renminbi: RMB 18,236.75)
)
# Taiwan's order, the number first and the road last: "No. 31, Lane 270, Sec. 6, Zhongshan N.
# Rd.", "No. 8, Lorong Kenari 3" (the road's word may come first, as in Malaysia)
_NUMBER_FIRST = (
    r"no\.?\s*[0-9]{1,5}(?:-[0-9]{1,3})?,\s*(?:(?:lane|ln\.?|alley|aly\.?)\s*[0-9]{1,4},\s*){0,2}"
    r"(?:sec(?:tion)?\.?\s*[0-9]{1,2},\s*)?"
    rf"(?:(?:[a-z'’]+\.?\s+){{1,3}}{_STREET}\b\.?"
    r"|(?:lorong|jalan|jln)\s+[a-z0-9\-'’]+(?:\s+[a-z0-9]+){0,2})"
)
_EN_RE = re.compile(
    rf"(?<![a-z0-9])(?:{_UNIT}{{0,3}}(?:{_BUILDING})?{_HOUSE}"
    rf"|{_UNIT}{{0,3}}{_NUMBER_FIRST}"
    r"|p\.?\s?o\.?\s+box\s+[0-9]{1,6}"
    # a German or Austrian street and its number: "Lindenstraße 14", "Am Ring 3"
    r"|[a-zäöüß\-]+(?:straße|strasse|str\.|weg|platz|gasse|allee|damm)\s+[0-9]{1,4}[a-z]?"
    r"(?:,?\s+[0-9]\.\s+og(?:\s+(?:links|rechts|mitte))?)?"
    # a Singapore block: its street may have no street word, the "#floor-unit" says it all
    r"|(?:blk|block)\s*[0-9]{1,4}[a-z]?\s+(?:[a-z0-9]+\s+){0,3}[a-z0-9]+,?\s*#[0-9]{1,3}-[0-9]{1,5}"
    rf"|{_UNIT}{{0,4}}(?:{_NO_NUMBER})"
    # a flat and its building, then a street with no number: "B-204, Shanti Niketan Society,
    # Baner Road", "C-3-9, Pangsapuri Indah, Jalan Ipoh"
    rf"|{_UNIT}{{1,3}}(?:{_BUILDING})(?:(?:{_NOT_STREET_NAME}[a-z'’]+\s+){{1,3}}{_STREET}\b\.?"
    r"|(?:rue|jalan|jln|lorong)\s+[a-z0-9\-'’]+)"
    rf"|{_UNIT}{{1,3}}(?:[a-z]+\s+){{1,3}}(?:building|bldg|tower|mansion|court|house|centre|"
    r"center|garden|gardens|estate|plaza|area|villa|villas|residence|heights)\b(?:\s+[0-9]{1,3})?)"
)
# A Hong Kong or Macau home with no street: two units or more, then the estate, district and
# region ("Flat 12B, 15/F, Block 3, Taikoo Shing, Quarry Bay, Hong Kong"), taken only when the
# words after the units end in the region
_EN_UNITS_RE = re.compile(rf"(?<![a-z0-9]){_UNIT}{{2,4}}(?=[a-z])")
_FLOOR_RE = re.compile(r"(?<![a-z0-9])(?:[0-9]{1,3}/f|g/f|[0-9]{1,2}(?:st|nd|rd|th)\s+floor)")
_HOME_UNIT_RE = re.compile(r"(?<![a-z])(?:flat|apt|apartment|unit|room|rm)\.?\s*#?[0-9]")
_BLOCK_UNIT_RE = re.compile(r"(?<![a-z])(?:tower|block|blk|building|bldg)\.?\s*[0-9a-z]")
_CLINICAL_RE = re.compile(
    r"(?<![a-z])(?:hospital|clinic|ward|outpatient|inpatient|department|dept|centre|center|"
    r"medical|surgery|theatre|icu|a&e|emergency)(?![a-z])"
)
_REGION_END_RE = re.compile(
    r"(?i:hong kong|kowloon|new territories|n\.t\.|macau|macao|lantau island)$"
)
# ... or a city: a home with units and no street may end in one ("…, Chaoyang District,
# Beijing")
_UNITS_END_RE = re.compile(
    r"(?i:hong kong|kowloon|new territories|n\.t\.|macau|macao|lantau island|beijing|shanghai|"
    r"guangzhou|shenzhen|singapore|taipei(?: city)?)$"
)
# After the street: ", District, City" (capitalised words), up to four of them.
_TAIL_RE = re.compile(
    # (a district's name may be hyphenated: Mid-Levels, Stratford-upon-Avon)
    # (the words of one name stay on one line: "Aberdeen\nTel 9123 4567")
    r",?\s*((?:Co\.\s+)?[A-ZÀ-Þ][a-zß-ÿ]+(?:['’-][A-Za-zß-ÿ]+)*(?:[^\S\n]+[A-ZÀ-Þ][a-zß-ÿ]+){0,2}"
    r"(?:[^\S\n]+O(?![A-Za-z]))?"  # (Tseung Kwan O)
    # (a district's abbreviation: "Songshan Dist.", "Da'an Dist.")
    r"(?:(?<=Dist)\.)?(?:\s+[0-9]{1,2}(?![0-9]))?"
    r"|N\.T\.|[A-Z]{2,3})(?![A-Za-zß-ÿ])"
)
_MAX_TAIL = 4
_POSTCODE_RE = re.compile(
    r",?\s+(?:[A-Z]{1,2}[0-9][0-9A-Z]?\s?[0-9][A-Z]{2}"  # UK: SW1A 1AA, M20 6LT
    r"|[AC-FHKNPRTV-Y][0-9]{2}\s?[0-9AC-FHKNPRTV-Y]{4}"  # Irish Eircode: A98 X2F3
    r"|[A-Z]{2}\s+[0-9]{5}(?:-[0-9]{4})?"  # US: IL 62704
    r"|(?:[A-Z]{2}\s+)?[A-Z][0-9][A-Z]\s?[0-9][A-Z][0-9]"  # Canada: ON M5J 0C3
    r"|(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+[0-9]{4}"  # Australia: VIC 3065
    r"|S\(?[0-9]{6}\)?"  # Singapore: S570212, S(560250)
    r"|[0-9]{5}(?:-[0-9]{4})?|[0-9]{6}"  # a ZIP, a Chinese or Indian postcode
    r"|[0-9]{3}-[0-9]{4}|[0-9]{4}(?![^\S\n]*[0-9])"  # Japan 106-0032; NZ 1021
    r"|(?<=City )[0-9]{3}"  # Taiwan: "Taipei City 106"
    r"|[A-Z]{1,2}[0-9]{1,2})(?![A-Za-z0-9])"  # only the first half of a UK postcode: "LL30"
)
# A postcode that comes before its town (Malaysia, much of Europe): "80000 Johor Bahru"
_POSTCODE_FIRST_RE = re.compile(r",?\s+[0-9]{4,5}$")
# A postcode no other address word needs: the UK's, Ireland's, Canada's, or a US or
# Australian state with its code. The town, street and house before it, segment by segment
# back to where the sentence speaks again ("Rose Cottage, Mill Lane, Kirkby Stephen, Cumbria
# CA17 4QW").
_STRONG_POSTCODE_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Z]{1,2}[0-9][0-9A-Z]?\s[0-9][A-Z]{2}"
    r"|[AC-FHKNPRTV-Y][0-9]{2}\s[0-9AC-FHKNPRTV-Y]{4}"
    r"|[A-Z]{2}\s+[0-9]{5}(?:-[0-9]{4})?"
    r"|[A-Z]{2}\s+[A-Z][0-9][A-Z]\s?[0-9][A-Z][0-9]"
    r"|(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+[0-9]{4})(?![A-Za-z0-9])"
)
# one segment before a postcode or a comma: capitalised words, perhaps after a house number
_SEGMENT_BEFORE_RE = re.compile(
    r"((?:[0-9]{1,5}[A-Za-z]?\s+|[0-9]{1,3}(?:st|nd|rd|th)\s+)?(?:Co\.\s+)?[A-ZÀ-Þ][\w'’\-]*\.?"
    r"(?:\s+(?:of|upon|on|de|la|le|du)?\s*[A-ZÀ-Þ][\w'’\-]*\.?){0,3}"
    # (a flat's number: "Apartment 12,", "Sector 15-B,")
    r"(?:\s+[0-9]{1,5}(?:-?[A-Za-z])?)?"
    # or a block, floor and unit alone: "C-1/45,", "B-12-3,"
    r"|[A-Z]-[0-9]{1,4}(?:[-/][0-9]{1,4}){0,2})(,?\s*)$"
)
_MAX_SEGMENTS = 5
_WEAK_END_RE = re.compile(
    r"(?<=[a-zß-ÿ] )(?P<pin>[1-9][0-9]{5})(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])[0-9]{5}\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}(?:,\s*[A-Z][a-z]+)?"
    r"(?![A-Za-z0-9])"
)
_WEAK_END_SEGMENTS = 2
# In one case only (lower or capitals): up to two words of town and then a UK postcode
# ("london se22 8hj") or a US state and ZIP code ("springfield, il 62702")
_ONE_CASE_TAIL_RE = re.compile(
    r"(?:,?\s+[a-z]+){1,2},?\s+(?:[a-z]{1,2}[0-9][0-9a-z]?\s?[0-9][a-z]{2}|[a-z]{2}\s+[0-9]{5})"
    r"(?![a-z0-9])"
)
# After the postcode, the country
_COUNTRY_RE = re.compile(
    r"(?i:,?\s*(?:canada|uk|united kingdom|usa|united states|australia|singapore|china|"
    r"ireland|hong kong|new zealand))(?![a-z])"
)

# Capitalised words that end the city and district words after a street ("…, Beijing. Please
# …", "…, Leeds Thanks"): greetings, weekdays, words of a sentence about the patient.
_NOT_ADDRESS_WORDS = frozenset(
    {
        "I",
        "Not",
        "Sure",
        "So",
        "Very",
        "Really",
        "Having",
        "Going",
        "Feeling",
        "Worried",
        "Pregnant",
        "Here",
        "Back",
        "Diabetic",
        "The",
        "A",
        "An",
        "Also",
        "Just",
        "Still",
        "Now",
        "In",
        "On",
        "At",
        "From",
        "Taking",
        "Currently",
        "Allergic",
        "Asking",
        "Writing",
        "Calling",
        "Concerned",
        "Scared",
        "Afraid",
        "Sorry",
        "Fine",
        "Okay",
        "Ok",
        "Well",
        "Sick",
        "Better",
        "Worse",
        "Tired",
        "Over",
        "Under",
        "About",
        "Trying",
        "Wondering",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Thank",
        "Thanks",
        "Hello",
        "Hi",
        "Dear",
        "Please",
        "Yes",
        "No",
        "Type",
        "Male",
        "Female",
        "Age",
        "English",
        "Chinese",
        # the labels of a form's next line ("…, Taikoo Shing\nTel 9381 2276")
        "Tel",
        "Phone",
        "Mobile",
        "Email",
        "Contact",
        "Name",
        "Items",
        "DOB",
        "Date",
        "Ref",
    }
)


def en_addresses(text: str, cased: str, not_places: frozenset[str]) -> list[tuple[int, int]]:
    """Spans of Latin-script addresses; ``not_places`` are capitalised words that never
    continue one (Please, Thanks …)."""
    out: list[tuple[int, int]] = []
    for m in _EN_RE.finditer(text):
        end = m.end()
        one_case = _ONE_CASE_TAIL_RE.match(text, end)
        if one_case and (
            cased[end : one_case.end()].islower() or cased[end : one_case.end()].isupper()
        ):
            out.append((m.start(), one_case.end()))
            continue
        for _ in range(_MAX_TAIL):
            post = _POSTCODE_RE.match(cased, end)
            if post:
                end = post.end()
                if _POSTCODE_FIRST_RE.search(cased, post.start(), end):
                    end = _town_after(cased, end, not_places)
                country = _COUNTRY_RE.match(cased, end)
                end = country.end() if country else end
                break
            tail = _TAIL_RE.match(cased, end)
            if not tail or tail.group(1).split()[0].rstrip(".") in not_places:
                break
            end = tail.end()
            if _REGION_END_RE.search(cased, tail.start(1), end):
                # after Hong Kong or Macau comes only the sentence (or "Kowloon, Hong Kong")
                ahead = _TAIL_RE.match(cased, end)
                if not (ahead and _REGION_END_RE.search(cased, ahead.start(1), ahead.end())):
                    post = _POSTCODE_RE.match(cased, end)  # "Singapore 560456"
                    end = post.end() if post else end
                    break
        else:
            post = _POSTCODE_RE.match(cased, end)
            end = post.end() if post else end
        out.append((m.start(), end))
    for m in _EN_UNITS_RE.finditer(text):
        if any(a <= m.start() < b for a, b in out):
            continue
        end = m.end()
        for _ in range(_MAX_TAIL):
            tail = _TAIL_RE.match(cased, end)
            if not tail or tail.group(1).split()[0].rstrip(".") in not_places:
                break
            end = tail.end()
        if end > m.end() and (
            _UNITS_END_RE.search(cased, m.end(), end)
            or _FLOOR_RE.search(text, m.start(), m.end())
            # a flat or room in a tower or block of a named estate ("Flat 11, Tower 3, Laguna
            # City, Kwun Tong"), not a room of the hospital's
            or (
                _HOME_UNIT_RE.search(text, m.start(), m.end()) is not None
                and _BLOCK_UNIT_RE.search(text, m.start(), m.end()) is not None
                and _CLINICAL_RE.search(text, m.start(), end) is None
            )
        ):
            # ends in a region or a city, or its units name a floor (a home: "Room 1507,
            # 15/F, Tower 2, Laguna City, Kwun Tong")
            out.append((m.start(), end))
    for m in _STRONG_POSTCODE_RE.finditer(cased):
        if any(a < m.end() and m.start() < b for a, b in out):
            continue
        start = _segments_before(cased, m.start(), not_places)
        if start < m.start():
            out.append((start, m.end()))
    # weaker ends, taken with two segments or more before them: an Indian PIN after its city
    # ("…, Janakpuri, New Delhi 110058"), a postcode and its town ("…, 48000 Rawang, Selangor")
    for m in _WEAK_END_RE.finditer(cased):
        if any(a < m.end() and m.start() < b for a, b in out):
            continue
        at = m.start("pin") if m.group("pin") else m.start()
        start = _segments_before(cased, at, not_places)
        if cased.count(",", start, at) >= _WEAK_END_SEGMENTS:
            out.append((start, m.end()))
    # the street first and its number, then a postcode and the town, as much of Europe writes
    # them ("Prinsengracht 263-2, 1016 GV Amsterdam", "Drottninggatan 53, 111 21 Stockholm");
    # Japan's block numbers and its -ku/-shi ("3-12-5 Hiroo, Shibuya-ku, Tokyo 150-0012");
    # Korea's -ro/-gil and -gu ("25 Sejong-daero 9-gil, Jung-gu, Seoul 04513")
    # a Singapore block and its #floor-unit, with the street before it ("Bedok North St 3, Blk
    # 538 #09-211")
    for m in _SG_BLOCK_UNIT_RE.finditer(text):
        start = _segments_before(cased, m.start(), not_places)
        start = (
            start if start < m.start() and cased.count(",", start, m.start()) <= 2 else m.start()
        )
        if not any(a < m.end() and start < b for a, b in out):
            out.append((start, m.end()))
    for rx, source in ((_CONTINENTAL_RE, cased), (_JAPAN_RE, text), (_KOREA_RE, text)):
        for m in rx.finditer(source):
            if rx is _CONTINENTAL_RE and not (
                _STRONG_EU_POSTCODE_RE.search(m.group())
                or _STREET_WORD_RE.search(cased, m.start(), m.end("street"))
            ):
                continue  # "Metformin 500, 2000 Units": no street, no postcode of its own shape
            # (a part found alone before, "Hauptstraße 32", is taken into the whole)
            inside = [(a, b) for a, b in out if m.start() <= a and b <= m.end()]
            if not any(a < m.end() and m.start() < b for a, b in out if (a, b) not in inside):
                out = [span for span in out if span not in inside]
                out.append(m.span())
    out.sort()
    return out


_STREET_WORD = (
    r"(?:[\wÀ-ÿ'.\-]*(?:straat|gracht|laan|weg|gatan|vägen|gade|vej|strasse|straße|gasse|platz|"
    r"allee|plein|kade|dijk|torget)|rue|avenue|av\.|via|viale|calle|avenida|rua|piazza|plaza)"
)
_SG_BLOCK_UNIT_RE = re.compile(
    r"(?<![a-z])(?:blk|block)\s*[0-9]{1,4}[a-z]?(?![0-9])[^#\n]{0,40}?#[0-9]{1,3}-[0-9]{1,5}[a-z]?"
    r"(?![0-9])"
)
_CONTINENTAL_RE = re.compile(
    r"(?<![\w])(?:[A-ZÀ-Þ][\wÀ-ÿ'.\-]*\s){0,3}(?P<street>[A-ZÀ-Þ][\wÀ-ÿ'.\-]*)\s[0-9]{1,4}[a-zA-Z]?"
    r"(?:[/\-][0-9]{1,4}[a-zA-Z]?)?,\s*"
    # a postcode of its own shape (1016 GV, 111 21), or four or five digits after a street's word
    r"(?:[0-9]{4}\s?[A-Z]{2}|[0-9]{3}\s[0-9]{2}|(?:[A-Z]-)?[0-9]{4,5})\s+"
    r"[A-ZÀ-Þ][\wÀ-ÿ\-]+(?:\s[A-ZÀ-Þ][\wÀ-ÿ\-]+)?(?![\w])"
)
_STRONG_EU_POSTCODE_RE = re.compile(r",\s*(?:[0-9]{4}\s?[A-Z]{2}|[0-9]{3}\s[0-9]{2})\s")
_STREET_WORD_RE = re.compile(_STREET_WORD, re.IGNORECASE)
_JAPAN_RE = re.compile(
    r"(?<![0-9\-])[0-9]{1,2}-[0-9]{1,2}(?:-[0-9]{1,3})?,?\s+[a-z][a-z\-]+(?:,?\s+[a-z][a-z\-]+){0,2}"
    r",?\s+[a-z]+-(?:ku|shi|cho|machi|gun)(?![a-z])(?:,?\s+(?!and\b|or\b|is\b)[a-z]+){0,2}"
    r"(?:,?\s+[0-9]{3}-[0-9]{4})?"
)
_KOREA_RE = re.compile(
    r"(?<![0-9\-])[0-9]{1,4}(?:-[0-9]{1,3})?\s+[a-z]+-(?:daero|ro|gil)(?:\s+[0-9]{1,3}(?:beon)?-gil)?"
    r",?\s+[a-z]+-(?:gu|si|gun|dong|eup|myeon)(?![a-z])(?:,?\s+(?!and\b|or\b|is\b)[a-z]+)?"
    r"(?:\s+[0-9]{5})?"
)


def _town_after(cased: str, end: int, not_places: frozenset[str]) -> int:
    """The end of the town and state after a postcode that comes first ("80000 Johor Bahru,
    Johor")."""
    for _ in range(2):
        tail = _TAIL_RE.match(cased, end)
        if not tail or tail.group(1).split()[0].rstrip(".") in not_places:
            break
        end = tail.end()
    return end


def _segments_before(cased: str, pos: int, not_places: frozenset[str]) -> int:
    """Where the address that ends in a postcode at ``pos`` starts: the town right before the
    postcode, then segments after commas, as long as each is capitalised words (perhaps after a
    house number) that are not the sentence's words."""
    start = pos
    for k in range(_MAX_SEGMENTS):
        m = _SEGMENT_BEFORE_RE.search(cased, max(0, start - 80), start)
        if m is None or (k and "," not in m.group(2)):
            break
        words = m.group(1).split()
        if words[0] == "The":  # a house's name: "The Old Vicarage, …"
            words = words[1:]
        # ("No." before a number is the house's, "No" alone the sentence's)
        if any(w.rstrip(".,") in not_places and w != "No." for w in words):
            break
        start = m.start(1)
        if cased[max(0, start - 2) : start].strip() != ",":
            break
    return start
