#![allow(clippy::unwrap_used)]
//! E-mail notifications: nothing lost while the mail server is down, nothing sent twice once it
//! is back, and nothing personal in what arrives. Runs against every available store, with a
//! small in-process SMTP server as the mail relay.

use chrono::{Duration, Utc};
use frontdoor_store::testing;
use frontdoor_web::Config;
use frontdoor_web::notify::{self, DispatchReport, Mailer};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

// ---- an SMTP receiver, just enough of RFC 5321 for lettre ------------------------------------

/// One message as the relay received it.
#[derive(Debug, Clone)]
struct Received {
    rcpt_to: Vec<String>,
    headers: String,
    body: String,
}

type Inbox = Arc<Mutex<Vec<Received>>>;

/// Accept SMTP on `listener` until the test ends; every message accepted lands in the inbox.
fn smtp_receiver(listener: TcpListener) -> Inbox {
    let inbox = Inbox::default();
    let shared = inbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(smtp_session(socket, shared.clone()));
        }
    });
    inbox
}

async fn smtp_session(socket: tokio::net::TcpStream, inbox: Inbox) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut rcpt_to = Vec::new();
    write.write_all(b"220 relay.test ESMTP test relay\r\n").await.unwrap();
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 relay.test\r\n",
            "MAIL" => {
                rcpt_to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                let address = line.split_once('<').and_then(|(_, r)| r.split_once('>')).unwrap().0;
                rcpt_to.push(address.to_owned());
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await.unwrap();
                let mut data = Vec::new();
                while let Some(l) = lines.next_line().await.unwrap() {
                    if l == "." {
                        break;
                    }
                    // Undo dot-stuffing.
                    data.push(l.strip_prefix('.').map(str::to_owned).unwrap_or(l));
                }
                let blank = data.iter().position(|l| l.is_empty()).unwrap();
                inbox.lock().unwrap().push(Received {
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    headers: data[..blank].join("\n"),
                    body: data[blank + 1..].join("\n"),
                });
                b"250 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await.unwrap();
                return;
            }
            _ => b"250 OK\r\n",
        };
        write.write_all(reply).await.unwrap();
    }
}

/// The value of header `name`, unfolded, with RFC 2047 `=?utf-8?b?...?=` words decoded.
fn header(r: &Received, name: &str) -> String {
    let unfolded = r.headers.replace("\n ", " ").replace("\n\t", " ");
    let prefix = format!("{}: ", name.to_ascii_lowercase());
    let raw =
        unfolded.lines().find(|l| l.to_ascii_lowercase().starts_with(&prefix)).unwrap()[prefix.len()..].to_owned();
    // Whitespace between two encoded words is not part of the text; any other whitespace is.
    let mut out = Vec::new();
    let mut previous_encoded = None;
    for word in raw.split(' ') {
        let encoded = word.strip_prefix("=?utf-8?b?").and_then(|w| w.strip_suffix("?="));
        match (previous_encoded, encoded.is_some()) {
            (None, _) | (Some(true), true) => {}
            _ => out.push(b' '),
        }
        match encoded {
            Some(encoded) => out.extend(base64(encoded)),
            None => out.extend(word.bytes()),
        }
        previous_encoded = Some(encoded.is_some());
    }
    String::from_utf8(out).unwrap()
}

fn base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// A port on which nothing listens (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn config(smtp_url: &str) -> Config {
    Config {
        smtp_url: smtp_url.into(),
        mail_from: "frontdoor@council.test".into(),
        public_url: "https://frontdoor.council.test/".into(),
        ..Config::default()
    }
}

// ---- delivery ---------------------------------------------------------------------------------

