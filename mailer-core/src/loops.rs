//! Loop safety: the template → event → trigger → send-email → template graph, the save-time check that
//! refuses chains able to repeat without the recipient, and the run-time budget for the chains that need
//! the recipient.
//!
//! # The graph
//! An edge goes from template `A` to template `B` when an event of an email made from `A` runs a trigger
//! that sends `B`: directly ("send email"), or by moving the lead into a stage (or creating a lead in one)
//! whose pipeline rule sends `B`. The events are the template's own (sent, opened, not opened, failed),
//! the clicks of the trigger links in its content (`{triggerlink:N}`), and the openings and link clicks of
//! the web pages it leads to (`{web:N}` in its content or in a field its triggers write).
//!
//! Sent, failed and not-opened edges happen **without the recipient**; a cycle made only of them repeats
//! forever for a recipient who never reads (the manual's "About automation"), so [`check`] refuses it with
//! the cycle spelled out. Cycles through an open or a click need the recipient each round; they are
//! allowed and capped at run time by [`Budget`].
//!
//! # Example
//! ```
//! use std::time::Duration;
//!
//! use mailer_core::loops::{self, Automation};
//! use mailer_core::model::*;
//!
//! let resend = Trigger {
//!     id: TriggerId(2),
//!     account: AccountId(1),
//!     name: "Resend".into(),
//!     action: Action::SendEmail { template: TemplateId(1) },
//!     delay: Duration::ZERO,
//! };
//! let offer = Template {
//!     id: TemplateId(1),
//!     account: AccountId(1),
//!     name: "Offer".into(),
//!     recipients: RecipientRule::EntityContacts,
//!     content: Content { subject: "Offer".into(), body: Body::Html("<p>Hi</p>".into()), text: None },
//!     attachments: vec![],
//!     triggers: EmailTriggers {
//!         not_opened: Some(NotOpened { after: Duration::from_secs(24 * 3600), triggers: vec![TriggerId(2)] }),
//!         ..EmailTriggers::default()
//!     },
//!     owner: UserId(1),
//!     public: true,
//!     signature_disabled: false,
//! };
//! let templates = [offer];
//! let triggers = [resend];
//! let err = loops::check(&Automation { templates: &templates, triggers: &triggers, ..Automation::default() })
//!     .unwrap_err();
//! assert!(err.to_string().ends_with("Offer --not opened 24h--> Resend --send email--> Offer"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use crate::model::{
    Action, Content, EmailId, EntityRef, MailingId, PipelineRule, PipelineRuleId, StageEvent, Template, TemplateId,
    Timestamp, Trigger, TriggerId, TriggerLink, TriggerLinkId, WebPage, WebPageId,
};

/// An account's automation configuration, as saved or about to be saved.
#[derive(Debug, Clone, Copy, Default)]
pub struct Automation<'a> {
    /// Templates.
    pub templates: &'a [Template],
    /// Triggers.
    pub triggers: &'a [Trigger],
    /// Trigger links.
    pub links: &'a [TriggerLink],
    /// Web pages.
    pub pages: &'a [WebPage],
    /// Digital-pipeline rules (a stage change can send a template through them).
    pub rules: &'a [PipelineRule],
}

/// The event an edge starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via {
    /// The email was sent.
    Sent,
    /// Sending was given up.
    Failed,
    /// The email was not opened within this time.
    NotOpened(Duration),
    /// The email was opened.
    Opened,
    /// A trigger link in the email, or on a page it leads to, was clicked.
    LinkClicked(TriggerLinkId),
    /// A web page the email leads to was opened.
    PageOpened(WebPageId),
}

impl Via {
    /// False for sent, failed and not opened: they happen whatever the recipient does.
    pub fn needs_recipient(self) -> bool {
        matches!(self, Self::Opened | Self::LinkClicked(_) | Self::PageOpened(_))
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sent => f.write_str("sent"),
            Self::Failed => f.write_str("failed"),
            Self::NotOpened(after) => write!(f, "not opened {}", Span(*after)),
            Self::Opened => f.write_str("opened"),
            Self::LinkClicked(link) => write!(f, "link {link} clicked"),
            Self::PageOpened(page) => write!(f, "page {page} opened"),
        }
    }
}

