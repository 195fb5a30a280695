//! A TCP fault proxy of the tests' own, between jitgate and Redis, on a free loopback port.
//!
//! Modes switch at run time: pass, delay (each client→Redis chunk waits), drop (new connections
//! are reset at once, existing ones pass), blackhole (connections stay open but nothing moves
//! either way, as in a partition; TCP keeps the bytes, so they flow again when the mode ends)
//! and reset (every connection, old or new, is closed with an RST). Connections that sent
//! `SUBSCRIBE` can also be stalled or reset on their own, to lose pub/sub without touching the
//! command connection. Test-only code: it is not part of the product.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Delay(Duration),
    Drop,
    Blackhole,
    Reset,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SubscriberFault {
    /// Hold what Redis sends to subscribers (pub/sub messages are not delivered meanwhile).
    stalled: bool,
    /// Bumped to reset every subscriber connection once.
    cuts: u64,
}

pub struct FaultProxy {
    pub port: u16,
    mode: watch::Sender<Mode>,
    subs: watch::Sender<SubscriberFault>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:<upstream>`.
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fault proxy");
        let port = listener.local_addr().expect("addr").port();
        let (mode, _) = watch::channel(Mode::Pass);
        let (subs, _) = watch::channel(SubscriberFault::default());
        let (mode_tx, subs_tx) = (mode.clone(), subs.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (mode, subs) = (mode_tx.subscribe(), subs_tx.subscribe());
                tokio::spawn(serve(client, upstream, mode, subs));
            }
        });
        Self { port, mode, subs, task }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Stalls (true) or releases (false) pub/sub deliveries to every subscriber.
    pub fn stall_subscribers(&self, stalled: bool) {
        self.subs.send_modify(|s| s.stalled = stalled);
    }

    /// Resets every subscriber connection now (commands keep flowing).
    pub fn cut_subscribers(&self) {
        self.subs.send_modify(|s| s.cuts += 1);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Reset);
        self.task.abort();
    }
}

/// Makes the coming close an RST. Deprecated in tokio because a *non-zero* linger blocks the
/// thread on drop; a zero linger never blocks.
#[allow(deprecated)]
fn reset(stream: &TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
}

async fn serve(
    mut client: TcpStream,
    upstream: u16,
    mode: watch::Receiver<Mode>,
    subs: watch::Receiver<SubscriberFault>,
) {
    if matches!(*mode.borrow(), Mode::Drop | Mode::Reset) {
        return reset(&client);
    }
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return reset(&client);
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let subscriber = Arc::new(AtomicBool::new(false));
    let cuts = subs.borrow().cuts;
    {
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        let up = pump(cr, sw, mode.clone(), None, Some(subscriber.clone()));
        let down = pump(sr, cw, mode.clone(), Some((subs.clone(), subscriber.clone())), None);
        tokio::select! {
            _ = up => {}
            _ = down => {}
            _ = killed(mode, subs, subscriber, cuts) => {}
        }
    }
    reset(&client);
    reset(&server);
}

/// Resolves when this connection must be reset.
async fn killed(
    mut mode: watch::Receiver<Mode>,
    mut subs: watch::Receiver<SubscriberFault>,
    subscriber: Arc<AtomicBool>,
    cuts: u64,
) {
    loop {
        if *mode.borrow() == Mode::Reset {
            return;
        }
        if subscriber.load(Ordering::Relaxed) && subs.borrow().cuts != cuts {
            return;
        }
        tokio::select! {
            r = mode.changed() => if r.is_err() { return },
            r = subs.changed() => if r.is_err() { return },
            // A connection turns into a subscriber without any channel moving.
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
}

async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut mode: watch::Receiver<Mode>,
    mut subs: Option<(watch::Receiver<SubscriberFault>, Arc<AtomicBool>)>,
    marks_subscriber: Option<Arc<AtomicBool>>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Some(flag) = &marks_subscriber
            && contains_ignore_case(&buf[..n], b"subscribe")
        {
            flag.store(true, Ordering::Relaxed);
        }
        loop {
            let current = *mode.borrow();
            match current {
                Mode::Blackhole => {
                    if mode.changed().await.is_err() {
                        return;
                    }
                }
                Mode::Delay(d) if marks_subscriber.is_some() => {
                    tokio::time::sleep(d).await;
                    break;
                }
                _ => break,
            }
        }
        if let Some((rx, is_sub)) = &mut subs {
            while is_sub.load(Ordering::Relaxed) && rx.borrow().stalled {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}
