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