#[tokio::test]
async fn mail_server_down_then_up_loses_nothing_and_sends_nothing_twice() {
    for ts in testing::all().await {
        eprintln!("-- on {}", ts.label);
        let store = &ts.store;
        let port = free_port();
        let cfg = config(&format!("smtp://127.0.0.1:{port}"));
        let mailer = Mailer::from_config(&cfg).unwrap().unwrap();
        let now = Utc::now();
        let safeguarding = notify::email(
            &cfg,
            "safeguarding@council.test",
            "FD-2025-000123",
            "threshold reached",
            "/contacts/0198c3a2",
            now,
        );
        let managers =
            notify::email(&cfg, "managers@council.test", "FD-2025-000456", "alert escalated", "/alerts/0198c3b7", now);
        store.append(vec![], vec![], vec![safeguarding.clone(), managers.clone()]).await.unwrap();

        // The server is down: both fail, and both wait out their backoff.
        let report = notify::dispatch_due(store, &mailer, now).await.unwrap();
        assert_eq!(report, DispatchReport { sent: 0, failed: 2 }, "{}", ts.label);
        let report = notify::dispatch_due(store, &mailer, now).await.unwrap();
        assert_eq!(report, DispatchReport { sent: 0, failed: 0 }, "{}: retried before the backoff", ts.label);
        let almost = now + notify::backoff(0) - Duration::seconds(1);
        let report = notify::dispatch_due(store, &mailer, almost).await.unwrap();
        assert_eq!(report, DispatchReport { sent: 0, failed: 0 }, "{}: retried before the backoff", ts.label);

        // The server comes back on the same port: both go, once.
        let inbox = smtp_receiver(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
        let later = now + notify::backoff(0);
        let report = notify::dispatch_due(store, &mailer, later).await.unwrap();
        assert_eq!(report, DispatchReport { sent: 2, failed: 0 }, "{}", ts.label);
        let report = notify::dispatch_due(store, &mailer, later + Duration::hours(2)).await.unwrap();
        assert_eq!(report, DispatchReport { sent: 0, failed: 0 }, "{}: sent twice", ts.label);

        let received = inbox.lock().unwrap().clone();
        assert_eq!(received.len(), 2, "{}: {received:#?}", ts.label);
        let recipients: BTreeSet<_> = received.iter().flat_map(|r| r.rcpt_to.clone()).collect();
        assert_eq!(recipients, BTreeSet::from(["managers@council.test".into(), "safeguarding@council.test".into()]));
        for (sent, reference, what, link) in [
            (&safeguarding, "FD-2025-000123", "threshold reached", "https://frontdoor.council.test/contacts/0198c3a2"),
            (&managers, "FD-2025-000456", "alert escalated", "https://frontdoor.council.test/alerts/0198c3b7"),
        ] {
            let r = received.iter().find(|r| r.rcpt_to == [sent.recipient.clone()]).unwrap();
            assert_eq!(header(r, "To"), sent.recipient);
            assert_eq!(header(r, "From"), "frontdoor@council.test");
            assert_eq!(header(r, "Subject"), format!("Frontdoor: {what} \u{2014} {reference}"));
            assert_eq!(header(r, "Content-Transfer-Encoding"), "7bit");
            // Exactly what the outbox held: the reference, what happened and the link, no more.
            assert_eq!(r.body.trim_end(), sent.body.trim_end(), "{}", ts.label);
            assert!(r.body.contains(reference) && r.body.contains(link), "{}", r.body);
            assert_only_reference_and_link(&r.body, reference, what, link);
        }
    }
}

/// Every line of a notification body is fixed wording, or the reference, what happened, the link.
fn assert_only_reference_and_link(body: &str, reference: &str, what: &str, link: &str) {
    let allowed = [
        String::new(),
        format!("Frontdoor: {what}."),
        format!("Reference: {reference}"),
        "Open it in Frontdoor (sign-in required):".to_owned(),
        link.to_owned(),
        "No personal details are sent by e-mail: sign in to see the record.".to_owned(),
    ];
    for line in body.lines() {
        assert!(allowed.contains(&line.to_owned()), "unexpected line in a notification: {line:?}");
    }
}

#[tokio::test]
async fn notifications_wait_in_the_outbox_while_email_is_off() {
    for ts in testing::all().await {
        let cfg = config("");
        assert!(Mailer::from_config(&cfg).unwrap().is_none());
        let now = Utc::now();
        let m = notify::email(&cfg, "safeguarding@council.test", "FD-1", "threshold reached", "/contacts/1", now);
        ts.store.append(vec![], vec![], vec![m.clone()]).await.unwrap();
        // Returns at once rather than looping: e-mail is off.
        notify::run_dispatcher(ts.store.clone(), Arc::new(cfg)).await;
        let due = ts.store.due_outbox(now, 10).await.unwrap();
        assert_eq!(due.len(), 1, "{}", ts.label);
        assert_eq!((due[0].id.as_str(), due[0].attempts), (m.id.to_string().as_str(), 0), "{}", ts.label);
    }
}

// ---- the message ----------------------------------------------------------------------------

#[test]
fn email_carries_only_a_reference_and_a_link() {
    let cfg = config("");
    let now = Utc::now();
    let m = notify::email(&cfg, " managers@council.test ", "FD-7", "alert escalated", "/alerts/9", now);
    assert_eq!(m.channel, "email");
    assert_eq!(m.recipient, "managers@council.test");
    assert_eq!(m.created_at, now);
    assert_eq!(m.subject, "Frontdoor: alert escalated \u{2014} FD-7");
    assert_only_reference_and_link(&m.body, "FD-7", "alert escalated", "https://frontdoor.council.test/alerts/9");
    assert!(m.body.contains("\nhttps://frontdoor.council.test/alerts/9\n"), "{}", m.body);
    let other = notify::email(&cfg, "managers@council.test", "FD-7", "alert escalated", "/alerts/9", now);
    assert_ne!(m.id, other.id);
}

// ---- backoff and configuration -----------------------------------------------------------------

#[test]
fn backoff_doubles_from_thirty_seconds_up_to_an_hour() {
    for (attempts, seconds) in
        [(0, 30), (1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (8, 3600), (64, 3600), (i64::MAX, 3600), (-1, 30)]
    {
        assert_eq!(notify::backoff(attempts), Duration::seconds(seconds), "attempts = {attempts}");
    }
}

#[test]
fn mailer_from_config() {
    assert!(Mailer::from_config(&config("")).unwrap().is_none());
    for ok in [
        "smtp://127.0.0.1:2525",
        "smtp://relay.council.test",
        "smtp://[::1]:2525/",
        "smtps://smtp.council.test:465",
        "smtp+starttls://smtp.council.test:587",
        "smtp+starttls://frontdoor:s%40cret@smtp.council.test",
    ] {
        assert!(Mailer::from_config(&config(ok)).unwrap().is_some(), "{ok}");
    }
    for bad in ["ftp://x", "127.0.0.1:2525", "smtp://", "smtp://host:port", "smtp://host:99999", "smtp://host/path"] {
        let Err(e) = Mailer::from_config(&config(bad)) else { panic!("{bad} accepted") };
        assert!(e.starts_with("smtp_url: "), "{bad}: {e}");
    }
    // The URL may hold a password: errors never repeat it.
    let Err(e) = Mailer::from_config(&config("smtp://frontdoor:hunter2@relay:xx")) else { panic!("accepted") };
    assert!(!e.contains("hunter2"), "{e}");
    let bad_from = Config { mail_from: "not an address".into(), ..config("smtp://127.0.0.1:2525") };
    let Err(e) = Mailer::from_config(&bad_from) else { panic!("bad mail_from accepted") };
    assert!(e.starts_with("mail_from: "), "{e}");
}
