//! REST body corpus (SECURITY.md rows 47–48) against a real jitgate's `/v1`: every bad body,
//! credential or id answers with its status and error code from the API's catalogue
//! (`src/api/error.rs`), and nothing is written: the grant, request and policy lists stay empty.

use std::time::Duration;

use crate::common::{Jitgate, RedisServer};
use crate::report::Tally;
use crate::tokens::Signer;

/// Who calls: the admin, a plain user, nobody, or a bad credential.
#[derive(Clone, Copy)]
pub enum Who {
    Admin,
    Alice,
    Nobody,
    Raw(&'static str),
    Forged,
    Expired,
}

/// (name, method, path, caller, content type, body, status, error code).
pub type Case = (&'static str, &'static str, String, Who, &'static str, Vec<u8>, u16, &'static str);

async fn send(j: &Jitgate, client: &reqwest::Client, case: &Case) -> (u16, String) {
    let (_, method, path, who, ctype, body, _, _) = case;
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap();
    let signer = Signer { secret: j.secret.clone(), now };
    let auth = match who {
        Who::Admin => Some(format!("Bearer {}", j.admin_token())),
        Who::Alice => Some(format!("Bearer {}", j.token("alice", &["eng"]))),
        Who::Nobody => None,
        Who::Raw(v) => Some((*v).to_string()),
        Who::Forged => {
            let claims = signer.with("groups", serde_json::json!(["platform"]));
            Some(format!(
                "Bearer {}",
                signer.hs_with(b"guess", serde_json::json!({"alg": "HS256"}), &claims)
            ))
        }
        Who::Expired => {
            let mut claims = signer.with("groups", serde_json::json!(["platform"]));
            claims["exp"] = serde_json::json!(now - 3600);
            claims["iat"] = serde_json::json!(now - 7200);
            Some(format!("Bearer {}", signer.hs(serde_json::json!({}), &claims)))
        }
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(method, format!("{}{path}", j.base())).body(body.clone());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if !ctype.is_empty() {
        req = req.header("content-type", *ctype);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            (
                status,
                v["error"]
                    .as_str()
                    .map_or_else(|| format!("<not JSON: {text:.60}>"), str::to_string),
            )
        }
        Err(e) => (0, format!("<transport error: {e}>")),
    }
}

#[tokio::test]
async fn bad_rest_bodies_answer_with_catalogued_errors_and_write_nothing() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut tally = Tally::new("rest bodies");
    for case in crate::rest_cases::cases() {
        let (status, code) = send(&j, &client, &case).await;
        let (name, .., want_status, want_code) = case;
        let ok = status == want_status && code == want_code;
        let leak = (200..300).contains(&status);
        tally.record(
            name,
            ok,
            leak,
            &format!("{status} `{code}` (want {want_status} `{want_code}`)"),
        );
    }
    let admin = j.admin_token();
    for (list, key) in
        [("/v1/grants", "grants"), ("/v1/requests", "requests"), ("/v1/policies", "policies")]
    {
        let (status, body) = j.call("GET", list, Some(&admin), None).await;
        let n = body[key].as_array().map_or(usize::MAX, Vec::len);
        tally.require(
            &format!("nothing written to {list}"),
            status == 200 && n == 0,
            &format!("{status} {body:.200}"),
        );
    }
    let grants = crate::rest_workflow::run(&j, &mut tally).await;
    let (_, body) = j.call("GET", "/v1/grants", Some(&admin), None).await;
    let n = body["grants"].as_array().map_or(0, Vec::len);
    tally.require("one grant per control approval", n == grants, &format!("{n} grants"));
    tally.finish(40);
}
