//! Operations that care which servers answer: `SCAN` over every master (a standalone or
//! Sentinel master holds every key, but in a Redis Cluster each master holds its own slots, so
//! the scan runs on each master in turn, found with `CLUSTER SLOTS` and reached through the
//! slot map by one slot it owns), and a fingerprint of who the masters are, which changes on a
//! failover or a restart.

use std::collections::BTreeMap;

use redis::Value;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};

use super::StoreError;
use super::redis_conn::RedisConn;
use super::redis_handle::RedisHandle;

// === impl RedisConn ===

impl RedisConn {
    /// Every key matching `pattern` of Redis type `kind`, on every master.
    pub async fn scan_all(
        &self,
        op: &'static str,
        pattern: &str,
        kind: &str,
    ) -> Result<Vec<String>, StoreError> {
        let Some(slots) = self.cluster_slots(op).await? else {
            return self.scan_node(op, pattern, kind, None).await;
        };
        let mut keys = Vec::new();
        for slot in masters(&slots).into_values() {
            keys.extend(self.scan_node(op, pattern, kind, Some(slot)).await?);
        }
        Ok(keys)
    }

    /// Who the masters are: the master's `run_id` (standalone, Sentinel: a restart or a
    /// promoted replica has a new one), or every master's node id (cluster).
    pub async fn fingerprint(&self) -> Result<String, StoreError> {
        let op = "fingerprint";
        let Some(slots) = self.cluster_slots(op).await? else {
            let mut c = self.handle();
            let info: String =
                self.run(op, redis::cmd("INFO").arg("server").query_async(&mut c)).await?;
            let run_id = info.lines().find_map(|l| l.strip_prefix("run_id:"));
            return Ok(run_id.unwrap_or_default().trim().to_string());
        };
        let mut ids: Vec<String> = slots.iter().filter_map(master_id).collect();
        ids.sort();
        ids.dedup();
        Ok(ids.join(","))
    }

    /// `CLUSTER SLOTS` from any node, or `None` when this is not a cluster.
    async fn cluster_slots(&self, op: &'static str) -> Result<Option<Vec<Value>>, StoreError> {
        let RedisHandle::Cluster(lazy) = self.handle() else { return Ok(None) };
        let mut conn = self.run(op, lazy.get()).await?;
        let mut cmd = redis::cmd("CLUSTER");
        cmd.arg("SLOTS");
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random);
        let reply = self.run(op, conn.route_command(cmd, route)).await?;
        redis::from_redis_value(reply).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// One node's keys: the standalone/Sentinel master, or the cluster master owning `slot`.
    async fn scan_node(
        &self,
        op: &'static str,
        pattern: &str,
        kind: &str,
        slot: Option<u16>,
    ) -> Result<Vec<String>, StoreError> {
        let mut c = self.handle();
        let mut cursor: u64 = 0;
        let mut keys = Vec::new();
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(1000).arg("TYPE").arg(kind);
            let (next, batch): (u64, Vec<String>) = match (slot, &c) {
                (Some(slot), RedisHandle::Cluster(lazy)) => {
                    let mut conn = self.run(op, lazy.get()).await?;
                    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                        Route::new(slot, SlotAddr::Master),
                    ));
                    let v = self.run(op, conn.route_command(cmd, route)).await?;
                    redis::from_redis_value(v).map_err(|e| StoreError::Corrupt(e.to_string()))?
                }
                _ => self.run(op, cmd.query_async(&mut c)).await?,
            };
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }
}

/// `CLUSTER SLOTS` → one slot per master, keyed by the master's address.
fn masters(slots: &[Value]) -> BTreeMap<String, u16> {
    let mut out = BTreeMap::new();
    for range in slots {
        let Value::Array(parts) = range else { continue };
        let (Some(Value::Int(start)), Some(Value::Array(master))) = (parts.first(), parts.get(2))
        else {
            continue;
        };
        let addr = match (master.first(), master.get(1)) {
            (Some(Value::BulkString(host)), Some(Value::Int(port))) => {
                format!("{}:{port}", String::from_utf8_lossy(host))
            }
            _ => continue,
        };
        if let Ok(slot) = u16::try_from(*start) {
            out.entry(addr).or_insert(slot);
        }
    }
    out
}

/// The master's node id in one `CLUSTER SLOTS` range.
fn master_id(range: &Value) -> Option<String> {
    let Value::Array(parts) = range else { return None };
    let Some(Value::Array(master)) = parts.get(2) else { return None };
    match master.get(2) {
        Some(Value::BulkString(id)) => Some(String::from_utf8_lossy(id).into_owned()),
        _ => None,
    }
}
