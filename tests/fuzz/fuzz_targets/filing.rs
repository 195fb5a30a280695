//! The filing path (SECURITY rows 51 and 58): `METHOD target` lines, each parsed as the Check
//! path parses a call. The first call a one-time action refuses files a request through the
//! real workflow (`file_one_time`), a lead approves it, and the grant that results is judged
//! by the reference model: one scope, one method, an exact path whose literals (escapes undone)
//! are the call's decoded segments, and the call's query in normal form. Every other line is a
//! probe: the grant may cover it only when the model says it is the same call.

#![no_main]

use jitgate::authz::CheckAttributes;
use jitgate::authz::input::parse;
use jitgate::grant::Methods;
use jitgate_fuzz::filing::FILING;
use jitgate_fuzz::model;
use libfuzzer_sys::fuzz_target;

/// The model's reading of a call: method, decoded segments, normal query.
fn call_of(method: &str, target: &str) -> Option<(String, Vec<String>, String)> {
    let segs = model::segments(target)?;
    let query = target.split_once('?').map_or("", |(_, q)| q);
    Some((method.to_string(), segs, model::normal_query(query)))
}

fn input(method: &str, target: &str) -> Option<jitgate::decision::CheckInput> {
    let attrs = CheckAttributes {
        method: method.into(),
        path: target.into(),
        service: Some("billing".into()),
        ..Default::default()
    };
    let mut input = parse(&attrs).ok()?;
    input.one_time = FILING.policies.current().one_time_policy(&input.service, &input.method, &input.path).is_some();
    Some(input)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.lines().map(|l| l.split_once(' ').unwrap_or(("DELETE", l)));
    let Some((method, target)) = lines.next() else { return };
    let Some(first) = input(method, target) else { return };
    let w = &*FILING;
    let filed = w.rt.block_on(w.requests.file_one_time(&w.requester, &first, "fuzz"));
    let Ok(Some(request)) = filed else { return };
    if request.status != jitgate::access::RequestStatus::Pending {
        return;
    }
    let Some(call) = call_of(method, target) else {
        panic!("jitgate filed a request for {method} {target:?}, which the model refuses");
    };
    let grant = w.approve(&request.id);
    assert_eq!(grant.resources, request.resources, "the grant is what the approver saw");
    let [scope] = grant.resources.as_slice() else { panic!("{:?}", grant.resources) };
    assert_eq!(scope.methods, Methods::Only([call.0.clone()].into()), "{target:?}");
    let [pattern] = scope.paths.as_slice() else { panic!("{:?}", scope.paths) };
    assert!(pattern.is_exact(), "{pattern} for {target:?}");
    let literals: Vec<String> = pattern.as_str()[1..].split('/').map(model::unescape_literal).collect();
    assert_eq!(literals, call.1, "the literal path of {target:?} is {pattern}");
    assert!(model::pattern_matches(pattern.as_str(), &call.1));
    assert_eq!(scope.query.as_ref().map(|q| q.as_str()), Some(call.2.as_str()), "{target:?}");
    assert!(grant.covers("billing", method, &first.path), "the grant covers its own call");
    for (m, t) in lines {
        let Some(probe) = input(m, t) else { continue };
        let same = call_of(m, t).is_some_and(|c| c == call);
        let covered = grant.covers("billing", m, &probe.path);
        assert!(!covered || same, "approving {method} {target:?} covers {m} {t:?}");
    }
});
