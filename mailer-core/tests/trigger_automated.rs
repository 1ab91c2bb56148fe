//! The automated-hit classifier: one test per rule of its table, and the people it must let through.

#![allow(
    clippy::unwrap_used,
    reason = "fixture helpers outside #[test] fns panic on bad fixtures"
)]

use std::time::Duration;

use mailer_core::model::Timestamp;
use mailer_core::trigger::{
    AgentScope, AutomatedReason, AutomatedRules, Hit, HitKind, KNOWN_AGENTS, Verdict, classify,
};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/124.0.0.0 Safari/537.36";
const APPLE_MAIL: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)";
const OUTLOOK: &str = "Mozilla/4.0 (compatible; ms-office; MSOffice 16)";
const GMAIL_PROXY: &str = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
const YAHOO_PROXY: &str = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html";

fn sent() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2024-03-10T08:00:00Z")
        .unwrap()
        .to_utc()
}

fn at(secs: i64) -> Timestamp {
    sent() + chrono::Duration::seconds(secs)
}

/// A hit a minute after sending from a desktop browser: human unless a rule says otherwise.
fn hit(kind: HitKind, agent: &str) -> Hit<'_> {
    Hit {
        kind,
        at: at(60),
        sent_at: Some(sent()),
        user_agent: Some(agent),
        honeypot: false,
        honeypot_hits: &[],
    }
}

fn verdict(h: &Hit<'_>) -> Verdict {
    classify(&AutomatedRules::default(), h)
}

#[test]
fn people_in_browsers_and_mail_clients_are_human() {
    for agent in [CHROME, APPLE_MAIL, OUTLOOK] {
        for kind in [HitKind::Open, HitKind::Click, HitKind::PageOpen] {
            assert_eq!(verdict(&hit(kind, agent)), Verdict::Human, "{kind:?} by {agent}");
        }
    }
}

#[test]
fn rule_1_honeypot_link_is_automated() {
    let h = Hit {
        honeypot: true,
        ..hit(HitKind::Click, CHROME)
    };
    assert_eq!(verdict(&h), Verdict::Automated(AutomatedReason::Honeypot));
}

#[test]
fn rule_2_hits_near_a_honeypot_hit_are_automated_both_sides() {
    let honeypot = [at(60)];
    for (offset, automated) in [
        (-10, true),
        (-3, true),
        (0, true),
        (7, true),
        (10, true),
        (11, false),
        (-11, false),
    ] {
        let h = Hit {
            at: at(60 + offset),
            honeypot_hits: &honeypot,
            ..hit(HitKind::Click, CHROME)
        };
        assert_eq!(
            verdict(&h).is_automated(),
            automated,
            "click {offset}s from the honeypot hit"
        );
    }
    let h = Hit {
        at: at(63),
        honeypot_hits: &honeypot,
        ..hit(HitKind::Open, CHROME)
    };
    assert_eq!(
        verdict(&h),
        Verdict::Automated(AutomatedReason::NearHoneypot {
            distance: Duration::from_secs(3)
        })
    );
}

#[test]
fn rule_2_window_is_configurable() {
    let rules = AutomatedRules {
        honeypot_window: Duration::from_secs(30),
        ..AutomatedRules::default()
    };
    let honeypot = [at(60)];
    let h = Hit {
        at: at(85),
        honeypot_hits: &honeypot,
        ..hit(HitKind::Click, CHROME)
    };
    assert!(classify(&rules, &h).is_automated());
    assert!(!verdict(&h).is_automated(), "default window is 10 s");
}

#[test]
fn rule_3_missing_or_empty_user_agent_is_automated() {
    for agent in [None, Some(""), Some("   ")] {
        let h = Hit {
            user_agent: agent,
            ..hit(HitKind::Click, CHROME)
        };
        assert_eq!(
            verdict(&h),
            Verdict::Automated(AutomatedReason::NoUserAgent),
            "{agent:?}"
        );
    }
}

#[test]
fn rule_4_link_scanners_are_automated_for_opens_and_clicks() {
    let samples = [
        (
            "Mozilla/5.0 (compatible; SafeLinks/1.0)",
            "Microsoft Defender Safe Links",
        ),
        ("Microsoft Office Existence Discovery", "Microsoft Office link check"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) BingPreview/1.0b",
            "Microsoft Bing link preview",
        ),
        ("Barracuda Sentinel (EE)", "Barracuda"),
        ("Mimecast-URL-Protect/1.0", "Mimecast"),
        ("Proofpoint URL Defense", "Proofpoint"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36",
            "headless Chrome",
        ),
        ("python-requests/2.31.0", "Python requests"),
        ("curl/8.4.0", "curl"),
        ("Go-http-client/1.1", "Go net/http"),
        ("facebookexternalhit/1.1", "Facebook / WhatsApp preview"),
        ("WhatsApp/2.23.20.0 A", "WhatsApp preview"),
        ("TelegramBot (like TwitterBot)", "Telegram preview"),
        (
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Slack preview",
        ),
    ];
    for (agent, name) in samples {
        for kind in [HitKind::Open, HitKind::Click, HitKind::PageOpen] {
            assert_eq!(
                verdict(&hit(kind, agent)),
                Verdict::Automated(AutomatedReason::KnownAgent { name }),
                "{kind:?} by {agent}"
            );
        }
    }
}

