//! Webhook bodies: the event as JSON (`format: json`), or a Slack-compatible message
//! (`format: slack`, for incoming webhooks). With `check.public_url` set, both carry a link
//! to the request's page (`links.request`, or a button), so an approver lands on it.

use serde::Serialize;

use crate::access::{EventKind, NotifyFormat};
use crate::workflow::events::Event;

/// `format: json`: the event itself, and a link to the request's page when there is one.
#[derive(Serialize)]
struct JsonBody<'a> {
    #[serde(flatten)]
    event: &'a Event,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<Links>,
}

#[derive(Serialize)]
struct Links {
    request: String,
}

/// `format: slack`: a Slack incoming-webhook message (Block Kit), with `text` as the
/// notification's fallback.
#[derive(Serialize)]
struct SlackMessage {
    text: String,
    blocks: Vec<Block>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Section {
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
    },
    Actions {
        elements: Vec<Button>,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Text {
    Mrkdwn { text: String },
    PlainText { text: String },
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "button")]
struct Button {
    text: Text,
    url: String,
}

pub fn body(event: &Event, format: NotifyFormat, public_url: Option<&str>) -> Vec<u8> {
    let link = public_url
        .zip(event.request.as_ref())
        .map(|(base, r)| crate::links::request_page(base, r.id.as_str()));
    let body = match format {
        NotifyFormat::Json => {
            serde_json::to_vec(&JsonBody { event, links: link.map(|request| Links { request }) })
        }
        NotifyFormat::Slack => serde_json::to_vec(&slack(event, link)),
    };
    body.unwrap_or_default()
}

fn slack(e: &Event, link: Option<String>) -> SlackMessage {
    let emoji = match e.kind {
        EventKind::Requested => ":raising_hand:",
        EventKind::Approved => ":white_check_mark:",
        EventKind::Denied => ":no_entry:",
        EventKind::Expired => ":hourglass:",
        EventKind::Escalated => ":rotating_light:",
        EventKind::Revoked => ":lock:",
    };
    let md = |text: String| Text::Mrkdwn { text };
    let mut fields = vec![md(format!("*Policy*\n{}", e.policy))];
    if let Some(r) = &e.request {
        fields.push(md(format!("*Request*\n`{}`", r.id)));
        fields.push(md(format!("*Reason*\n{}", r.reason)));
    }
    if let Some(g) = &e.grant {
        fields.push(md(format!("*Grant*\n`{}` until {}", g.id, g.expires_at)));
    }
    if !e.approvers.is_empty() {
        let who: Vec<String> = e.approvers.iter().map(ToString::to_string).collect();
        fields.push(md(format!("*Approvers*\n{}", who.join(", "))));
    }
    let headline = md(format!("{emoji} *jitgate {}*\n{}", e.kind, e.summary));
    let mut blocks = vec![
        Block::Section { text: Some(headline), fields: Vec::new() },
        Block::Section { text: None, fields },
    ];
    let mut text = format!("{emoji} jitgate: {}", e.summary);
    if let Some(url) = link {
        text.push_str(&format!(" <{url}|open>"));
        let label = Text::PlainText { text: "Open the request".into() };
        blocks.push(Block::Actions { elements: vec![Button { text: label, url }] });
    }
    SlackMessage { text, blocks }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::access::AccessRequest;
    use crate::time::Timestamp;
    use crate::workflow::events::EventKind;

    fn event() -> Event {
        let request: AccessRequest = serde_json::from_value(json!({
            "id": "0193a5b0-0000-7000-8000-000000000001", "requester": "user:alice",
            "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}],
            "ttl": "30m", "reason": "INC-1", "policy": "orders", "status": "pending",
            "created_at": "2026-11-25T10:00:00.000Z", "expires_at": "2026-11-25T11:00:00.000Z",
            "approvers": ["group:leads"], "min_approvals": 1, "grant_ttl": "30m",
        }))
        .unwrap();
        let mut e =
            Event::new(EventKind::Requested, "orders", Timestamp::from_millis(0), "s".into());
        e.request = Some(request);
        e
    }

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn json_links_to_the_request_page_when_public_url_is_set() {
        let v = parse(&body(&event(), NotifyFormat::Json, Some("https://jit.example.com/")));
        assert_eq!(
            v["links"]["request"],
            "https://jit.example.com/ui/#/requests/0193a5b0-0000-7000-8000-000000000001"
        );
        let v = parse(&body(&event(), NotifyFormat::Json, None));
        assert!(v.get("links").is_none());
    }

    #[test]
    fn slack_gets_a_button_to_the_request_page() {
        let v = parse(&body(&event(), NotifyFormat::Slack, Some("https://jit.example.com")));
        let text = v.to_string();
        assert!(text.contains("https://jit.example.com/ui/#/requests/0193a5b0"), "{text}");
        assert_eq!(v["blocks"][2]["elements"][0]["type"], "button");
        let v = parse(&body(&event(), NotifyFormat::Slack, None));
        assert_eq!(v["blocks"].as_array().map(Vec::len), Some(2));
    }
}
