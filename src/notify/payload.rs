//! Webhook bodies: the event as JSON (`format: json`), or a Slack-compatible message
//! (`format: slack`, for incoming webhooks). With `check.public_url` set, both carry a link
//! to the request's page (`links.request`, or a button), so an approver lands on it.

use serde_json::{Value, json};

use crate::access::NotifyFormat;
use crate::workflow::events::Event;

pub fn body(event: &Event, format: NotifyFormat, public_url: Option<&str>) -> Vec<u8> {
    let link = public_url
        .zip(event.request.as_ref())
        .map(|(base, r)| crate::links::request_page(base, r.id.as_str()));
    let v = match format {
        NotifyFormat::Json => {
            let mut v = serde_json::to_value(event).unwrap_or(Value::Null);
            if let Some(link) = &link {
                v["links"] = json!({ "request": link });
            }
            v
        }
        NotifyFormat::Slack => slack(event, link.as_deref()),
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

fn slack(e: &Event, link: Option<&str>) -> Value {
    let emoji = match e.kind.as_str() {
        "requested" => ":raising_hand:",
        "approved" => ":white_check_mark:",
        "denied" => ":no_entry:",
        "expired" => ":hourglass:",
        "escalated" => ":rotating_light:",
        _ => ":lock:",
    };
    let mut fields = vec![json!({"type": "mrkdwn", "text": format!("*Policy*\n{}", e.policy)})];
    if let Some(r) = &e.request {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Request*\n`{}`", r.id)}));
        fields.push(json!({"type": "mrkdwn", "text": format!("*Reason*\n{}", r.reason)}));
    }
    if let Some(g) = &e.grant {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Grant*\n`{}` until {}", g.id, g.expires_at)}));
    }
    if !e.approvers.is_empty() {
        let who: Vec<String> = e.approvers.iter().map(|p| p.to_string()).collect();
        fields.push(json!({"type": "mrkdwn", "text": format!("*Approvers*\n{}", who.join(", "))}));
    }
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("{emoji} *jitgate {}*\n{}", e.kind, e.summary)}}),
        json!({"type": "section", "fields": fields}),
    ];
    let mut text = format!("{emoji} jitgate: {}", e.summary);
    if let Some(link) = link {
        text.push_str(&format!(" <{link}|open>"));
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the request"}, "url": link}
        ]}));
    }
    json!({ "text": text, "blocks": blocks })
}

#[cfg(test)]
mod tests {
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