/// How a trigger leads to the next template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hop {
    /// It sends the template.
    SendEmail,
    /// It moves the lead into a stage whose pipeline rule sends the template.
    StageRule(PipelineRuleId),
    /// It creates a lead in a stage whose pipeline rule sends the template.
    NewLeadRule(PipelineRuleId),
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SendEmail => f.write_str("send email"),
            Self::StageRule(rule) => write!(f, "change stage, pipeline rule {rule}"),
            Self::NewLeadRule(rule) => write!(f, "create lead, pipeline rule {rule}"),
        }
    }
}

/// One edge: an event of `from` runs `trigger`, which leads to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The template whose email the event is about.
    pub from: TemplateId,
    /// The event.
    pub via: Via,
    /// The trigger it runs.
    pub trigger: TriggerId,
    /// How the trigger leads on.
    pub hop: Hop,
    /// The template sent.
    pub to: TemplateId,
}

/// The automation graph of an account.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    edges: Vec<Edge>,
    template_names: BTreeMap<TemplateId, String>,
    triggers: BTreeMap<TriggerId, (String, Duration)>,
}

impl Graph {
    /// Builds the graph. References to records that do not exist are left out (they lead nowhere).
    pub fn build(config: &Automation<'_>) -> Self {
        let mut graph = Self {
            edges: Vec::new(),
            template_names: config.templates.iter().map(|t| (t.id, t.name.clone())).collect(),
            triggers: config
                .triggers
                .iter()
                .map(|t| (t.id, (t.name.clone(), t.delay)))
                .collect(),
        };
        let mut templates: Vec<&Template> = config.templates.iter().collect();
        templates.sort_by_key(|t| t.id);
        for template in templates {
            graph.add_template(config, template);
        }
        graph
    }

    fn add_template(&mut self, config: &Automation<'_>, template: &Template) {
        let on = &template.triggers;
        let mut fired: Vec<(Via, &[TriggerId])> = vec![(Via::Sent, &on.on_sent), (Via::Opened, &on.on_opened)];
        if let Some(n) = &on.not_opened {
            fired.push((Via::NotOpened(n.after), &n.triggers));
        }
        fired.push((Via::Failed, &on.on_failed));
        let links = token_ids(&template.content, "triggerlink");
        for link in &links {
            if let Some(l) = config.links.iter().find(|l| l.id.0 == *link) {
                fired.push((Via::LinkClicked(l.id), &l.triggers));
            }
        }
        // Pages the recipient can reach: named in the content, or written into a field by a trigger.
        let mut pages: BTreeSet<i64> = token_ids(&template.content, "web").into_iter().collect();
        for (_, ids) in &fired {
            for trigger in ids.iter().filter_map(|id| config.triggers.iter().find(|t| t.id == *id)) {
                if let Action::ChangeField { value, .. } = &trigger.action {
                    pages.extend(tokens_in(value, "web"));
                }
            }
        }
        for page in pages.iter().filter_map(|p| config.pages.iter().find(|w| w.id.0 == *p)) {
            fired.push((Via::PageOpened(page.id), &page.on_open));
            for link in token_ids(&page.content, "triggerlink") {
                if !links.contains(&link)
                    && let Some(l) = config.links.iter().find(|l| l.id.0 == link)
                {
                    fired.push((Via::LinkClicked(l.id), &l.triggers));
                }
            }
        }
        for (via, ids) in fired {
            for trigger in ids.iter().filter_map(|id| config.triggers.iter().find(|t| t.id == *id)) {
                for (hop, to) in hops(config, trigger) {
                    if self.template_names.contains_key(&to) {
                        self.edges.push(Edge {
                            from: template.id,
                            via,
                            trigger: trigger.id,
                            hop,
                            to,
                        });
                    }
                }
            }
        }
    }

