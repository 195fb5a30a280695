//! Listing access requests a page at a time, read at the store's indexes so a page costs what
//! it shows rather than what the store holds (SECURITY row 63): the caller's own requests from
//! their per-requester indexes, an approver's queue from the pending indexes of the policies
//! they approve, everything else from the recent index — with at most [`SCAN_LIMIT`] records
//! read for one page however few of them the caller may see. A page that stops early says
//! where the next one starts ([`ListCursor`]).

use std::fmt;
use std::str::FromStr;

use super::{RequestService, WorkflowError};
use crate::access::{AccessRequest, RequestId, RequestStatus};
use crate::decision::Caller;
use crate::grant::Principal;
use crate::store::{IndexPosition, RequestIndex, StoreError};

/// Requests in one page unless the caller asks for another number.
pub const DEFAULT_PAGE: usize = 100;

/// Most requests one page returns.
pub const LIST_LIMIT: usize = 500;

/// Most stored records one page reads (those the caller may not see count too).
pub const SCAN_LIMIT: usize = 1000;

/// What the list shows. Pending lists come soonest-to-expire first; the others newest first.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    /// Only the caller's own requests.
    pub mine: bool,
    /// Only this requester's (an approver's view of someone's history).
    pub requester: Option<Principal>,
    /// Only those the caller may decide now (the approver's queue).
    pub decidable: bool,
}

impl RequestFilter {
    /// A `status` filter as callers write it: one status, or `all` (no filter).
    pub fn status_named(s: &str) -> Result<Option<RequestStatus>, String> {
        match s {
            "all" => Ok(None),
            s => RequestStatus::parse(s).map(Some).ok_or_else(|| {
                format!("status: `{s}` is not one of {}, all", RequestStatus::names())
            }),
        }
    }
}

/// Where a page starts, as the API shows it: `<score>.<request id>` (the score is the
/// request's filing time or expiry in Unix milliseconds, whichever the list is ordered by).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListCursor(IndexPosition);

impl fmt::Display for ListCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0.score, self.0.id)
    }
}

impl FromStr for ListCursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not a list cursor: pass the `next` value of the previous page unchanged"
            )
        };
        let (score, id) = s.split_once('.').ok_or_else(bad)?;
        let score = score.parse::<i64>().map_err(|_| bad())?;
        let id = RequestId::parse(id).map_err(|_| bad())?;
        Ok(Self(IndexPosition { score, id }))
    }
}

/// One page of a list, and where the next starts (`None`: nothing more).
#[derive(Clone, Debug)]
pub struct RequestPage {
    pub requests: Vec<AccessRequest>,
    pub next: Option<ListCursor>,
}

