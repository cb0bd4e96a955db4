//! GB/T 20986-2023: incident classes, subclasses and levels, the grading rule and the
//! national reporting deadlines (see `../shared/spec/STANDARDS.md`).
//!
//! The two- or three-letter class codes come from a secondary source (the standard's annex B
//! could not be obtained); they are data, never matched on in code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One incident class with its subclasses (each class also admits "其他" / other).
#[derive(Debug, Clone, Copy)]
pub struct Category {
    /// Stable code, e.g. `NA`.
    pub code: &'static str,
    /// Chinese name, e.g. 网络攻击事件.
    pub zh: &'static str,
    /// English name.
    pub en: &'static str,
    /// Subclasses as (Chinese, English).
    pub subcategories: &'static [(&'static str, &'static str)],
}

/// The ten classes of GB/T 20986-2023.
pub const CATEGORIES: &[Category] = &[
    Category {
        code: "MP",
        zh: "恶意程序事件",
        en: "Malicious program",
        subcategories: &[
            ("计算机病毒", "Computer virus"),
            ("网络蠕虫", "Network worm"),
            ("特洛伊木马", "Trojan horse"),
            ("僵尸网络", "Botnet"),
            ("恶意代码内嵌网页", "Web page with embedded malicious code"),
            ("恶意代码宿主站点", "Malicious code hosting site"),
            ("勒索软件", "Ransomware"),
            ("挖矿病毒", "Cryptomining malware"),
            ("混合攻击程序", "Blended attack program"),
        ],
    },
    Category {
        code: "NA",
        zh: "网络攻击事件",
        en: "Network attack",
        subcategories: &[
            ("网络扫描探测", "Scanning and probing"),
            ("网络钓鱼", "Phishing"),
            ("漏洞利用", "Vulnerability exploitation"),
            ("后门利用", "Backdoor use"),
            ("后门植入", "Backdoor implant"),
            ("凭据攻击", "Credential attack"),
            ("信号干扰", "Signal jamming"),
            ("拒绝服务", "Denial of service"),
            ("网页篡改", "Web defacement"),
            ("暗链植入", "Hidden link implant"),
            ("域名劫持", "Domain hijacking"),
            ("域名转嫁", "Domain transfer fraud"),
            ("DNS污染", "DNS poisoning"),
            ("WLAN劫持", "WLAN hijacking"),
            ("流量劫持", "Traffic hijacking"),
            ("BGP劫持攻击", "BGP hijacking"),
            ("广播欺诈", "Broadcast spoofing"),
            ("失陷主机", "Compromised host"),
            ("供应链攻击", "Supply-chain attack"),
            ("APT", "APT"),
        ],
    },
    Category {
        code: "DS",
        zh: "数据安全事件",
        en: "Data security",
        subcategories: &[
            ("数据篡改", "Data tampering"),
            ("数据假冒", "Data forgery"),
            ("数据泄露", "Data leak"),
            ("社会工程", "Social engineering"),
            ("数据窃取", "Data theft"),
            ("数据拦截", "Data interception"),
            ("位置检测", "Location detection"),
            ("数据投毒", "Data poisoning"),
            ("数据滥用", "Data abuse"),
            ("隐私侵犯", "Privacy violation"),
            ("数据损失", "Data loss"),
        ],
    },
    Category {
        code: "IC",
        zh: "信息内容安全事件",
        en: "Information content security",
        subcategories: &[
            ("反动宣传", "Subversive propaganda"),
            ("暴恐宣扬", "Terror propaganda"),
            ("色情传播", "Pornography"),
            ("虚假信息传播", "Disinformation"),
            ("权益侵害", "Infringement of rights"),
            ("信息滥发", "Spam"),
            ("网络欺诈", "Online fraud"),
        ],
    },
    Category {
        code: "DE",
        zh: "设备设施故障事件",
        en: "Equipment and facility failure",
        subcategories: &[
            ("技术故障", "Technical failure"),
            ("配套设施故障", "Supporting facility failure"),
            ("物理损害", "Physical damage"),
            ("辐射干扰", "Radiation interference"),
        ],
    },
    Category {
        code: "RO",
        zh: "违规操作事件",
        en: "Non-compliant operation",
        subcategories: &[
            ("权限滥用", "Privilege abuse"),
            ("权限伪造", "Privilege forgery"),
            ("行为抵赖", "Repudiation"),
            ("故意违规操作", "Deliberate violation"),
            ("误操作", "Operating error"),
            ("人员可用性破坏", "Staff availability disruption"),
            ("资源未授权使用", "Unauthorised use of resources"),
        ],
    },
    Category {
        code: "SHE",
        zh: "安全隐患事件",
        en: "Security hazard",
        subcategories: &[
            ("网络漏洞", "Network vulnerability"),
            ("网络配置合规缺陷", "Configuration compliance defect"),
        ],
    },
    Category {
        code: "AB",
        zh: "异常行为事件",
        en: "Abnormal behaviour",
        subcategories: &[
            ("访问异常", "Access anomaly"),
            ("流量异常", "Traffic anomaly"),
        ],
    },
    Category {
        code: "FOC",
        zh: "不可抗力事件",
        en: "Force majeure",
        subcategories: &[
            ("自然灾害", "Natural disaster"),
            ("事故灾难", "Accident"),
            ("公共卫生", "Public health"),
            ("社会安全", "Social security"),
        ],
    },
    Category {
        code: "OTH",
        zh: "其他事件",
        en: "Other",
        subcategories: &[],
    },
];

