"""Finding personal names in Chinese clinical text, for :mod:`medspec.data.privacy`.

Chinese has no capitalisation, so a name is recognised by where it stands:

* after a **role cue** (患者, 家属, 其妻, 主治医师：, 经办人：, 14床, 心内科 ...): a surname and a given name
  of one or two characters that ends where a name can end (punctuation, the patient's sex, a verb: 陪同, 签字);
* after **姓名：** or a person's role and a colon, any name of 2-5 characters: names of ethnic minorities
  (扎西多吉, 吉克阿依) have no Han surname; transliterated names with a middle dot (阿依古丽·买买提) are whole;
* before an **honorific** (…女士, …医生) or before the patient's **sex** (罗佳怡，女，35岁);
* anywhere again, once a name has been found so (a name repeated later in the note).

A list of clinical words that begin with a surname character (高热, 平卧, 全麻 ...) keeps ordinary text out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

__all__ = ["find_names"]

_HAN = "\u4e00-\u9fff"
# The most common single surnames, which cover the great majority of the population, and the compound ones.
_SURNAMES_1 = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛"
    "樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉"
    "骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗"
    "瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝封谈匡鞠惠荆乐冀郁胥南班储栗燕"
    "楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈"
    "晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉"
    "冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由蔚俸贝訾"
)
_SURNAMES_2 = set(
    "欧阳 司马 诸葛 上官 公孙 慕容 皇甫 令狐 尉迟 夏侯 司徒 端木 长孙 东方 闻人 申屠 宇文 南宫 西门 独孤 轩辕 呼延 "
    "万俟 澹台 "
    "公冶 濮阳 太史 钟离 第五 拓跋 左丘 百里 赫连 东郭 司空 乐正 微生 公羊 梁丘".split()
)
# Clinical words that begin with a surname character, and roles written before 医师/护士: never a name.
_NOT_NAMES = set(
    "高热 高龄 高危 高血 高度 高压 明显 明确 安静 安全 安返 平稳 平卧 平素 全麻 全身 全科 常规 应用 应答 时有 "
    "于是 成功 向心 和平 文化 国家 相关 来院 来诊 万古 何时 车祸 车间 段性 方可 方案 方式 左侧 左下 左上 丁卡 "
    "石膏 金黄 苏醒 乐观 强直 强烈 康复 宁静 华法 黄疸 黄染 白细 白蛋 马来 曲马 卫生 包括 单侧 单次 双侧 关节 "
    "谷丙 吉兰 毛细 蓝色 管理 管床 费用 解痉 麻醉 陆续 信息 林格 熊去 席汉 海绵 初步 初诊 门诊 门急 史诉 贾第 "
    "孟鲁 郭氏 顾虑 申请 谈话 主管 夜班 白班 值班 查房 查体 查看 阴性 阳性 呼吸 区域 危险 危重 利尿 利多 "
    "戴口 晋级 雷诺 孔径 宫缩 宫颈 宫内 严重 严格 凌晨 尚可 房颤 房间 施行 易感 巴比 甘油 沙丁 盛放 谷氨 胡桃 "
    "薄膜 邱氏 尤其 连续 连接 司可 龙胆 花生 朴素 童年 任何 任意 向下 向上 向外 余下 余量 将近 冷静 冷却 冷热 "
    "温度 温和 温暖 季节 费力 吉林 都是 普通 曾经 曾有 曾行 时间 时候 经过 经由 景观 简单 简要 路径 游离 江西 "
    "江苏 湖北 湖南 山东 山西 广东 广西 海南 云南 贵州 四川 宁夏 西藏 新疆 您好 你好 谢谢 标本 病理 诊断 性别 "
    "年龄 科室 床号 住院 门诊 姓名".split()
)
# Characters that practically never occur in a given name: a candidate containing one is clinical text.
_NEVER_IN_NAMES = set("病房床科室院诊术药血症痛检查医护师患者侧位麻醉疗")
_ROLE_CUES = (
    "患者 患儿 病人 病员 产妇 孕妇 家属 亲属 联系人 监护人 代理人 委托人 被授权人 授权人 陪同人 签字人 见证人 "
    "投保人 被保险人 申请人 参保人 受血者 献血者 报告人 随访对象 被随访人 照顾者 其子 其女 其夫 其妻 其母 其父 "
    "其兄 其姐 其弟 其妹 之子 之女 丈夫 妻子 爱人 儿子 女儿 父亲 母亲 外婆 外公 奶奶 爷爷 哥哥 姐姐 弟弟 妹妹 "
    "孙子 孙女 外孙 外孙女 侄子 侄女 女婿 儿媳 老伴 同事 工友 朋友 女友 男友 邻居 同学 室友 翻译 村医 主治医师 "
    "主治医生 住院医师 主任医师 主刀 术者 一助 二助 助手 麻醉医师 麻醉师 麻醉医生 经治医师 医师 医生 护士长 "
    "责任护士 巡回护士 器械护士 护士 助产士 药师 技师 灌注师 治疗师 营养师 记录者 记录人 记录 审核者 审核 检验者 "
    "报告医师 报告者 送检医师 申请医师 接诊医师 值班医师 上级医师 转诊医师 主任 签名 签字 兹证明 证明 姓名 交由 "
    "乳名 小名".split()
)
_HONORIFICS = ("先生", "女士", "小姐", "医生", "医师", "大夫", "护士", "主任", "教授", "老师", "同志", "阿姨", "老人")
# Where a name may end: punctuation, the patient's sex, and the verbs and particles that follow a name in notes.
_NAME_END = set(
    "，,。.；;：:、）)（( "
    "\t\n男女因于在今昨自诉主入出是的系为已经被等及和与同之家签[【陪留抱表称代拒要知说讲护送来去到看住"
    "就问答认回带复呼交协转报确接告述叙指照领办理填提询咨电手"
)
_RELATIVES = "丈夫 妻子 儿子 女儿 父亲 母亲 女婿 儿媳 孙子 孙女 外孙 哥哥 姐姐 弟弟 妹妹".split()
_CUE = re.compile(
    "(?:"
    + "|".join(sorted([*_ROLE_CUES, *(f"其{r}" for r in _RELATIVES)], key=len, reverse=True))
    # signature fields that name a task, before a colon: 麻醉：宋佳, 调配：宁倩
    + "|(?:麻醉|手术|巡回|器械|洗手|复核|核对|执行|签收|交班|接班|调配|经办)(?=[:：])"
    # role nouns ending in a person suffix, and departments, before a colon: 经办人：, 接生人员：, 心内科庄宇：
    + rf"|[{_HAN}]{{1,5}}(?:人|员|者|师|士|长|办|配|对)(?=[:：])"
    + r"|\d+\s*床"
    + rf"|[{_HAN}]{{1,5}}科"
    + r")[:：\s]*"
)
# After these cues any name of 2-5 characters is taken: names of ethnic minorities have no Han surname. Departments
# (…科：) are not among them: a department is followed by its opinion as often as by a name.
_STRONG_CUE = re.compile(r"(?:姓名|乳名|小名|\d+\s*床)[:：\s]*$|[人员者师士长生办][:：]\s*$")
_DOTTED = re.compile(rf"[{_HAN}]{{2,6}}[·•・][{_HAN}]{{2,6}}?(?=[^{_HAN}]|[{re.escape(''.join(_NAME_END))}]|$)")
_BEFORE_SEX = re.compile(r"[，,\s]?[男女][，,\s（(]")


def _surname_at(text: str, i: int) -> int:
    """Length of the surname starting at ``i`` (2 for a compound surname), or 0."""
    if text[i : i + 2] in _SURNAMES_2:
        return 2
    return 1 if text[i : i + 1] in _SURNAMES_1 else 0


def _plausible(candidate: str) -> bool:
    return (
        re.fullmatch(f"[{_HAN}]+", candidate) is not None
        and candidate[:2] not in _NOT_NAMES
        and not any(ch in _NEVER_IN_NAMES for ch in candidate[1:])
        and not any(h in candidate for h in _HONORIFICS)
    )


def _ends_name(text: str, end: int) -> bool:
    if end > len(text):
        return False
    return end == len(text) or text[end] in _NAME_END or text.startswith(_HONORIFICS, end)


def _han_surname_name(text: str, i: int) -> int:
    """Length of a surname + given name starting at ``i`` that ends where a name can end, or 0."""
    surname = _surname_at(text, i)
    if not surname:
        return 0
    ends = [g for g in (2, 1) if _plausible(text[i : i + surname + g]) and _ends_name(text, i + surname + g)]
    if not ends:
        return 0
    # "曹磊已知情": 曹磊已 and 曹磊 both end well; a given name rarely ends in a particle, so take the shorter one.
    if ends == [2, 1] and text[i + surname + 1] in _NAME_END:
        return surname + 1
    return surname + ends[0]


def _any_name(text: str, i: int, *, strong: bool) -> int:
    """Length of a 2-5 character name without surname check, or 0.

    After a strong cue the name ends at punctuation or space; after a weak one only before the patient's sex
    ("患者才让东智，男，44岁").
    """
    for length in (5, 4, 3, 2):
        end = i + length
        if end > len(text) or not _plausible(text[i:end]):
            continue
        if _BEFORE_SEX.match(text, end) or (strong and (end == len(text) or not re.match(f"[{_HAN}]", text[end]))):
            return length
    return 0


def _after_cues(text: str) -> Iterator[tuple[int, int]]:
    for cue in _CUE.finditer(text):
        start = cue.end()
        if _CUE.match(text, start):  # "联系人：女儿金顺姬": the next cue introduces the name
            continue
        dotted = _DOTTED.match(text, start)
        if dotted:
            yield dotted.span()
            continue
        strong = _STRONG_CUE.search(cue.group()) is not None
        # A cue may introduce a list: "参加人员：程浩、蔡敏、徐一帆（麻醉科）、白雪（护士长）".
        while length := _han_surname_name(text, start) or _any_name(text, start, strong=strong):
            yield start, start + length
            following = re.match(r"(?:[（(][^）)]{0,12}[）)])?、", text[start + length :])
            if not following:
                break
            start += length + following.end()


def _before(text: str, anchors: Iterable[re.Match[str]]) -> Iterator[tuple[int, int]]:
    """Names standing right before each anchor (an honorific, the patient's sex)."""
    for anchor in anchors:
        for length in (4, 3, 2):
            start = anchor.start() - length
            if start < 0:
                continue
            surname = _surname_at(text, start)
            if surname and 1 <= length - surname <= 2 and _plausible(text[start : anchor.start()]):
                yield start, anchor.start()
                break


def find_names(text: str, known: Iterable[str] = ()) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of every name found in ``text``, and of every repeat of it or of a ``known`` name."""
    found = [
        *_after_cues(text),
        *_before(text, re.finditer("|".join(_HONORIFICS), text)),
        *_before(text, _BEFORE_SEX.finditer(text)),
    ]
    yield from found
    names = {text[s:e] for s, e in found if e - s >= 2} | {n for n in known if n}
    for name in sorted(names, key=len, reverse=True):
        for match in re.finditer(re.escape(name), text):
            yield match.span()
