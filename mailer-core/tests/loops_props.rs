//! Property tests of loop safety: random configurations of templates, triggers and links, simulated over
//! weeks with a small event loop built from the pure functions of `trigger` and `loops`.
//!
//! (a) For a configuration the validator accepts, a recipient who never acts stops receiving email. The
//!     last send of such a recipient comes at most (templates − 1) hops after the first, a hop being a
//!     not-opened timer plus a trigger delay (≤ 10 + 10 days); so with up to 2 templates the count after
//!     30 days equals the count after 60 days, and in general the count after H equals the count after
//!     2H, H = max(30 days, (templates − 1) × 20 days).
//! (b) A recipient who opens and clicks everything at once receives at most budget + 1 emails (the budget's
//!     automatic sends plus the email that started the chain) in any 24-hour window.
//! (c) The validator accepts exactly the configurations whose graph has no recipient-free cycle (checked
//!     against an independent transitive closure), and a refused configuration's cycle is a real one.

#![allow(
    clippy::unwrap_used,
    reason = "fixture helpers outside #[test] fns panic on bad fixtures"
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::time::Duration;

use mailer_core::loops::{AutoSend, Automation, Budget, BudgetDecision, Chain, LoopError, Via, check};
use mailer_core::model::{
    AccountId, Action, Body, Content, EmailId, EmailTriggers, EntityRef, NotOpened, RecipientRule, Template,
    TemplateId, Timestamp, Timezone, Trigger, TriggerId, TriggerLink, TriggerLinkId, UserId,
};
use mailer_core::trigger::{
    ActionContext, Fired, Launch, Occurrence, Resolved, Targets, launch, once_key, resolve, timer_key_not_opened,
};
use proptest::prelude::*;

const ACCOUNT: AccountId = AccountId(1);
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

// ---- random configurations ----

#[derive(Debug, Clone)]
struct GenTemplate {
    on_sent: Vec<usize>,
    on_opened: Vec<usize>,
    not_opened: Option<(u64, Vec<usize>)>,
    on_failed: Vec<usize>,
    links: Vec<usize>,
    /// Every send of this template fails (so its failed triggers run).
    fails: bool,
}

#[derive(Debug, Clone)]
struct GenTrigger {
    /// Sends this template (index), or adds a note.
    sends: Option<usize>,
    delay: u64,
}

#[derive(Debug, Clone)]
struct Gen {
    templates: Vec<GenTemplate>,
    triggers: Vec<GenTrigger>,
    links: Vec<(bool, Vec<usize>)>,
}

fn idx_list() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..16, 0..=2)
}

fn delay() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), 1..=HOUR, 1..=10 * DAY]
}

fn timer() -> impl Strategy<Value = u64> {
    prop_oneof![60..=HOUR, 60..=10 * DAY]
}

fn gen_config() -> impl Strategy<Value = Gen> {
    let template = (
        idx_list(),
        idx_list(),
        prop::option::weighted(0.5, (timer(), idx_list())),
        idx_list(),
        prop::collection::vec(0usize..16, 0..=2),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(on_sent, on_opened, not_opened, on_failed, links, fails)| GenTemplate {
                on_sent,
                on_opened,
                not_opened,
                on_failed,
                links,
                fails,
            },
        );
    let trigger =
        (prop::option::weighted(0.6, 0usize..16), delay()).prop_map(|(sends, delay)| GenTrigger { sends, delay });
    (
        prop::collection::vec(template, 1..=4),
        prop::collection::vec(trigger, 1..=6),
        prop::collection::vec((any::<bool>(), idx_list()), 0..=2),
    )
        .prop_map(|(templates, triggers, links)| Gen {
            templates,
            triggers,
            links,
        })
}

/// The configuration as model records.
struct Config {
    templates: Vec<Template>,
    triggers: Vec<Trigger>,
    links: Vec<TriggerLink>,
    failing: HashSet<TemplateId>,
}