/// The subclass every class admits besides its listed ones.
pub const OTHER_SUBCATEGORY: &str = "其他";

/// The class with this code.
pub fn category(code: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.code == code)
}

/// Why a classification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassificationError {
    /// Not one of the ten classes.
    #[error("unknown incident category {0:?} (one of MP, NA, DS, IC, DE, RO, SHE, AB, FOC, OTH)")]
    UnknownCategory(String),
    /// Not a subclass of the class.
    #[error("{subcategory:?} is not a subcategory of {category} ({zh})")]
    UnknownSubcategory {
        /// The class code.
        category: String,
        /// Its Chinese name.
        zh: &'static str,
        /// What was given.
        subcategory: String,
    },
}

/// Checks a class and subclass (Chinese name, or "其他"; empty means not yet known).
pub fn validate(code: &str, subcategory: &str) -> Result<&'static Category, ClassificationError> {
    let cat = category(code).ok_or_else(|| ClassificationError::UnknownCategory(code.into()))?;
    if subcategory.is_empty()
        || subcategory == OTHER_SUBCATEGORY
        || cat.subcategories.iter().any(|(zh, _)| *zh == subcategory)
    {
        Ok(cat)
    } else {
        Err(ClassificationError::UnknownSubcategory {
            category: code.into(),
            zh: cat.zh,
            subcategory: subcategory.into(),
        })
    }
}

/// Incident level: I is the most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub enum Level {
    /// 特别重大.
    I,
    /// 重大.
    II,
    /// 较大.
    III,
    /// 一般.
    IV,
}

impl Level {
    /// All levels, most severe first.
    pub const ALL: [Level; 4] = [Level::I, Level::II, Level::III, Level::IV];

    /// The stable name (`I` … `IV`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::I => "I",
            Level::II => "II",
            Level::III => "III",
            Level::IV => "IV",
        }
    }

    /// Parses `I` … `IV`.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// 特别重大 / 重大 / 较大 / 一般.
    pub fn zh(self) -> &'static str {
        match self {
            Level::I => "特别重大",
            Level::II => "重大",
            Level::III => "较大",
            Level::IV => "一般",
        }
    }

    /// Extremely serious / serious / relatively serious / general.
    pub fn en(self) -> &'static str {
        match self {
            Level::I => "Extremely serious",
            Level::II => "Serious",
            Level::III => "Relatively serious",
            Level::IV => "General",
        }
    }

    /// Only 较大 and above must be reported to the authorities.
    pub fn must_report(self) -> bool {
        self <= Level::III
    }
}

/// Importance of the affected object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    /// 特别重要.
    Critical,
    /// 重要.
    Important,
    /// 一般.
    Ordinary,
}

/// Loss caused to the affected object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// 特别严重.
    Extreme,
    /// 严重.
    Serious,
    /// 较大.
    Considerable,
    /// 较小.
    Minor,
}

/// Harm to society.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SocialHarm {
    /// 特别重大.
    Extreme,
    /// 重大.
    Major,
    /// 较大.
    Considerable,
    /// 一般.
    Ordinary,
}

/// The recorded grading inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradingInputs {
    /// Importance of the affected systems.
    pub importance: Importance,
    /// Loss.
    pub loss: Loss,
    /// Social harm.
    pub social_harm: SocialHarm,
}

impl GradingInputs {
    /// The suggested level: the more severe of the importance × loss matrix and the social
    /// harm. An analyst confirms it (and may record a different level with a reason).
    pub fn suggested_level(&self) -> Level {
        use Importance as Imp;
        use Level::*;
        let by_loss = match (self.importance, self.loss) {
            (Imp::Critical, Loss::Extreme) => I,
            (Imp::Critical, Loss::Serious) | (Imp::Important, Loss::Extreme) => II,
            (Imp::Critical, Loss::Considerable)
            | (Imp::Important, Loss::Serious)
            | (Imp::Ordinary, Loss::Extreme) => III,
            _ => IV,
        };
        let by_harm = match self.social_harm {
            SocialHarm::Extreme => I,
            SocialHarm::Major => II,
            SocialHarm::Considerable => III,
            SocialHarm::Ordinary => IV,
        };
        by_loss.min(by_harm)
    }
}

