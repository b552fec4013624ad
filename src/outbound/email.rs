//! Email over SMTP (lettre, rustls): `smtps://user:pass@host:465` for
//! implicit TLS, `smtp://user:pass@host:587` for STARTTLS. The URL holds the
//! credentials and is a secret (`${SMTP_URL}` from the environment).

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::cards::{self, Message};
use super::channel::{Channel, SendError, Sent};
use crate::config::ChannelKind;

pub struct Email {
    pub name: String,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Email {
    /// Builds the transport; nothing connects until the first send.
    pub fn new(
        name: &str,
        smtp_url: &str,
        from: &str,
        to: &[String],
        timeout: std::time::Duration,
    ) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("smtp_url: {e}"))?
            .timeout(Some(timeout))
            .build();
        let from = from.parse().map_err(|e| format!("from: {e}"))?;
        let to = to
            .iter()
            .map(|t| t.parse().map_err(|e| format!("to `{t}`: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: name.to_string(),
            from,
            to,
            transport,
        })
    }
}

#[async_trait]
impl Channel for Email {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    async fn send(&self, message: &Message, key: &str) -> Result<Sent, SendError> {
        let mail = cards::email::message(message);
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .subject(mail.subject)
            .message_id(Some(format!("<{key}@ackbot>")));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let email = builder
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(|e| SendError::permanent(format!("cannot build the email: {e}")))?;
        match self.transport.send(email).await {
            Ok(response) => Ok(Sent {
                message_id: None,
                answer: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            }),
            Err(e) if e.is_permanent() => Err(SendError::permanent(format!("smtp: {e}"))),
            Err(e) => Err(SendError::transient(format!("smtp: {e}"))),
        }
    }
}
