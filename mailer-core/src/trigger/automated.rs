//! Telling automated opens and clicks (link scanners, image proxies, prefetchers) from people.
//!
//! An automated hit is recorded (with `automated: true`) but fires no trigger and cancels no timer: a mail
//! firewall that fetches every URL must not move a lead.
//!
//! # Rule table
//! The rules are tried in this order; the first that matches decides.
//!
//! | # | rule | opens | clicks and page opens | why |
//! |---|---|---|---|---|
//! | 1 | the hit is on the hidden honeypot link | automated | automated | no person sees or clicks an invisible link; scanners follow every `href` |
//! | 2 | within [`AutomatedRules::honeypot_window`] (default ±10 s) of a honeypot hit of the same email | automated | automated | the scanner that took the honeypot fetched the rest in the same burst |
//! | 3 | no `User-Agent`, or an empty one | automated | automated | browsers and mail clients always send one; scripts and some gateways do not |
//! | 4 | a [`KNOWN_AGENTS`] entry of scope [`AgentScope::Always`] | automated | automated | link scanners, link-preview bots, HTTP libraries, headless browsers, Apple Mail Privacy Protection's prefetch |
//! | 5 | a [`KNOWN_AGENTS`] entry of scope [`AgentScope::ClicksOnly`] | human | automated | mail image proxies (Gmail, Yahoo/AOL) load the pixel when a person displays the message, so their open is real; they never follow a link for a person |
//! | 6 | an [`AutomatedRules::extra_agents`] substring | automated | automated | the host's own list |
//! | 7 | sooner than [`AutomatedRules::min_delay`] (default 5 s) after sending, or before it | automated | automated | gateways scan on delivery, before any person can read |
//! | – | anything else | human | human | |
//!
//! Agent matching is a case-insensitive substring search, except Apple's prefetch, whose agent is the bare
//! `Mozilla/5.0` and is matched exactly. Scanners that pose as ordinary browsers get past rules 3–6; rules
//! 1, 2 and 7 are there for them.

use std::time::Duration;

use crate::model::Timestamp;

/// What kind of request the hit was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    /// The open pixel was loaded.
    Open,
    /// A trigger link was followed.
    Click,
    /// A public web page was loaded.
    PageOpen,
}

/// One tracking request, as the HTTP host saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a> {
    /// Open, click or page.
    pub kind: HitKind,
    /// When it came.
    pub at: Timestamp,
    /// When the email was sent, if the hit belongs to one.
    pub sent_at: Option<Timestamp>,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// The hit is on the email's hidden honeypot link.
    pub honeypot: bool,
    /// When the honeypot link of the same email was hit before (from its events).
    pub honeypot_hits: &'a [Timestamp],
}

/// The tunable parts of the classifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomatedRules {
    /// Hits sooner than this after sending are automated (default 5 s).
    pub min_delay: Duration,
    /// Hits this close to a honeypot hit of the same email, before or after, are automated (default 10 s).
    pub honeypot_window: Duration,
    /// More user-agent substrings (matched case-insensitively) that mark a hit automated.
    pub extra_agents: Vec<String>,
}

impl Default for AutomatedRules {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_secs(5),
            honeypot_window: Duration::from_secs(10),
            extra_agents: Vec::new(),
        }
    }
}

/// Which hits a known agent makes automated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentScope {
    /// Opens, clicks and page opens.
    Always,
    /// Clicks and page opens only: its opens are people's.
    ClicksOnly,
}

/// One known automated user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownAgent {
    /// Lowercase substring of the user agent (or the whole agent, when `exact`).
    pub needle: &'static str,
    /// The agent must equal `needle` (ignoring case and surrounding spaces) instead of containing it.
    pub exact: bool,
    /// Who it is.
    pub name: &'static str,
    /// Which hits it makes automated.
    pub scope: AgentScope,
}