/// Who the reporting organisation is, which decides whom it reports to and how fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorKind {
    /// Critical information infrastructure operator.
    CriticalInfrastructure,
    /// Central or state organ.
    StateOrgan,
    /// Every other operator.
    Other,
}

impl OperatorKind {
    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<OperatorKind> {
        match s {
            "critical_infrastructure" => Some(Self::CriticalInfrastructure),
            "state_organ" => Some(Self::StateOrgan),
            "other" => Some(Self::Other),
            _ => None,
        }
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CriticalInfrastructure => "critical_infrastructure",
            Self::StateOrgan => "state_organ",
            Self::Other => "other",
        }
    }
}

/// A report the organisation owes the authorities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReportingDuty {
    /// To whom (Chinese).
    pub to_zh: &'static str,
    /// To whom (English).
    pub to_en: &'static str,
    /// Minutes after the incident is known.
    pub within_minutes: i64,
}

/// The reports a level requires (CAC reporting measures in force 2025-11-01); none below 较大.
pub fn reporting_duties(kind: OperatorKind, level: Level) -> Vec<ReportingDuty> {
    if !level.must_report() {
        return Vec::new();
    }
    let grave = level <= Level::II;
    match kind {
        OperatorKind::CriticalInfrastructure => vec![
            ReportingDuty {
                to_zh: "关键信息基础设施保护工作部门",
                to_en: "CII protection department",
                within_minutes: if grave { 30 } else { 60 },
            },
            ReportingDuty {
                to_zh: "公安机关",
                to_en: "Public security organ",
                within_minutes: if grave { 30 } else { 60 },
            },
        ],
        OperatorKind::StateOrgan => vec![ReportingDuty {
            to_zh: "本单位网信部门",
            to_en: "Own cyberspace affairs office",
            within_minutes: if grave { 60 } else { 120 },
        }],
        OperatorKind::Other => vec![ReportingDuty {
            to_zh: "省级网信部门",
            to_en: "Provincial cyberspace affairs office",
            within_minutes: 240,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(importance: Importance, loss: Loss, social_harm: SocialHarm) -> Level {
        GradingInputs {
            importance,
            loss,
            social_harm,
        }
        .suggested_level()
    }

    #[test]
    fn grading_matrix_follows_the_standard() {
        use Importance::*;
        use Loss::*;
        let o = SocialHarm::Ordinary;
        assert_eq!(grade(Critical, Extreme, o), Level::I);
        assert_eq!(grade(Critical, Serious, o), Level::II);
        assert_eq!(grade(Critical, Considerable, o), Level::III);
        assert_eq!(grade(Critical, Minor, o), Level::IV);
        assert_eq!(grade(Important, Extreme, o), Level::II);
        assert_eq!(grade(Important, Serious, o), Level::III);
        assert_eq!(grade(Important, Considerable, o), Level::IV);
        assert_eq!(grade(Ordinary, Extreme, o), Level::III);
        assert_eq!(grade(Ordinary, Serious, o), Level::IV);
        // Social harm raises the level, never lowers it.
        assert_eq!(grade(Ordinary, Minor, SocialHarm::Major), Level::II);
        assert_eq!(grade(Critical, Extreme, SocialHarm::Considerable), Level::I);
    }

    #[test]
    fn classes_and_subclasses_are_checked() {
        assert_eq!(CATEGORIES.len(), 10);
        assert_eq!(validate("NA", "凭据攻击").unwrap().zh, "网络攻击事件");
        assert!(validate("NA", "其他").is_ok());
        assert!(validate("OTH", "").is_ok());
        assert!(matches!(
            validate("NA", "勒索软件"),
            Err(ClassificationError::UnknownSubcategory { .. })
        ));
        assert!(matches!(
            validate("XX", ""),
            Err(ClassificationError::UnknownCategory(_))
        ));
    }

    #[test]
    fn reporting_deadlines_by_operator_and_level() {
        assert!(reporting_duties(OperatorKind::Other, Level::IV).is_empty());
        assert_eq!(
            reporting_duties(OperatorKind::Other, Level::III)[0].within_minutes,
            240
        );
        let cii = reporting_duties(OperatorKind::CriticalInfrastructure, Level::II);
        assert_eq!(cii.len(), 2);
        assert!(cii.iter().all(|d| d.within_minutes == 30));
        assert_eq!(
            reporting_duties(OperatorKind::StateOrgan, Level::III)[0].within_minutes,
            120
        );
        assert_eq!(
            reporting_duties(OperatorKind::StateOrgan, Level::I)[0].within_minutes,
            60
        );
    }
}