impl Config {
    fn from_gen(g: &Gen) -> Self {
        let nt = g.templates.len();
        let ng = g.triggers.len();
        let tid = |i: usize| TemplateId(i64::try_from(i % nt).unwrap() + 1);
        let gid = |i: &usize| TriggerId(i64::try_from(i % ng).unwrap() + 1);
        let gids = |v: &[usize]| v.iter().map(gid).collect::<Vec<_>>();
        let triggers = g
            .triggers
            .iter()
            .enumerate()
            .map(|(i, t)| Trigger {
                id: TriggerId(i64::try_from(i).unwrap() + 1),
                account: ACCOUNT,
                name: format!("trigger {}", i + 1),
                action: match t.sends {
                    Some(to) => Action::SendEmail { template: tid(to) },
                    None => Action::AddNote { text: "note".into() },
                },
                delay: Duration::from_secs(t.delay),
            })
            .collect();
        let links: Vec<TriggerLink> = g
            .links
            .iter()
            .enumerate()
            .map(|(i, (once, ts))| TriggerLink {
                id: TriggerLinkId(i64::try_from(i).unwrap() + 1),
                account: ACCOUNT,
                name: format!("link {}", i + 1),
                once: *once,
                redirect: None,
                triggers: gids(ts),
            })
            .collect();
        let templates = g
            .templates
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let body: String = if links.is_empty() {
                    String::new()
                } else {
                    t.links
                        .iter()
                        .map(|l| format!(r#"<a href="{{triggerlink:{}}}">x</a>"#, l % links.len() + 1))
                        .collect()
                };
                Template {
                    id: tid(i),
                    account: ACCOUNT,
                    name: format!("T{}", i + 1),
                    recipients: RecipientRule::EntityContacts,
                    content: Content {
                        subject: "s".into(),
                        body: Body::Html(body),
                        text: None,
                    },
                    attachments: vec![],
                    triggers: EmailTriggers {
                        on_sent: gids(&t.on_sent),
                        on_opened: gids(&t.on_opened),
                        not_opened: t.not_opened.as_ref().map(|(after, ts)| NotOpened {
                            after: Duration::from_secs(*after),
                            triggers: gids(ts),
                        }),
                        on_failed: gids(&t.on_failed),
                        on_replied: Vec::new(),
                    },
                    owner: UserId(1),
                    public: true,
                    signature_disabled: false,
                }
            })
            .collect();
        let failing = g
            .templates
            .iter()
            .enumerate()
            .filter(|(_, t)| t.fails)
            .map(|(i, _)| tid(i))
            .collect();
        Self {
            templates,
            triggers,
            links,
            failing,
        }
    }

    fn automation(&self) -> Automation<'_> {
        Automation {
            templates: &self.templates,
            triggers: &self.triggers,
            links: &self.links,
            ..Automation::default()
        }
    }

    fn template(&self, id: TemplateId) -> &Template {
        self.templates.iter().find(|t| t.id == id).unwrap()
    }
}

// ---- the simulator ----

#[derive(Debug, Clone)]
enum Ev {
    Send { template: TemplateId, automatic: bool },
    Open { email: EmailId },
    Click { link: TriggerLinkId },
    NotOpenedDue { email: EmailId, key: String },
    RunTrigger { trigger: TriggerId },
}

struct Sim<'a> {
    config: &'a Config,
    budget: Budget,
    active: bool,
    queue: BTreeMap<(Timestamp, u64), Ev>,
    seq: u64,
    once: HashSet<String>,
    timers: HashMap<String, Timestamp>,
    opened: HashSet<EmailId>,
    email_template: Vec<TemplateId>,
    auto_sends: Vec<AutoSend>,
    /// When the recipient received an email.
    received: Vec<Timestamp>,
}

const ENTITY: EntityRef = EntityRef {
    kind: mailer_core::model::EntityKind::Lead,
    id: mailer_core::model::CrmId(1),
};
const CHAIN: Chain = Chain::Email(EmailId(1));

fn start() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

fn plus(at: Timestamp, secs: u64) -> Timestamp {
    at + chrono::Duration::seconds(i64::try_from(secs).unwrap())
}

impl<'a> Sim<'a> {
    fn new(config: &'a Config, budget: Budget, active: bool) -> Self {
        Self {
            config,
            budget,
            active,
            queue: BTreeMap::new(),
            seq: 0,
            once: HashSet::new(),
            timers: HashMap::new(),
            opened: HashSet::new(),
            email_template: Vec::new(),
            auto_sends: Vec::new(),
            received: Vec::new(),
        }
    }