    /// Every edge, by source template id, then in configured order.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The first cycle (by template id, then configured order) made only of edges that do not need the
    /// recipient, if there is one.
    pub fn recipient_free_cycle(&self) -> Option<Cycle> {
        let mut out: BTreeMap<TemplateId, Vec<usize>> = BTreeMap::new();
        for (i, e) in self.edges.iter().enumerate() {
            if !e.via.needs_recipient() {
                out.entry(e.from).or_default().push(i);
            }
        }
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        let mut marks: BTreeMap<TemplateId, Mark> = BTreeMap::new();
        for &root in out.keys() {
            if marks.contains_key(&root) {
                continue;
            }
            // Iterative depth-first search; `path[k]` is the edge taken out of `stack[k]`.
            let mut stack: Vec<(TemplateId, usize)> = vec![(root, 0)];
            let mut path: Vec<usize> = Vec::new();
            marks.insert(root, Mark::Open);
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let edges = out.get(&node).map(Vec::as_slice).unwrap_or_default();
                let Some(&edge) = edges.get(*next) else {
                    marks.insert(node, Mark::Done);
                    stack.pop();
                    path.pop();
                    continue;
                };
                *next += 1;
                let to = self.edges[edge].to;
                match marks.get(&to) {
                    Some(Mark::Open) => {
                        let start = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[start..].to_vec();
                        cycle.push(edge);
                        return Some(self.spell(&cycle));
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(to, Mark::Open);
                        stack.push((to, 0));
                        path.push(edge);
                    }
                }
            }
        }
        None
    }

    fn spell(&self, edges: &[usize]) -> Cycle {
        let name = |t: TemplateId| {
            self.template_names
                .get(&t)
                .cloned()
                .unwrap_or_else(|| format!("template {t}"))
        };
        Cycle {
            steps: edges
                .iter()
                .map(|&i| {
                    let e = self.edges[i];
                    let (trigger_name, delay) = self
                        .triggers
                        .get(&e.trigger)
                        .cloned()
                        .unwrap_or((format!("trigger {}", e.trigger), Duration::ZERO));
                    CycleStep {
                        edge: e,
                        from_name: name(e.from),
                        trigger_name,
                        delay,
                        to_name: name(e.to),
                    }
                })
                .collect(),
        }
    }
}

/// Where a trigger's action leads: the templates it sends, directly or through pipeline rules.
fn hops(config: &Automation<'_>, trigger: &Trigger) -> Vec<(Hop, TemplateId)> {
    let rules = |pipeline, stage, on: &[StageEvent]| {
        config
            .rules
            .iter()
            .filter(move |r| r.pipeline == pipeline && r.stage == stage && on.contains(&r.on))
            .map(|r| (r.id, r.template))
            .collect::<Vec<_>>()
    };
    match &trigger.action {
        Action::SendEmail { template } => vec![(Hop::SendEmail, *template)],
        Action::ChangeStage { pipeline, stage } => {
            rules(*pipeline, *stage, &[StageEvent::MovedIn, StageEvent::CreatedOrMovedIn])
                .into_iter()
                .map(|(r, t)| (Hop::StageRule(r), t))
                .collect()
        }
        Action::CreateLead { pipeline, stage, .. } => {
            rules(*pipeline, *stage, &[StageEvent::Created, StageEvent::CreatedOrMovedIn])
                .into_iter()
                .map(|(r, t)| (Hop::NewLeadRule(r), t))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The `N`s of `{name:N}` tokens in a template's subject, body and text part, first appearance first.
fn token_ids(content: &Content, name: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let texts = [
        Some(content.subject.as_str()),
        Some(content.body.source()),
        content.text.as_deref(),
    ];
    for id in texts.into_iter().flatten().flat_map(|t| tokens_in(t, name)) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The `N`s of `{name:N}` tokens in a text.
fn tokens_in(text: &str, name: &str) -> Vec<i64> {
    let open = format!("{{{name}:");
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&open) {
        rest = &rest[at + open.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && rest[digits..].starts_with('}')
            && let Ok(n) = rest[..digits].parse()
        {
            found.push(n);
        }
    }
    found
}

/// One step of a cycle: `from --via--> trigger --hop--> to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleStep {
    /// The edge.
    pub edge: Edge,
    /// The source template's name.
    pub from_name: String,
    /// The trigger's name.
    pub trigger_name: String,
    /// The trigger's delay.
    pub delay: Duration,
    /// The target template's name.
    pub to_name: String,
}

/// A cycle of the automation graph, spelled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// Its steps; the last one leads back to the first one's template.
    pub steps: Vec<CycleStep>,
}

impl fmt::Display for Cycle {
    /// `Offer --not opened 24h--> Resend --send email--> Offer`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            write!(
                f,
                "{} --{}--> {} --{}",
                step.from_name, step.edge.via, step.trigger_name, step.edge.hop
            )?;
            if !step.delay.is_zero() {
                write!(f, " after {}", Span(step.delay))?;
            }
            f.write_str("--> ")?;
        }
        if let Some(last) = self.steps.last() {
            f.write_str(&last.to_name)?;
        }
        Ok(())
    }
}