const fn always(needle: &'static str, name: &'static str) -> KnownAgent {
    KnownAgent {
        needle,
        exact: false,
        name,
        scope: AgentScope::Always,
    }
}

/// The known automated user agents. Each entry names who sends it; see the module docs for the rules.
pub const KNOWN_AGENTS: &[KnownAgent] = &[
    // Apple Mail Privacy Protection fetches every remote image through Apple's proxies on delivery, with
    // the bare agent `Mozilla/5.0`, whether or not anyone reads the message. Apple Mail itself sends a
    // full WebKit agent, which is not matched.
    KnownAgent {
        needle: "mozilla/5.0",
        exact: true,
        name: "Apple Mail Privacy Protection",
        scope: AgentScope::Always,
    },
    // Image proxies that load the pixel when a person displays the message: a real open, never a click.
    KnownAgent {
        needle: "googleimageproxy",
        exact: false,
        name: "Gmail image proxy",
        scope: AgentScope::ClicksOnly,
    },
    KnownAgent {
        needle: "yahoomailproxy",
        exact: false,
        name: "Yahoo/AOL mail proxy",
        scope: AgentScope::ClicksOnly,
    },
    // Secure email gateways and link-protection services.
    always("safelinks", "Microsoft Defender Safe Links"),
    always("microsoft office existence discovery", "Microsoft Office link check"),
    always("bingpreview", "Microsoft Bing link preview"),
    always("barracuda", "Barracuda"),
    always("mimecast", "Mimecast"),
    always("proofpoint", "Proofpoint"),
    always("urldefense", "Proofpoint URL Defense"),
    always("ironport", "Cisco IronPort"),
    always("trendmicro", "Trend Micro"),
    always("trend micro", "Trend Micro"),
    always("symantec", "Symantec / Broadcom"),
    always("messagelabs", "Symantec MessageLabs"),
    always("sophos", "Sophos"),
    always("forcepoint", "Forcepoint"),
    always("fortiguard", "Fortinet"),
    always("hornetsecurity", "Hornetsecurity"),
    always("spamtitan", "SpamTitan"),
    // Link previews in messengers and social networks (web page links are often sent by messenger).
    always("facebookexternalhit", "Facebook / WhatsApp preview"),
    always("whatsapp", "WhatsApp preview"),
    always("telegrambot", "Telegram preview"),
    always("slackbot", "Slack preview"),
    always("discordbot", "Discord preview"),
    always("skypeuripreview", "Skype preview"),
    always("twitterbot", "X/Twitter preview"),
    always("linkedinbot", "LinkedIn preview"),
    always("vkshare", "VK preview"),
    // Search engine crawlers.
    always("googlebot", "Googlebot"),
    always("bingbot", "Bingbot"),
    always("yandexbot", "YandexBot"),
    // Headless browsers (sandboxes) and HTTP libraries.
    always("headlesschrome", "headless Chrome"),
    always("phantomjs", "PhantomJS"),
    always("python-requests", "Python requests"),
    always("python-urllib", "Python urllib"),
    always("aiohttp", "Python aiohttp"),
    always("curl/", "curl"),
    always("wget/", "Wget"),
    always("go-http-client", "Go net/http"),
    always("okhttp", "OkHttp"),
    always("java/", "Java HTTP client"),
    always("apache-httpclient", "Apache HttpClient"),
    always("libwww-perl", "Perl LWP"),
    always("node-fetch", "node-fetch"),
    always("axios/", "axios"),
];

/// Why a hit was judged automated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AutomatedReason {
    /// The hidden honeypot link was followed.
    Honeypot,
    /// Close to a honeypot hit of the same email.
    NearHoneypot {
        /// How far from it.
        distance: Duration,
    },
    /// No `User-Agent`, or an empty one.
    NoUserAgent,
    /// A known automated agent.
    KnownAgent {
        /// Who it is.
        name: &'static str,
    },
    /// One of the host's extra agent substrings.
    ExtraAgent {
        /// The substring that matched.
        needle: String,
    },
    /// Too soon after sending (or before it).
    TooSoon {
        /// Time since sending (zero when the hit came before).
        after: Duration,
    },
}

