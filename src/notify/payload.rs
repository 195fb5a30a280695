//! Webhook bodies: the event as JSON (`format: json`), or a Slack-compatible message
//! (`format: slack`, for incoming webhooks).

use serde_json::{Value, json};

use crate::access::NotifyFormat;
use crate::workflow::events::Event;

pub fn body(event: &Event, format: NotifyFormat) -> Vec<u8> {
    let v = match format {
        NotifyFormat::Json => serde_json::to_value(event).unwrap_or(Value::Null),
        NotifyFormat::Slack => slack(event),
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

fn slack(e: &Event) -> Value {
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
    json!({
        "text": format!("{emoji} jitgate: {}", e.summary),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("{emoji} *jitgate {}*\n{}", e.kind, e.summary)}},
            {"type": "section", "fields": fields},
        ],
    })
}
