//! Quick start: an account, a mailbox and a template in the in-memory store; three emails queued for one
//! mailbox with a 1-second spacing; a worker loop on a manual clock that claims them, "sends" each through
//! the capturing transport and completes it. It prints the schedule the queue produced.
//!
//! Run with:
//! ```sh
//! cargo run --example quickstart --features testkit
//! ```

use std::time::Duration;

use mailer::model::{Address, WorkerId};
use mailer::ports::{Clock, OutgoingMessage, Store, StoreExt, Transport};
use mailer::testkit::{CaptureTransport, ManualClock, MemoryStore, StoreFixture, block_on};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let transport = CaptureTransport::new();
    let clock = ManualClock::at_default_start();
    let fx = StoreFixture::new(&store).await;
    println!(
        "account {} with mailbox {} ({})",
        fx.account.id, fx.mailbox.id, fx.mailbox.from
    );

    for to in ["anna@example.com", "boris@example.com", "carla@example.com"] {
        store.enqueue_one(fx.email(&fx.mailbox, to)).await?;
    }
    let worker = WorkerId::new("quickstart");
    while transport.sent_count() < 3 {
        for claimed in store
            .claim_due(&worker, clock.now(), 10, Duration::from_secs(60))
            .await?
        {
            let email = &claimed.email;
            let message = OutgoingMessage {
                message_id: email.spec.message_id.clone(),
                date: clock.now(),
                from: fx.mailbox.from.clone(),
                reply_to: None,
                to: email.spec.to.clone(),
                cc: Vec::new(),
                bcc: Vec::new(),
                subject: email.spec.content.subject.clone(),
                html: email.spec.content.body.source().to_owned(),
                text: String::new(),
                attachments: Vec::new(),
                unsubscribe_url: None,
            };
            let delivery = transport.send(&fx.mailbox, &message).await?;
            store
                .complete(email.spec.account, email.id, &worker, clock.now())
                .await?;
            let to: Vec<&str> = email.spec.to.iter().map(|a: &Address| a.email.as_str()).collect();
            println!(
                "{}  email {} to {:?}: {}",
                clock.now().format("%H:%M:%S%.3f"),
                email.id,
                to,
                delivery.response
            );
        }
        clock.advance(Duration::from_millis(250));
    }
    let state = store.mailbox_state(fx.account.id, fx.mailbox.id, clock.now()).await?;
    println!(
        "mailbox {} sent {} in its window; spacing kept at 1 s",
        fx.mailbox.id, state.sent_in_window
    );
    Ok(())
}
