//! Console text in zh-CN (the default) and English.
//!
//! One table, so a translator sees every string at once. A missing key shows itself
//! (`[key]`) rather than falling back silently; a unit test checks that every key used by the
//! templates exists in both languages.

/// A console language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文 (default).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From the `ys_lang` cookie value; anything unknown is Chinese.
    pub fn from_code(code: Option<&str>) -> Lang {
        match code {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The code stored in the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// Looks up console text in one language.
#[derive(Debug, Clone, Copy)]
pub struct I18n {
    /// The language.
    pub lang: Lang,
}

impl I18n {
    /// The text for `key`.
    pub fn get(&self, key: &str) -> &'static str {
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self.lang {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => {
                tracing::warn!(key, "missing console text");
                "[missing text]"
            }
        }
    }

    /// The label of a role.
    pub fn role(&self, role: &yunshou_model::Role) -> &'static str {
        self.get(&format!("role.{}", role.as_str()))
    }

    /// The label of an audit action, or the action itself when it has none.
    pub fn action<'a>(&self, action: &'a str) -> std::borrow::Cow<'a, str> {
        let key = format!("action.{action}");
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some(_) => std::borrow::Cow::Borrowed(self.get(&key)),
            None => std::borrow::Cow::Borrowed(action),
        }
    }
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("app.name", "云守安全运营平台", "yunshou Security Operations"),
    ("app.short", "云守", "yunshou"),
    ("app.tagline", "政务云数据中心安全运维：识别 · 防护 · 监测 · 响应", "Government-cloud security operations: identify · protect · monitor · respond"),
    ("lang.switch", "English", "中文"),
    ("nav.identify", "识别", "Identify"),
    ("nav.assets", "资产台账", "Asset ledger"),
    ("nav.exposure", "互联网暴露面", "Internet exposure"),
    ("lifecycle.planned", "规划中", "planned"),
    ("lifecycle.onboarding", "纳管中", "onboarding"),
    ("lifecycle.in_service", "在用", "in service"),
    ("lifecycle.changing", "变更中", "changing"),
    ("lifecycle.transferred", "已转移", "transferred"),
    ("lifecycle.decommissioned", "已下线", "decommissioned"),
    ("lifecycle.disposed", "已处置", "disposed"),
    ("asset.title", "资产台账", "Asset ledger"),
    ("asset.exposure_title", "互联网暴露面", "Internet exposure"),
    ("asset.exposure_intro", "面向互联网的资产与端口；按最小暴露原则逐一核实是否必要。", "Internet-facing assets and ports; check each is needed (least exposure)."),
    ("asset.new", "登记资产", "Add asset"),
    ("asset.edit", "编辑", "Edit"),
    ("asset.created", "资产已登记。", "Asset added."),
    ("asset.name", "名称", "Name"),
    ("asset.kind", "类型", "Kind"),
    ("asset.ips", "IP 地址", "IP addresses"),
    ("asset.domains", "域名", "Domains"),
    ("asset.ports", "开放端口", "Open ports"),
    ("asset.ports_hint", "每行一个，如 443/tcp https internet", "One per line, e.g. 443/tcp https internet"),
    ("asset.list_hint", "每行一个或用逗号分隔", "One per line or comma separated"),
    ("asset.os", "操作系统", "Operating system"),
    ("asset.middleware", "中间件", "Middleware"),
    ("asset.applications", "应用", "Applications"),
    ("asset.tech", "技术栈", "Technical stack"),
    ("asset.zone", "网络区域", "Network zone"),
    ("asset.data_center", "数据中心", "Data centre"),
    ("asset.cloud_account", "云账号", "Cloud account"),
    ("asset.c", "机密性", "Confidentiality"),
    ("asset.i", "完整性", "Integrity"),
    ("asset.a", "可用性", "Availability"),
    ("asset.value", "资产价值", "Asset value"),
    ("asset.value_formula", "资产价值（GB/T 20984-2022）：max(round(log2((2^C + 2^I + 2^A) / 3)), 业务重要性)", "Asset value (GB/T 20984-2022): max(round(log2((2^C + 2^I + 2^A) / 3)), business importance)"),
    ("asset.priority", "防护优先级", "Protection priority"),
    ("asset.priority_formula", "防护优先级：资产价值 × 业务重要性 × 暴露系数（互联网 2，内部 1）；≥30 为 P1，≥15 为 P2，≥6 为 P3，其余 P4", "Protection priority: value × business importance × exposure (internet 2, internal 1); ≥30 P1, ≥15 P2, ≥6 P3, else P4"),
    ("asset.unvalued", "尚未定级（需评定机密性、完整性、可用性）", "Not yet valued (rate confidentiality, integrity, availability)"),
    ("asset.sensitivity", "数据敏感度", "Data sensitivity"),
    ("asset.internet", "互联网暴露", "Internet-facing"),
    ("asset.internal", "内部", "Internal"),
    ("asset.internet_badge", "公网", "internet"),
    ("sensitivity.high", "高", "high"),
    ("sensitivity.medium", "中", "medium"),
    ("sensitivity.low", "低", "low"),
    ("asset.controls", "防护措施", "Security controls"),
    ("asset.verified", "最近核验", "Last verified"),
    ("asset.owner", "责任人", "Owner"),
    ("asset.department", "部门", "Department"),
    ("asset.business_system", "业务系统", "Business system"),
    ("asset.business_type", "业务类型", "Business type"),
    ("asset.importance", "业务重要性", "Business importance"),
    ("asset.supply_chain", "供应链", "Supply chain"),
    ("asset.fingerprint", "指纹", "Fingerprint"),
    ("asset.tls", "TLS 证书", "TLS certificate"),
    ("asset.lifecycle", "生命周期", "Lifecycle"),
    ("asset.move", "变更状态", "Move to"),
    ("asset.risk_note", "风险说明（转移、处置时必填）", "Risk note (required for transfer and disposal)"),
    ("asset.history", "变更历史", "Change history"),
    ("asset.group_by", "分组统计", "Group counts by"),
    ("asset.sort", "排序", "Sort"),
    ("asset.sort.priority", "防护优先级", "Priority"),
    ("asset.sort.name", "名称", "Name"),
    ("asset.sort.updated", "最近变更", "Recently changed"),
    ("asset.search", "查询", "Search"),
    ("asset.q", "关键字", "Text"),
    ("asset.ip", "IP / CIDR", "IP / CIDR"),
    ("asset.port", "端口", "Port"),
    ("asset.state", "状态", "State"),
    ("asset.any", "全部", "Any"),
    ("asset.basic", "基本属性", "Basic attributes"),
    ("asset.security", "安全属性", "Security attributes"),
    ("asset.management", "管理属性", "Management attributes"),
    ("asset.save", "保存", "Save"),
    ("asset.revision", "版本", "Revision"),
    ("asset.none", "没有符合条件的资产。", "No assets match."),
    ("asset.count", "项资产", "assets"),
    ("asset.internet_ports", "互联网端口", "Internet ports"),
    ("relation.graph", "资产关系图", "Asset relations graph"),
    ("relation.runs_on", "运行于", "runs on"),
    ("relation.depends_on", "依赖", "depends on"),
    ("relation.connects_to", "连接", "connects to"),
    ("relation.part_of", "属于业务系统", "part of business system"),
    ("nav.change_alerts", "变更告警", "Change alerts"),
    ("nav.change_rules", "变更规则", "Change rules"),
    ("relation.title", "资产关系", "Relations"),
    ("relation.full_graph", "查看完整关系图", "Full relations graph"),
    ("relation.kind", "关系", "Relation"),
    ("relation.note", "备注", "Note"),
    ("relation.target", "目标资产（名称或 ID）", "Target asset (name or id)"),
    ("relation.target_hint", "如 zwfw-db-01", "e.g. zwfw-db-01"),
    ("relation.add", "添加关系", "Add relation"),
    ("relation.added", "关系已添加。", "Relation added."),
    ("relation.removed", "关系已删除。", "Relation removed."),
    ("relation.depth", "跳数", "Hops"),
    ("relation.truncated", "关系过多，图中只显示前 300 个资产。", "Too many relations: the graph shows the first 300 assets."),
    ("alert.title", "资产变更告警", "Asset change alerts"),
    ("alert.none", "没有该状态的变更告警。", "No change alerts in this state."),
    ("alert.rule", "触发规则", "Rule"),
    ("alert.severity", "级别", "Severity"),
    ("alert.reasons", "变更内容", "What changed"),
    ("alert.raised_by", "变更人", "Changed by"),
    ("alert.decided_by", "处理人", "Decided by"),
    ("alert.proposed", "待审批的变更", "Change awaiting approval"),
    ("alert.attribute", "属性", "Attribute"),
    ("alert.now", "当前值", "Now"),
    ("alert.after", "变更后", "Proposed"),
    ("alert.note", "处理意见", "Note"),
    ("alert.approve", "批准变更", "Approve"),
    ("alert.reject", "驳回变更", "Reject"),
    ("alert.acknowledge", "确认已知悉", "Acknowledge"),
    ("alert.decided", "已处理。", "Done."),
    ("alert.status.pending", "待审批", "Awaiting approval"),
    ("alert.status.open", "未处理", "Open"),
    ("alert.status.acknowledged", "已确认", "Acknowledged"),
    ("alert.status.approved", "已批准", "Approved"),
    ("alert.status.rejected", "已驳回", "Rejected"),
    ("severity.low", "低", "Low"),
    ("severity.medium", "中", "Medium"),
    ("severity.high", "高", "High"),
    ("rule.title", "资产变更规则", "Asset change rules"),
    ("rule.intro", "变更规则在资产变更时检查：命中后产生变更告警并可通知 Webhook；敏感变更可要求他人审批后才生效（I.1.d）。", "Rules are checked on every asset change: a match raises a change alert and can call a webhook; sensitive changes can require someone else's approval before they take effect (I.1.d)."),
    ("rule.condition", "条件", "Condition"),
    ("rule.action", "处置", "Action"),
    ("rule.enabled", "启用", "Enabled"),
    ("rule.enable", "启用", "Enable"),
    ("rule.disable", "停用", "Disable"),
    ("rule.delete", "删除", "Delete"),
    ("rule.new", "新增规则", "New rule"),
    ("rule.saved", "规则已保存。", "Rule saved."),
    ("rule.min_value", "最低资产价值", "Minimum asset value"),
    ("rule.fields", "属性（逗号分隔）", "Attributes (comma separated)"),
    ("rule.new_internet_port", "新增互联网暴露端口", "New internet-facing port"),
    ("rule.high_value_changed", "高价值资产变更", "High-value asset changed"),
    ("rule.owner_removed", "责任人被移除", "Owner removed"),
    ("rule.fingerprint_changed", "指纹变化", "Fingerprint changed"),
    ("rule.field_changed", "指定属性变更", "Attribute changed"),
    ("rule.action.alert", "告警", "Alert"),
    ("rule.action.require_approval", "需审批", "Require approval"),
    ("query.title", "已保存查询", "Saved queries"),
    ("query.name", "查询名称", "Query name"),
    ("query.save", "保存当前查询", "Save this query"),
    ("query.shared", "共享", "shared"),
    ("query.saved", "查询已保存。", "Query saved."),
    ("query.deleted", "查询已删除。", "Query deleted."),
    ("exposure.trend", "近 30 天互联网暴露面趋势", "Internet exposure, last 30 days"),
    ("exposure.assets", "暴露资产", "Exposed assets"),
    ("exposure.ports", "暴露最多的端口", "Most exposed ports"),
    ("action.asset.relate", "添加资产关系", "Relation added"),
    ("action.asset.unrelate", "删除资产关系", "Relation removed"),
    ("action.asset.change_held", "变更待审批", "Change held for approval"),
    ("action.asset_change.approve", "批准资产变更", "Change approved"),
    ("action.asset_change.reject", "驳回资产变更", "Change rejected"),
    ("action.asset_alert.acknowledge", "确认变更告警", "Change alert acknowledged"),
    ("action.asset_rule.create", "新增变更规则", "Change rule added"),
    ("action.asset_rule.update", "修改变更规则", "Change rule changed"),
    ("action.asset_rule.delete", "删除变更规则", "Change rule deleted"),
    ("action.asset_query.save", "保存资产查询", "Query saved"),
    ("action.asset_query.delete", "删除资产查询", "Query deleted"),
    ("action.asset_exposure.record", "记录历史暴露面", "Past exposure recorded"),
    ("asset.change_held", "该变更触发了需审批的变更规则，已提交审批，审批通过后生效。", "A change rule requires approval: the change was submitted and takes effect once approved."),
    ("group.kind", "类型", "Kind"),
    ("group.lifecycle", "生命周期", "Lifecycle"),
    ("group.business_type", "业务类型", "Business type"),
    ("group.business_system", "业务系统", "Business system"),
    ("group.owner", "责任人", "Owner"),
    ("group.department", "部门", "Department"),
    ("group.zone", "网络区域", "Zone"),
    ("group.value", "资产价值", "Value"),
    ("group.priority", "优先级", "Priority"),
    ("group.exposure", "暴露面", "Exposure"),
    ("group.sensitivity", "敏感度", "Sensitivity"),
    ("action.asset.create", "登记资产", "add asset"),
    ("action.asset.update", "变更资产", "change asset"),
    ("action.asset.lifecycle", "资产状态变更", "asset lifecycle"),
    ("action.asset.delete", "删除资产", "delete asset"),
    ("action.asset.import", "导入资产", "import assets"),
    ("action.asset.export", "导出资产", "export assets"),
    ("asset.export_csv", "导出 CSV", "Export CSV"),
    ("asset.export_json", "导出 JSON", "Export JSON"),
    ("nav.overview", "总览", "Overview"),
    ("nav.dashboard", "安全态势首页", "Dashboard"),
    ("nav.admin", "平台管理", "Administration"),
    ("nav.users", "用户与角色", "Users & roles"),
    ("nav.tenants", "租户", "Tenants"),
    ("nav.audit", "审计日志", "Audit trail"),
    ("nav.tokens", "API 令牌", "API tokens"),
    ("nav.account", "我的账户", "My account"),
    ("nav.logout", "退出登录", "Sign out"),
    ("nav.tenant", "当前租户", "Tenant"),
    ("nav.switch", "切换", "Switch"),
    ("login.title", "登录", "Sign in"),
    ("login.username", "用户名", "Username"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    ("login.bad", "用户名或密码错误。", "Wrong username or password."),
    ("login.locked_now", "用户名或密码错误。连续 5 次登录失败，账户已被锁定 15 分钟。", "Wrong username or password. After 5 failed sign-ins the account is locked for 15 minutes."),
    ("login.locked", "账户已锁定：连续 5 次登录失败。请在以下分钟数后重试：", "Account locked after 5 failed sign-ins. Try again in minutes:"),
    ("login.expired", "会话已过期或已退出，请重新登录。", "Your session ended; please sign in again."),
    ("login.csrf", "登录表单已过期，请重试。", "The sign-in form expired; please try again."),
    ("login.notice", "本系统仅限授权人员使用，所有操作均被审计。", "Authorised use only. Every action is audited."),
    ("dash.title", "安全态势首页", "Dashboard"),
    ("dash.users", "本租户用户", "Users in this tenant"),
    ("dash.locked", "锁定账户", "Locked accounts"),
    ("dash.disabled", "停用账户", "Disabled accounts"),
    ("dash.tenants", "可访问租户", "Tenants you can reach"),
    ("dash.chart", "近 14 天审计事件（成功 / 失败）", "Audit events, last 14 days (success / failure)"),
    ("dash.success", "成功", "Success"),
    ("dash.failure", "失败", "Failure"),
    ("dash.recent", "最近的审计事件", "Recent audit events"),
    ("dash.no_audit", "当前角色无权查看审计日志。", "Your roles do not include reading the audit trail."),
    ("dash.mode", "运营模式", "Operation mode"),
    ("dash.mode.provider", "平台运营方：自营 SOC，或联合 / 托管模式下的服务商", "Provider: self-run SOC, or the provider in joint / managed modes"),
    ("dash.mode.customer", "服务对象单位：由服务商联合运营或托管运营", "Customer organisation: served by the provider (joint or managed)"),
    ("dash.roles", "您在本租户的角色", "Your roles in this tenant"),
    ("users.title", "用户与角色", "Users & roles"),
    ("users.username", "用户名", "Username"),
    ("users.display_name", "姓名", "Display name"),
    ("users.roles", "角色", "Roles"),
    ("users.status", "状态", "Status"),
    ("users.last_login", "最近登录", "Last sign-in"),
    ("users.home", "所属租户", "Home tenant"),
    ("users.create", "新建用户", "New user"),
    ("users.password", "初始密码", "Initial password"),
    ("users.password_hint", "至少 12 位，包含大写、小写、数字、符号中的 3 类", "At least 12 characters, 3 of: upper case, lower case, digits, symbols"),
    ("users.role", "角色", "Role"),
    ("users.submit", "创建", "Create"),
    ("users.created", "用户已创建。", "User created."),
    ("users.active", "正常", "Active"),
    ("users.locked", "已锁定", "Locked"),
    ("users.disabled", "已停用", "Disabled"),
    ("users.detail", "用户详情", "User"),
    ("users.grant", "授予角色", "Grant role"),
    ("users.revoke", "撤销", "Revoke"),
    ("users.unlock", "解除锁定", "Unlock"),
    ("users.disable", "停用账户", "Disable account"),
    ("users.enable", "启用账户", "Enable account"),
    ("users.reset", "重置密码", "Reset password"),
    ("users.new_password", "新密码", "New password"),
    ("users.updated", "已保存。", "Saved."),
    ("users.other_home", "该账户由其所属租户管理；这里只能调整其在本租户的角色。", "This account is managed by its home tenant; here you can only change its roles in this tenant."),
    ("users.grant_staff", "授权服务商人员进入本租户", "Grant provider staff access to this tenant"),
    ("tenants.title", "租户", "Tenants"),
    ("tenants.name", "标识", "Name"),
    ("tenants.display_name", "名称", "Display name"),
    ("tenants.kind", "类型", "Kind"),
    ("tenants.kind.provider", "平台运营方", "Provider"),
    ("tenants.kind.customer", "服务对象单位", "Customer"),
    ("tenants.created", "创建时间", "Created"),
    ("tenants.create", "新建租户", "New tenant"),
    ("tenants.submit", "创建", "Create"),
    ("tenants.done", "租户已创建，您已成为其管理员。", "Tenant created; you are its admin."),
    ("tenants.name_hint", "2–40 位小写字母、数字或连字符，以字母开头", "2–40 of a-z, 0-9, '-', starting with a letter"),
    ("tokens.title", "API 令牌", "API tokens"),
    ("tokens.name", "名称", "Name"),
    ("tokens.prefix", "前缀", "Prefix"),
    ("tokens.scopes", "权限范围", "Scopes"),
    ("tokens.expires", "过期时间", "Expires"),
    ("tokens.last_used", "最近使用", "Last used"),
    ("tokens.state", "状态", "State"),
    ("tokens.revoked", "已吊销", "Revoked"),
    ("tokens.expired", "已过期", "Expired"),
    ("tokens.valid", "有效", "Valid"),
    ("tokens.revoke", "吊销", "Revoke"),
    ("tokens.create", "新建令牌", "New token"),
    ("tokens.days", "有效天数（1–365）", "Valid for days (1–365)"),
    ("tokens.submit", "生成", "Create"),
    ("tokens.once", "请立即复制此令牌，它只显示这一次：", "Copy this token now; it is shown only once:"),
    ("tokens.usage", "用法：Authorization: Bearer <令牌>；切换租户用 X-Tenant 头。", "Use: Authorization: Bearer <token>; pick a tenant with the X-Tenant header."),
    ("tokens.none", "还没有令牌。", "No tokens yet."),
    ("scope.read", "只读", "read"),
    ("scope.write", "读写", "write"),
    ("scope.admin", "管理", "admin"),
    ("audit.title", "审计日志", "Audit trail"),
    ("audit.chain", "日志按 SM3 哈希链防篡改，可用 yunshou audit verify 校验。", "Rows are chained with SM3 hashes; check them with `yunshou audit verify`."),
    ("audit.verify", "校验哈希链", "Verify chain"),
    ("audit.intact", "哈希链完整，已校验行数：", "Chain intact; rows checked:"),
    ("audit.broken", "哈希链被破坏！首个异常行：", "Chain broken! First bad row:"),
    ("audit.at", "时间 (UTC)", "Time (UTC)"),
    ("audit.actor", "操作人", "Actor"),
    ("audit.action", "操作", "Action"),
    ("audit.object", "对象", "Object"),
    ("audit.outcome", "结果", "Outcome"),
    ("audit.source", "来源地址", "Source"),
    ("audit.change", "变更前 → 变更后", "Before → after"),
    ("audit.filter", "筛选", "Filter"),
    ("audit.from", "起始日期", "From"),
    ("audit.to", "截止日期", "To"),
    ("audit.any", "全部", "Any"),
    ("audit.export_csv", "导出 CSV", "Export CSV"),
    ("audit.export_json", "导出 JSON", "Export JSON"),
    ("audit.total", "条记录", "records"),
    ("audit.prev", "上一页", "Previous"),
    ("audit.next", "下一页", "Next"),
    ("audit.seq", "序号", "Seq"),
    ("account.title", "我的账户", "My account"),
    ("account.change", "修改密码", "Change password"),
    ("account.current", "当前密码", "Current password"),
    ("account.new", "新密码", "New password"),
    ("account.submit", "修改", "Change"),
    ("account.changed", "密码已修改，请重新登录。", "Password changed; please sign in again."),
    ("account.tenants", "已授权租户", "Tenants granted"),
    ("error.title", "出错了", "Something went wrong"),
    ("error.forbidden", "您的角色无权执行此操作。", "Your roles do not allow this."),
    ("error.not_found", "未找到该记录。", "No such record."),
    ("error.invalid", "输入有误：", "Invalid input:"),
    ("error.internal", "服务器内部错误，请查看服务日志。", "Internal error; see the server log."),
    ("error.back", "返回首页", "Back to the dashboard"),
    ("common.yes", "是", "yes"),
    ("common.no", "否", "no"),
    ("common.never", "从未", "never"),
    ("common.actions", "操作", "Actions"),
    ("common.details", "详情", "Details"),
    ("nav.roles", "角色与权限", "Roles & permissions"),
    ("roles.title", "角色与权限", "Roles & permissions"),
    ("roles.intro", "角色按租户授予；API 令牌的权限范围进一步限制其可用的权限（只读 ⊂ 读写 ⊂ 管理）。", "Roles are granted per tenant; an API token's scope further limits what it may use (read ⊂ write ⊂ admin)."),
    ("roles.role", "角色", "Role"),
    ("roles.permissions", "权限", "Permissions"),
    ("roles.scope", "所需令牌范围", "Token scope needed"),
    ("perm.dashboard_read", "查看安全态势首页", "See the dashboard"),
    ("perm.users_read", "查看用户与角色", "Read users and roles"),
    ("perm.users_manage", "管理用户、授予与撤销角色、重置密码、解锁", "Manage users, grant and revoke roles, reset passwords, unlock"),
    ("perm.audit_read", "查看审计日志", "Read the audit trail"),
    ("perm.audit_export", "导出审计日志", "Export the audit trail"),
    ("perm.tenants_manage", "创建租户、跨租户授权服务商人员（仅平台运营方）", "Create tenants, grant provider staff across tenants (provider only)"),
    ("perm.assets_read", "查看资产台账", "Read the asset ledger"),
    ("perm.assets_write", "登记、变更资产并管理其生命周期", "Add and change assets, manage their lifecycle"),
    ("perm.assets_approve", "处理资产变更告警，审批他人提交的敏感变更", "Handle change alerts; approve or reject others' held changes"),
    ("perm.events_read", "检索、统计本租户事件", "Search and count the tenant's events"),
    ("perm.events_raw_read", "查看事件原始日志（每次查看均审计）", "See events' raw text (every read is audited)"),
    ("perm.ingest_manage", "管理接入令牌与事件保留期", "Manage ingest tokens and event retention"),
    ("perm.asset_rules_manage", "配置资产变更规则", "Configure asset change rules"),
    ("role.admin", "管理员", "Administrator"),
    ("role.analyst", "安全分析员", "Analyst"),
    ("role.responder", "应急响应员", "Responder"),
    ("role.asset_owner", "资产责任人", "Asset owner"),
    ("role.auditor", "审计员", "Auditor"),
    ("role.viewer", "只读访客", "Viewer"),
    ("outcome.success", "成功", "success"),
    ("outcome.failure", "失败", "failure"),
    ("action.auth.login", "登录", "sign-in"),
    ("action.auth.logout", "退出", "sign-out"),
    ("action.user.create", "创建用户", "create user"),
    ("action.user.password_reset", "重置密码", "reset password"),
    ("action.user.password_change", "修改密码", "change password"),
    ("action.user.unlock", "解除锁定", "unlock account"),
    ("action.user.disable", "停用账户", "disable account"),
    ("action.user.enable", "启用账户", "enable account"),
    ("action.role.grant", "授予角色", "grant role"),
    ("action.role.revoke", "撤销角色", "revoke role"),
    ("action.tenant.create", "创建租户", "create tenant"),
    ("action.token.create", "创建令牌", "create token"),
    ("action.token.revoke", "吊销令牌", "revoke token"),
    ("action.session.switch_tenant", "切换租户", "switch tenant"),
    ("action.audit.export", "导出审计日志", "export audit trail"),
    ("action.audit.anchor_recovered", "恢复审计锚点", "audit anchor recovered"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, zh, en) in TEXTS {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!zh.is_empty() && !en.is_empty(), "{k} lacks a translation");
        }
    }

    #[test]
    fn every_key_used_in_templates_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("t.get(\"").skip(1) {
                let key = &part[..part.find('"').unwrap()];
                assert!(
                    TEXTS.iter().any(|(k, _, _)| *k == key),
                    "{}: unknown key {key}",
                    path.display()
                );
            }
        }
    }
}