impl std::fmt::Display for AutomatedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Honeypot => f.write_str("hidden honeypot link followed"),
            Self::NearHoneypot { distance } => write!(f, "{distance:?} from a honeypot hit"),
            Self::NoUserAgent => f.write_str("no user agent"),
            Self::KnownAgent { name } => write!(f, "known automated agent: {name}"),
            Self::ExtraAgent { needle } => write!(f, "listed agent: {needle}"),
            Self::TooSoon { after } => write!(f, "{after:?} after sending"),
        }
    }
}

/// The classifier's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A person: record and fire triggers.
    Human,
    /// A machine: record as automated, fire nothing.
    Automated(AutomatedReason),
}

impl Verdict {
    /// True for [`Verdict::Automated`].
    pub fn is_automated(&self) -> bool {
        matches!(self, Self::Automated(_))
    }
}

/// Judges one hit by the rule table in the module docs.
pub fn classify(rules: &AutomatedRules, hit: &Hit<'_>) -> Verdict {
    classify_with_agent(rules, hit, agent_reason(rules, hit.user_agent, hit.kind))
}

/// [`classify`] with the user-agent rules already applied: `agent` is [`agent_reason`] of this hit's agent
/// and kind (a caller judging a batch of hits computes it once per agent).
pub(crate) fn classify_with_agent(rules: &AutomatedRules, hit: &Hit<'_>, agent: Option<AutomatedReason>) -> Verdict {
    match first_reason(rules, hit, agent) {
        Some(reason) => Verdict::Automated(reason),
        None => Verdict::Human,
    }
}

fn first_reason(rules: &AutomatedRules, hit: &Hit<'_>, agent: Option<AutomatedReason>) -> Option<AutomatedReason> {
    if hit.honeypot {
        return Some(AutomatedReason::Honeypot);
    }
    if let Some(distance) = hit.honeypot_hits.iter().map(|h| distance(*h, hit.at)).min()
        && distance <= rules.honeypot_window
    {
        return Some(AutomatedReason::NearHoneypot { distance });
    }
    if agent.is_some() {
        return agent;
    }
    if let Some(sent) = hit.sent_at {
        let after = (hit.at - sent).to_std().unwrap_or(Duration::ZERO);
        if hit.at < sent || after < rules.min_delay {
            return Some(AutomatedReason::TooSoon { after });
        }
    }
    None
}

/// The user-agent rules of the table alone, for a hit of `kind` with this `User-Agent`: none, a known
/// automated agent, or one of the rules' extra agents.
pub(crate) fn agent_reason(rules: &AutomatedRules, user_agent: Option<&str>, kind: HitKind) -> Option<AutomatedReason> {
    let is_open = kind == HitKind::Open;
    let agent = user_agent.map(str::trim).unwrap_or_default();
    if agent.is_empty() {
        return Some(AutomatedReason::NoUserAgent);
    }
    let lower = agent.to_ascii_lowercase();
    let known = KNOWN_AGENTS.iter().find(|k| {
        let matches = if k.exact {
            lower == k.needle
        } else {
            lower.contains(k.needle)
        };
        matches && (k.scope == AgentScope::Always || !is_open)
    });
    if let Some(k) = known {
        return Some(AutomatedReason::KnownAgent { name: k.name });
    }
    if let Some(extra) = rules
        .extra_agents
        .iter()
        .find(|e| !e.trim().is_empty() && lower.contains(&e.trim().to_ascii_lowercase()))
    {
        return Some(AutomatedReason::ExtraAgent { needle: extra.clone() });
    }
    None
}

fn distance(a: Timestamp, b: Timestamp) -> Duration {
    (a - b).abs().to_std().unwrap_or(Duration::MAX)
}
