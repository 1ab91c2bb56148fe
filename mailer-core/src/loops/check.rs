//! The save-time check: the automation graph and the cycles that run without the recipient.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use crate::model::{
    Action, EntityKind, PipelineRule, PipelineRuleId, StageEvent, Template, TemplateId, Trigger, TriggerId,
    TriggerLink, TriggerLinkId, WebPage, WebPageId,
};
use crate::template::tokens;

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
    /// The recipient replied.
    Replied,
}

impl Via {
    /// False for sent, failed and not opened: they happen whatever the recipient does.
    pub fn needs_recipient(self) -> bool {
        matches!(
            self,
            Self::Opened | Self::LinkClicked(_) | Self::PageOpened(_) | Self::Replied
        )
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
            Self::Replied => f.write_str("replied"),
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
    /// It changes the lead's tags, and a pipeline rule on tag changes (in whatever stage the lead is)
    /// sends the template.
    TagsRule(PipelineRuleId),
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SendEmail => f.write_str("send email"),
            Self::StageRule(rule) => write!(f, "change stage, pipeline rule {rule}"),
            Self::NewLeadRule(rule) => write!(f, "create lead, pipeline rule {rule}"),
            Self::TagsRule(rule) => write!(f, "change tags, pipeline rule {rule}"),
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
        fired.push((Via::Replied, &on.on_replied));
        let links = tokens::links_in(&template.content);
        for link in &links {
            if let Some(l) = config.links.iter().find(|l| l.id == *link) {
                fired.push((Via::LinkClicked(l.id), &l.triggers));
            }
        }
        // Pages the recipient can reach: named in the content, or written into a field by a trigger.
        let mut pages: BTreeSet<WebPageId> = tokens::pages_in(&template.content).into_iter().collect();
        for (_, ids) in &fired {
            for trigger in ids.iter().filter_map(|id| config.triggers.iter().find(|t| t.id == *id)) {
                if let Action::ChangeField { value, .. } = &trigger.action {
                    pages.extend(tokens::pages_in_text(value));
                }
            }
        }
        for page in pages.iter().filter_map(|p| config.pages.iter().find(|w| w.id == *p)) {
            fired.push((Via::PageOpened(page.id), &page.on_open));
            for link in tokens::links_in(&page.content) {
                if !links.contains(&link)
                    && let Some(l) = config.links.iter().find(|l| l.id == link)
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
        // The lead may be in any stage when its tags change: every rule on tag changes is reachable.
        Action::ChangeTags {
            entity: EntityKind::Lead,
            ..
        } => config
            .rules
            .iter()
            .filter(|r| r.on == StageEvent::TagsChanged)
            .map(|r| (Hop::TagsRule(r.id), r.template))
            .collect(),
        _ => Vec::new(),
    }
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