#[test]
fn rule_4_apple_privacy_prefetch_is_the_bare_agent_only() {
    for agent in ["Mozilla/5.0", " mozilla/5.0 "] {
        assert_eq!(
            verdict(&hit(HitKind::Open, agent)),
            Verdict::Automated(AutomatedReason::KnownAgent {
                name: "Apple Mail Privacy Protection"
            })
        );
    }
    // Apple Mail itself, with its full WebKit agent, is a person.
    assert_eq!(verdict(&hit(HitKind::Open, APPLE_MAIL)), Verdict::Human);
}

#[test]
fn rule_5_image_proxies_open_for_people_but_never_click() {
    for (agent, name) in [
        (GMAIL_PROXY, "Gmail image proxy"),
        (YAHOO_PROXY, "Yahoo/AOL mail proxy"),
    ] {
        assert_eq!(
            verdict(&hit(HitKind::Open, agent)),
            Verdict::Human,
            "open through {name}"
        );
        for kind in [HitKind::Click, HitKind::PageOpen] {
            assert_eq!(
                verdict(&hit(kind, agent)),
                Verdict::Automated(AutomatedReason::KnownAgent { name }),
                "{kind:?} through {name}"
            );
        }
    }
}

#[test]
fn rule_6_extra_agents_are_matched_case_insensitively() {
    let rules = AutomatedRules {
        extra_agents: vec!["AcmeScanner".into(), "  ".into()],
        ..AutomatedRules::default()
    };
    let h = hit(HitKind::Click, "Mozilla/5.0 acmescanner/2.0");
    assert_eq!(
        classify(&rules, &h),
        Verdict::Automated(AutomatedReason::ExtraAgent {
            needle: "AcmeScanner".into()
        })
    );
    // A blank entry matches nothing.
    assert_eq!(classify(&rules, &hit(HitKind::Click, CHROME)), Verdict::Human);
}

#[test]
fn rule_7_too_soon_after_sending_is_automated() {
    for (secs, automated) in [(0, true), (4, true), (5, false), (6, false)] {
        let h = Hit {
            at: at(secs),
            ..hit(HitKind::Click, CHROME)
        };
        assert_eq!(verdict(&h).is_automated(), automated, "{secs}s after sending");
    }
    let h = Hit {
        at: at(2),
        ..hit(HitKind::Open, CHROME)
    };
    assert_eq!(
        verdict(&h),
        Verdict::Automated(AutomatedReason::TooSoon {
            after: Duration::from_secs(2)
        })
    );
}

#[test]
fn rule_7_a_hit_before_sending_is_too_soon() {
    let h = Hit {
        at: at(-30),
        ..hit(HitKind::Click, CHROME)
    };
    assert_eq!(
        verdict(&h),
        Verdict::Automated(AutomatedReason::TooSoon { after: Duration::ZERO })
    );
}

#[test]
fn rule_7_delay_is_configurable_and_absent_without_a_send_time() {
    let rules = AutomatedRules {
        min_delay: Duration::from_secs(30),
        ..AutomatedRules::default()
    };
    let h = Hit {
        at: at(20),
        ..hit(HitKind::Click, CHROME)
    };
    assert!(classify(&rules, &h).is_automated());
    assert!(!verdict(&h).is_automated());
    let page = Hit {
        sent_at: None,
        at: at(0),
        ..hit(HitKind::PageOpen, CHROME)
    };
    assert_eq!(
        verdict(&page),
        Verdict::Human,
        "a page has no send time to be too soon after"
    );
}

#[test]
fn rules_apply_in_table_order() {
    // A honeypot click by curl, too soon: the honeypot rule speaks first.
    let h = Hit {
        honeypot: true,
        at: at(1),
        ..hit(HitKind::Click, "curl/8.0")
    };
    assert_eq!(verdict(&h), Verdict::Automated(AutomatedReason::Honeypot));
    // A known agent, too soon: the agent is named.
    let h = Hit {
        at: at(1),
        ..hit(HitKind::Click, "curl/8.0")
    };
    assert_eq!(
        verdict(&h),
        Verdict::Automated(AutomatedReason::KnownAgent { name: "curl" })
    );
}

#[test]
fn known_agent_needles_are_lowercase_and_only_proxies_are_clicks_only() {
    for agent in KNOWN_AGENTS {
        assert_eq!(agent.needle, agent.needle.to_ascii_lowercase(), "{agent:?}");
        assert!(!agent.name.is_empty());
        if agent.scope == AgentScope::ClicksOnly {
            assert!(
                agent.name.contains("proxy"),
                "only image proxies may count opens: {agent:?}"
            );
        }
    }
}

#[test]
fn a_reason_reads_as_a_sentence() {
    let r = AutomatedReason::KnownAgent { name: "Mimecast" };
    assert_eq!(r.to_string(), "known automated agent: Mimecast");
}
