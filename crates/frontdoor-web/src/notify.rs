//! E-mail notifications: written to the outbox in the same transaction as their cause, then sent
//! over SMTP by a background dispatcher that retries with exponential backoff until the mail
//! server takes them, so a notification is never lost while the server is down.
//!
//! Invariant: an e-mail carries a case reference, what happened and a link that needs sign-in —
//! never a child's name or any other personal detail. Neither do logs or the stored error text.
//!
//! Delivery is at least once: if the process stops between the server accepting a message and
//! the outbox row being marked sent, the message goes again on the next run.

use crate::config::Config;
use chrono::{DateTime, Utc};
use frontdoor_store::{OutboxMessage, OutboxRow, Store, StoreError};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The outbox channel of e-mail notifications.
pub const CHANNEL: &str = "email";

/// At most this many notifications are sent per dispatch round.
const BATCH: i64 = 100;

/// How often the dispatcher looks for due notifications.
const TICK: Duration = Duration::from_secs(5);

/// An SMTP conversation that takes longer than this is abandoned and retried later.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// First retry delay; it doubles with every failure up to [`BACKOFF_CAP_SECS`].
const BACKOFF_BASE_SECS: i64 = 30;
const BACKOFF_CAP_SECS: i64 = 60 * 60;

/// Sends e-mail through the SMTP server named by `smtp_url`, from `mail_from`.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Why one message was not sent.
struct Failure {
    /// Safe to store and log: it never contains the message's subject or body.
    text: String,
    /// The server could not be reached or spoken to at all (as opposed to refusing this one
    /// message), so the other messages of the round would fail the same way.
    server_unreachable: bool,
}

impl Mailer {
    /// The mailer for this configuration; `None` when `smtp_url` is empty (e-mail is off and
    /// notifications wait in the outbox). Accepts `smtp://host:port` (no TLS, for a relay on the
    /// local network), `smtps://host:port` (implicit TLS) and `smtp+starttls://host:port`,
    /// optionally with `user:password@` before the host. Errors name the setting at fault and
    /// never repeat the URL, which may hold a password.
    pub fn from_config(cfg: &Config) -> Result<Option<Mailer>, String> {
        let url = cfg.smtp_url.trim();
        if url.is_empty() {
            return Ok(None);
        }
        let transport = transport(url).map_err(|e| format!("smtp_url: {e}"))?;
        let from: Mailbox = cfg
            .mail_from
            .trim()
            .parse()
            .map_err(|e| format!("mail_from: '{}' is not an e-mail address ({e})", cfg.mail_from))?;
        Ok(Some(Mailer { transport, from }))
    }

    /// Send one plain-text e-mail now. The error text names what went wrong (connection, TLS,
    /// the server's reply code) and never the subject or body.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        self.deliver(to, subject, body).await.map_err(|f| f.text)
    }

    async fn deliver(&self, to: &str, subject: &str, body: &str) -> Result<(), Failure> {
        let refused = |text: String| Failure { text, server_unreachable: false };
        let to: Mailbox =
            to.trim().parse().map_err(|e| refused(format!("recipient is not an e-mail address ({e})")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| refused(format!("cannot build the message ({e})")))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| Failure {
            server_unreachable: !(e.is_permanent() || e.is_transient() || e.is_client()),
            text: e.to_string(),
        })
    }
}

/// How SMTP traffic is protected.
enum Security {
    None,
    Implicit,
    StartTls,
}

/// Parse `scheme://[user:password@]host[:port][/]` into a transport.
fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    const EXPECTED: &str = "expected smtp://host:port, smtps://host:port or smtp+starttls://host:port";
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("not a URL; {EXPECTED}"))?;
    let (security, default_port) = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => (Security::None, 25),
        "smtps" => (Security::Implicit, 465),
        "smtp+starttls" => (Security::StartTls, 587),
        _ => return Err(format!("unsupported scheme '{scheme}'; {EXPECTED}")),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Err(format!("a path or query is not supported; {EXPECTED}"));
    }
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, rest),
    };
    let (host, port) = host_and_port(hostport, default_port)?;
    let builder = match security {
        Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        Security::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| format!("cannot set up TLS for the server ({e})"))?,
        Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| format!("cannot set up TLS for the server ({e})"))?,
    };
    let mut builder = builder.port(port).timeout(Some(SMTP_TIMEOUT));
    if let Some(userinfo) = userinfo {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let decode = |s: &str| {
            urlencoding::decode(s).map(|c| c.into_owned()).map_err(|_| "the user name or password is not valid UTF-8")
        };
        builder = builder.credentials(Credentials::new(decode(user)?, decode(password)?));
    }
    Ok(builder.build())
}

/// `host`, `host:port`, `[::1]` or `[::1]:port`.
fn host_and_port(s: &str, default_port: u16) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(bracketed) = s.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("unclosed '[' in the host")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("expected ':port' after the IPv6 address")?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None => default_port,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| format!("'{p}' is not a port number"))?,
    };
    Ok((host, port))
}

/// How long to wait before the next try of a notification that has failed `attempts + 1` times:
/// 30 s × 2^`attempts` (`attempts` counts the failures before this one, from 0), capped at an
/// hour so that a long outage is followed by delivery within the hour.
pub fn backoff(attempts: i64) -> chrono::Duration {
    // 30 s × 2^7 already exceeds the cap; clamping first keeps the shift from overflowing.
    let exponent = attempts.clamp(0, 7);
    chrono::Duration::seconds((BACKOFF_BASE_SECS << exponent).min(BACKOFF_CAP_SECS))
}