    fn push(&mut self, at: Timestamp, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    /// Sends the first template at the start and runs every event up to `until`.
    fn run(mut self, until: Timestamp) -> Vec<Timestamp> {
        self.push(
            start(),
            Ev::Send {
                template: self.config.templates[0].id,
                automatic: false,
            },
        );
        while let Some(((at, _), ev)) = self.queue.pop_first() {
            if at > until {
                break;
            }
            self.step(at, ev);
        }
        self.received
    }

    fn apply(&mut self, launch: Launch) {
        assert!(
            launch.missing.is_empty(),
            "generated configurations reference only existing triggers"
        );
        for s in launch.run {
            self.push(s.run_at, Ev::RunTrigger { trigger: s.trigger });
        }
        if let Some(key) = launch.cancel_timer {
            self.timers.remove(&key);
        }
        if let Some(timer) = launch.set_timer {
            let mailer_core::model::TimerAction::NotOpened { email } = timer.action else {
                panic!("unexpected timer {timer:?}")
            };
            self.timers.insert(timer.key.clone(), timer.due_at);
            self.push(timer.due_at, Ev::NotOpenedDue { email, key: timer.key });
        }
    }

    fn fire(&mut self, occurrence: &Occurrence<'_>, at: Timestamp, mut fired: Fired) {
        if let Some(key) = once_key(occurrence) {
            let first = self.once.insert(key);
            fired = Fired::from_mark_once(occurrence, first);
        }
        let out = launch(ACCOUNT, occurrence, at, fired, &self.config.triggers).unwrap();
        self.apply(out);
    }

    fn step(&mut self, at: Timestamp, ev: Ev) {
        let config = self.config;
        match ev {
            Ev::Send { template, automatic } => {
                if automatic {
                    match self.budget.check(ENTITY, CHAIN, at, &self.auto_sends) {
                        BudgetDecision::Allowed { .. } => self.auto_sends.push(AutoSend {
                            entity: ENTITY,
                            chain: CHAIN,
                            at,
                        }),
                        BudgetDecision::OverBudget(_) => return,
                    }
                }
                let email = EmailId(i64::try_from(self.email_template.len()).unwrap() + 1);
                self.email_template.push(template);
                let t = config.template(template);
                if config.failing.contains(&template) {
                    let occ = Occurrence::Failed {
                        email,
                        triggers: &t.triggers,
                        reason: "rejected",
                    };
                    self.fire(&occ, at, Fired::NOTHING);
                    return;
                }
                self.received.push(at);
                let occ = Occurrence::Sent {
                    email,
                    triggers: &t.triggers,
                };
                self.fire(&occ, at, Fired::NOTHING);
                if self.active {
                    // "At once": a minute later, past the too-soon rule of the classifier.
                    let then = plus(at, 60);
                    self.push(then, Ev::Open { email });
                    for link in &config.links {
                        if t.content
                            .body
                            .source()
                            .contains(&format!("{{triggerlink:{}}}", link.id))
                        {
                            self.push(then, Ev::Click { link: link.id });
                        }
                    }
                }
            }
            Ev::Open { email } => {
                self.opened.insert(email);
                let t = config.template(self.email_template[usize::try_from(email.0 - 1).unwrap()]);
                let occ = Occurrence::Opened {
                    email,
                    triggers: &t.triggers,
                };
                self.fire(&occ, at, Fired::NOTHING);
            }
            Ev::Click { link, .. } => {
                let link = config.links.iter().find(|l| l.id == link).unwrap();
                let occ = Occurrence::LinkClicked { link, entity: ENTITY };
                self.fire(&occ, at, Fired::NOTHING);
            }
            Ev::NotOpenedDue { email, key } => {
                if self.timers.get(&key) != Some(&at) {
                    return; // cancelled by an open
                }
                self.timers.remove(&key);
                assert_eq!(key, timer_key_not_opened(email));
                let t = config.template(self.email_template[usize::try_from(email.0 - 1).unwrap()]);
                let occ = Occurrence::NotOpened {
                    email,
                    triggers: &t.triggers,
                };
                let fired = Fired {
                    already_opened: self.opened.contains(&email),
                    ..Fired::NOTHING
                };
                self.fire(&occ, at, fired);
            }
            Ev::RunTrigger { trigger } => {
                let trigger = config.triggers.iter().find(|t| t.id == trigger).unwrap();
                let ctx = ActionContext {
                    targets: Targets::of(ENTITY),
                    fields: &[],
                    timezone: Timezone::UTC,
                    now: at,
                };
                let done = resolve(&trigger.action, &ctx, |s: &str| Ok::<_, Infallible>(s.to_owned())).unwrap();
                if let Resolved::SendTemplate(template) = done {
                    self.push(
                        at,
                        Ev::Send {
                            template,
                            automatic: true,
                        },
                    );
                }
            }
        }
    }
}

fn count_until(received: &[Timestamp], until: Timestamp) -> usize {
    received.iter().filter(|t| **t <= until).count()
}

/// The recipient-free template graph by transitive closure, written independently of `loops`.
fn has_recipient_free_cycle(config: &Config) -> bool {
    let n = config.templates.len();
    let index = |id: TemplateId| config.templates.iter().position(|t| t.id == id);
    let mut reach = vec![vec![false; n]; n];
    for (i, t) in config.templates.iter().enumerate() {
        let on = &t.triggers;
        let ids = on
            .on_sent
            .iter()
            .chain(&on.on_failed)
            .chain(on.not_opened.iter().flat_map(|n| &n.triggers));
        for id in ids {
            if let Some(Action::SendEmail { template }) =
                config.triggers.iter().find(|g| g.id == *id).map(|g| &g.action)
                && let Some(j) = index(*template)
            {
                reach[i][j] = true;
            }
        }
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if reach[i][k] && reach[k][j] {
                    reach[i][j] = true;
                }
            }
        }
    }
    (0..n).any(|i| reach[i][i])
}