/// A configuration [`check`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoopError {
    /// A cycle that repeats without the recipient doing anything.
    #[error("this automation sends email in a loop without the recipient doing anything: {0}")]
    RecipientFreeCycle(Cycle),
}

/// Checks a configuration before it is saved, and returns its graph.
///
/// # Errors
/// [`LoopError::RecipientFreeCycle`] when a cycle runs through sent, failed or not-opened events only.
pub fn check(config: &Automation<'_>) -> Result<Graph, LoopError> {
    let graph = Graph::build(config);
    match graph.recipient_free_cycle() {
        Some(cycle) => Err(LoopError::RecipientFreeCycle(cycle)),
        None => Ok(graph),
    }
}

/// A duration as the widget writes it: `24h`, `90min`, `2d` is `48h`, `30s`.
struct Span(Duration);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs > 0 && secs.is_multiple_of(3600) {
            write!(f, "{}h", secs / 3600)
        } else if secs > 0 && secs.is_multiple_of(60) {
            write!(f, "{}min", secs / 60)
        } else if self.0.subsec_nanos() == 0 {
            write!(f, "{secs}s")
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

/// What an automatic send belongs to: the mailing, or the single email, that started its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    /// Started by an email of a mass mailing.
    Mailing(MailingId),
    /// Started by this single email (sent by hand, by a pipeline rule or by the API).
    Email(EmailId),
}

/// An automatic send (made by a trigger) that was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoSend {
    /// The entity it went to.
    pub entity: EntityRef,
    /// The chain it belongs to.
    pub chain: Chain,
    /// When it was made.
    pub at: Timestamp,
}

/// The run-time cap on automatic sends per entity and chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// At most this many automatic sends … (default 3)
    pub max_sends: u32,
    /// … in any window this long (default 24 hours).
    pub window: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_sends: 3,
            window: Duration::from_secs(24 * 3600),
        }
    }
}

/// The budget's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetDecision {
    /// Send; `used` automatic sends of this entity and chain were made in the window before.
    Allowed {
        /// Sends already in the window.
        used: u32,
    },
    /// Do not send; record a `SendSkipped` event with this as the reason.
    OverBudget(OverBudget),
}

/// A refused automatic send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("loop budget spent: {used} automatic sends to this entity in the last {window:?} (limit {limit})")]
pub struct OverBudget {
    /// Sends in the window.
    pub used: u32,
    /// The limit.
    pub limit: u32,
    /// The window.
    pub window: Duration,
    /// The first moment a send would be allowed again.
    pub allowed_again_at: Timestamp,
}

impl Budget {
    /// May one more automatic send go to `entity` in `chain` at `now`? `recent` is the automatic sends the
    /// store knows of (any entity and chain, any age; only this entity and chain within the window, ends
    /// included, count). Any closed window of `window` length then holds at most `max_sends` automatic
    /// sends per entity and chain.
    pub fn check(&self, entity: EntityRef, chain: Chain, now: Timestamp, recent: &[AutoSend]) -> BudgetDecision {
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
        let since = now
            .checked_sub_signed(window)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let mut inside: Vec<Timestamp> = recent
            .iter()
            .filter(|s| s.entity == entity && s.chain == chain && s.at >= since && s.at <= now)
            .map(|s| s.at)
            .collect();
        let used = u32::try_from(inside.len()).unwrap_or(u32::MAX);
        if used < self.max_sends {
            return BudgetDecision::Allowed { used };
        }
        inside.sort_unstable();
        // The window must lose `used - max_sends + 1` sends; the last of those leaves it just after its time.
        let nth = (used - self.max_sends) as usize;
        let leaves = inside.get(nth).copied().unwrap_or(now);
        let allowed_again_at = leaves
            .checked_add_signed(window)
            .and_then(|t| t.checked_add_signed(chrono::Duration::nanoseconds(1)))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        BudgetDecision::OverBudget(OverBudget {
            used,
            limit: self.max_sends,
            window: self.window,
            allowed_again_at,
        })
    }
}