/// An e-mail notification for the outbox, to `to` (a team mailbox), saying that `what` happened
/// (e.g. "threshold reached", "alert escalated") on the record with this `reference`, with a link
/// to `path` under `public_url`. It carries no personal details: the reader signs in to see
/// them. Pass it to `Store::append` with the events that caused it, so both commit together.
pub fn email(cfg: &Config, to: &str, reference: &str, what: &str, path: &str, now: DateTime<Utc>) -> OutboxMessage {
    let what = one_line(what);
    let reference = one_line(reference);
    let base = cfg.public_url.trim().trim_end_matches('/');
    let link = if path.starts_with('/') { format!("{base}{path}") } else { format!("{base}/{path}") };
    let link = one_line(&link);
    let subject = format!("Frontdoor: {what} \u{2014} {reference}");
    let body = format!(
        "Frontdoor: {what}.\n\
         \n\
         Reference: {reference}\n\
         \n\
         Open it in Frontdoor (sign-in required):\n\
         {link}\n\
         \n\
         No personal details are sent by e-mail: sign in to see the record.\n"
    );
    OutboxMessage {
        id: Uuid::now_v7(),
        created_at: now,
        channel: CHANNEL.to_owned(),
        recipient: to.trim().to_owned(),
        subject,
        body,
    }
}

/// Control characters (line breaks above all) replaced by spaces, so that a value cannot start a
/// new line in the subject or add lines to the body.
fn one_line(s: &str) -> String {
    s.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// What one dispatch round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Accepted by the mail server and marked sent.
    pub sent: usize,
    /// Not sent; each is due again after its backoff.
    pub failed: usize,
}

/// Send the notifications due at `now` (up to 100, oldest due first), marking each sent or, on
/// failure, due again at `now + backoff(attempts)` with the error text. Once the server proves
/// unreachable, the rest of the round is marked failed with the same error without trying each
/// (an unreachable server may take the whole SMTP timeout per try). Errors only when the store
/// cannot be read or written; a message sent but not marked is sent again later.
pub async fn dispatch_due(store: &Store, mailer: &Mailer, now: DateTime<Utc>) -> Result<DispatchReport, StoreError> {
    let mut report = DispatchReport::default();
    let mut unreachable: Option<String> = None;
    for row in store.due_outbox(now, BATCH).await? {
        let outcome = match &unreachable {
            Some(text) => Err(Failure { text: text.clone(), server_unreachable: true }),
            None => send_row(mailer, &row).await,
        };
        match outcome {
            Ok(()) => {
                store.mark_outbox_sent(&row.id, now).await?;
                report.sent += 1;
                ::metrics::counter!("frontdoor_notifications_sent_total").increment(1);
            }
            Err(failure) => {
                let next = now + backoff(row.attempts);
                store.mark_outbox_failed(&row.id, &failure.text, next).await?;
                report.failed += 1;
                ::metrics::counter!("frontdoor_notifications_failed_total").increment(1);
                // The id and the error only: the recipient, subject and body stay out of logs.
                tracing::warn!(
                    notification = %row.id,
                    attempts = row.attempts + 1,
                    retry_at = %next.to_rfc3339(),
                    error = %failure.text,
                    "notification not sent; will retry"
                );
                if failure.server_unreachable {
                    unreachable = Some(failure.text);
                }
            }
        }
    }
    Ok(report)
}

async fn send_row(mailer: &Mailer, row: &OutboxRow) -> Result<(), Failure> {
    if row.channel != CHANNEL {
        return Err(Failure { text: format!("unknown channel '{}'", row.channel), server_unreachable: false });
    }
    mailer.deliver(&row.recipient, &row.subject, &row.body).await
}

/// Send due notifications every 5 seconds, forever. Returns at once, with a log line, when
/// e-mail is off (`smtp_url` empty) or misconfigured: notifications then wait in the outbox.
/// Meant to be spawned next to the HTTP server.
pub async fn run_dispatcher(store: Store, cfg: Arc<Config>) {
    let mailer = match Mailer::from_config(&cfg) {
        Ok(Some(mailer)) => mailer,
        Ok(None) => {
            tracing::info!("e-mail notifications are off (smtp_url is empty); they wait in the outbox");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "e-mail notifications are off: the configuration is invalid");
            return;
        }
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match dispatch_due(&store, &mailer, Utc::now()).await {
            Ok(DispatchReport { sent: 0, failed: 0 }) => {}
            Ok(r) => tracing::info!(sent = r.sent, failed = r.failed, "notifications dispatched"),
            Err(e) => tracing::warn!(error = %e, "notification dispatch: the outbox could not be read or updated"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_forms() {
        assert_eq!(host_and_port("mail.example", 25), Ok(("mail.example", 25)));
        assert_eq!(host_and_port("mail.example:2525", 25), Ok(("mail.example", 2525)));
        assert_eq!(host_and_port("[::1]:2525", 25), Ok(("::1", 2525)));
        assert_eq!(host_and_port("[::1]", 465), Ok(("::1", 465)));
        assert!(host_and_port(":25", 25).is_err());
        assert!(host_and_port("mail.example:smtp", 25).is_err());
        assert!(host_and_port("mail.example:0", 25).is_err());
    }

    #[test]
    fn values_cannot_add_lines() {
        let cfg = Config { public_url: "https://fd.example/".into(), ..Config::default() };
        let m = email(&cfg, "team@example.org", "FD-1\r\nBcc: x@y", "alert\nescalated", "contacts/1", Utc::now());
        assert_eq!(m.subject, "Frontdoor: alert escalated \u{2014} FD-1  Bcc: x@y");
        assert!(m.body.contains("\nhttps://fd.example/contacts/1\n"), "{}", m.body);
        assert!(!m.body.contains("\nBcc"), "{}", m.body);
    }
}