impl RequestService {
    /// Up to `limit` (at most [`LIST_LIMIT`]) requests the caller may see that `filter` keeps,
    /// after `cursor`.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &RequestFilter,
        cursor: Option<&ListCursor>,
        limit: usize,
    ) -> Result<RequestPage, WorkflowError> {
        let limit = limit.clamp(1, LIST_LIMIT);
        let now = self.clock.now();
        let Some(sources) = self.sources(caller, filter) else {
            return Ok(RequestPage { requests: Vec::new(), next: None });
        };
        let indexes = sources.indexes();
        let newest_first = !sources.pending;
        let mut after = cursor.map(|c| c.0.clone());
        let (mut out, mut read, mut last_visible) = (Vec::new(), 0usize, true);
        loop {
            let want = limit.saturating_sub(out.len()).min(SCAN_LIMIT.saturating_sub(read));
            let (batch, more) = self.merged(&indexes, after.as_ref(), want, newest_first).await?;
            for pos in batch {
                read = read.saturating_add(1);
                let id = pos.id.clone();
                after = Some(pos);
                last_visible = false;
                let Some(r) = self.read_listed(id).await? else { continue };
                let visible =
                    if filter.mine { caller.holds(&r.requester) } else { self.may_see(caller, &r) };
                last_visible = visible;
                if visible
                    && filter.status.is_none_or(|s| r.status_at(now) == s)
                    && filter.requester.as_ref().is_none_or(|p| &r.requester == p)
                    && (!filter.decidable || r.decidable_by(caller, now))
                {
                    out.push(r);
                }
            }
            if !more {
                return Ok(RequestPage { requests: out, next: None });
            }
            if out.len() >= limit || read >= SCAN_LIMIT {
                let next = after
                    .map(|p| if last_visible { p } else { concealed(p, newest_first, cursor) });
                return Ok(RequestPage { requests: out, next: next.map(ListCursor) });
            }
        }
    }

    /// Where the requests `filter` may keep for `caller` are indexed; `None` when nothing
    /// can match.
    fn sources(&self, caller: &Caller, filter: &RequestFilter) -> Option<Sources> {
        let requester = match (&filter.requester, filter.mine) {
            (Some(p), true) if *p != caller.subject => return None,
            (Some(p), _) => Some(p.clone()),
            (None, true) => Some(caller.subject.clone()),
            (None, false) => None,
        };
        let pending = filter.status == Some(RequestStatus::Pending) || filter.decidable;
        if !pending || requester.is_some() || self.admins.includes(caller) {
            return Some(Sources { pending, requester, policies: Vec::new() });
        }
        let set = self.policies.current();
        let policies =
            set.iter().filter(|p| p.may_approve(&caller.principals)).map(|p| p.name.clone());
        Some(Sources {
            pending,
            requester: Some(caller.subject.clone()),
            policies: policies.collect(),
        })
    }

    /// The next `want` positions after `after` across `indexes` (one order), and whether any
    /// index may hold more.
    async fn merged(
        &self,
        indexes: &[RequestIndex<'_>],
        after: Option<&IndexPosition>,
        want: usize,
        newest_first: bool,
    ) -> Result<(Vec<IndexPosition>, bool), WorkflowError> {
        let (mut all, mut more) = (Vec::new(), false);
        for index in indexes {
            let page = self.store.page(*index, after, want).await?;
            more |= page.len() >= want;
            all.extend(page);
        }
        all.sort_by(|a, b| a.read_order(b, newest_first));
        // A request is in its requester's index and its policy's, at the same score.
        all.dedup_by(|a, b| a.id == b.id);
        more |= all.len() > want;
        all.truncate(want);
        Ok((all, more))
    }

    /// A listed request as it reads now; `None` when it is gone or undecodable (skipped and
    /// counted by the store; the sweeper moves it aside).
    async fn read_listed(&self, id: RequestId) -> Result<Option<AccessRequest>, WorkflowError> {
        match self.store.get(&id).await {
            Ok(Some(v)) => Ok(Some(self.current_view(v.value))),
            Ok(None) => Ok(None),
            Err(StoreError::Corrupt(why)) => {
                self.found_corrupt(id, why);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Where to resume when the last record a page read is one the caller may not see: at its
/// millisecond, without its id, so a cursor never names a stranger's request. The next page
/// reads that millisecond's records again (any the caller saw among them come again); when
/// that would not move past `incoming` (a whole page of one millisecond), it skips the rest of
/// that millisecond instead.
fn concealed(
    pos: IndexPosition,
    newest_first: bool,
    incoming: Option<&ListCursor>,
) -> IndexPosition {
    // `z` sorts after every request id (hex digits and `-`), `-` before every one.
    let (again, skip) = if newest_first { ("zzzzzzzz", "-") } else { ("-", "zzzzzzzz") };
    let at = |marker: &str| IndexPosition {
        score: pos.score,
        id: RequestId::parse(marker).unwrap_or_else(|_| pos.id.clone()),
    };
    let retry = at(again);
    if incoming.is_some_and(|c| c.0 == retry) { at(skip) } else { retry }
}

/// The indexes one list reads.
struct Sources {
    pending: bool,
    /// One requester's index (theirs, or the caller's own beside their policies'); `None`:
    /// the index of every request.
    requester: Option<Principal>,
    /// The pending indexes of these policies.
    policies: Vec<String>,
}

impl Sources {
    fn indexes(&self) -> Vec<RequestIndex<'_>> {
        match (self.pending, &self.requester) {
            (false, who) => vec![who.as_ref().map_or(RequestIndex::Recent, RequestIndex::RecentOf)],
            (true, None) => vec![RequestIndex::Pending],
            (true, Some(who)) => std::iter::once(RequestIndex::PendingOf(who))
                .chain(self.policies.iter().map(|p| RequestIndex::PendingFor(p)))
                .collect(),
        }
    }
}