fn triggers_for(t: &Template, via: Via) -> Vec<TriggerId> {
    match via {
        Via::Sent => t.triggers.on_sent.clone(),
        Via::Failed => t.triggers.on_failed.clone(),
        Via::NotOpened(after) => t
            .triggers
            .not_opened
            .iter()
            .filter(|n| n.after == after)
            .flat_map(|n| n.triggers.clone())
            .collect(),
        other => panic!("recipient step {other:?} in a recipient-free cycle"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_recipient_who_never_acts_stops_receiving(g in gen_config()) {
        let config = Config::from_gen(&g);
        prop_assume!(check(&config.automation()).is_ok());
        let hops = u64::try_from(config.templates.len()).unwrap() - 1;
        let horizon = (30 * DAY).max(hops * 20 * DAY);
        let received = Sim::new(&config, Budget::default(), false).run(plus(start(), 2 * horizon));
        let at_h = count_until(&received, plus(start(), horizon));
        let at_2h = received.len();
        prop_assert_eq!(at_h, at_2h, "still receiving after {} days: {:?}", horizon / DAY, received);
        prop_assert!(at_h >= usize::from(!config.failing.contains(&config.templates[0].id)));
    }

    #[test]
    fn an_eager_recipient_gets_at_most_budget_plus_one_a_day(g in gen_config(), max_sends in 1u32..=4) {
        let config = Config::from_gen(&g);
        prop_assume!(check(&config.automation()).is_ok());
        let budget = Budget { max_sends, window: Duration::from_secs(DAY) };
        let mut received = Sim::new(&config, budget, true).run(plus(start(), 30 * DAY));
        received.sort();
        for (i, from) in received.iter().enumerate() {
            let to = plus(*from, DAY);
            let in_window = received[i..].iter().take_while(|t| **t <= to).count();
            prop_assert!(
                in_window <= max_sends as usize + 1,
                "{} emails in the 24 h from {}: {:?}", in_window, from, received
            );
        }
    }

    #[test]
    fn the_validator_refuses_exactly_the_recipient_free_cycles(g in gen_config()) {
        let config = Config::from_gen(&g);
        let result = check(&config.automation());
        prop_assert_eq!(result.is_err(), has_recipient_free_cycle(&config), "{:?}", result.as_ref().err());
        if let Err(LoopError::RecipientFreeCycle(cycle)) = result {
            let steps = &cycle.steps;
            prop_assert!(!steps.is_empty());
            for (i, step) in steps.iter().enumerate() {
                let e = step.edge;
                prop_assert!(!e.via.needs_recipient(), "{}", cycle);
                let next = &steps[(i + 1) % steps.len()];
                prop_assert_eq!(e.to, next.edge.from, "{}", cycle);
                let from = config.template(e.from);
                prop_assert!(triggers_for(from, e.via).contains(&e.trigger), "{}", cycle);
                let trigger = config.triggers.iter().find(|t| t.id == e.trigger).unwrap();
                prop_assert_eq!(&trigger.action, &Action::SendEmail { template: e.to }, "{}", cycle);
            }
        }
    }
}

#[test]
fn the_generator_makes_both_accepted_and_refused_configurations() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..400 {
        let g = gen_config().new_tree(&mut runner).unwrap().current();
        if check(&Config::from_gen(&g).automation()).is_ok() {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(accepted > 100 && refused > 40, "accepted {accepted}, refused {refused}");
}

#[test]
fn the_simulator_reproduces_the_manual_loop_and_the_budget_stops_it() {
    // Offer, not opened in 24 h → send Offer again: refused at save time; if it ran anyway, a silent
    // recipient would get one a day forever, and the budget alone would not stop it.
    let g = Gen {
        templates: vec![GenTemplate {
            on_sent: vec![],
            on_opened: vec![],
            not_opened: Some((DAY, vec![0])),
            on_failed: vec![],
            links: vec![],
            fails: false,
        }],
        triggers: vec![GenTrigger {
            sends: Some(0),
            delay: 0,
        }],
        links: vec![],
    };
    let config = Config::from_gen(&g);
    assert!(check(&config.automation()).is_err());
    let received = Sim::new(&config, Budget::default(), false).run(plus(start(), 30 * DAY));
    assert_eq!(received.len(), 31, "one a day for 30 days, plus the first");
    // Sent → send the same template at once: three automatic sends pass, the fourth is not made, and with
    // no send there is no "sent" to go on from: the loop ends.
    let g = Gen {
        templates: vec![GenTemplate {
            on_sent: vec![0],
            not_opened: None,
            ..g.templates[0].clone()
        }],
        ..g
    };
    let config = Config::from_gen(&g);
    let received = Sim::new(&config, Budget::default(), false).run(plus(start(), 2 * DAY));
    assert_eq!(received.len(), 1 + 3, "budget per 24 h: {received:?}");
}
