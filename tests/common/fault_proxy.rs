//! A TCP fault proxy of the tests' own, between jitgate and Redis, on a free loopback port.
//!
//! Modes switch at run time: pass, delay (each client→Redis chunk waits), drop (new connections
//! are reset at once, existing ones pass), blackhole (connections stay open but nothing moves
//! either way, as in a partition; TCP keeps the bytes, so they flow again when the mode ends)
//! and reset (every connection, old or new, is closed with an RST). Connections that sent
//! `SUBSCRIBE` can also be stalled or reset on their own, to lose pub/sub without touching the
//! command connection. A one-shot cut ([`FaultProxy::cut_after`]) lets one command through and
//! loses its answer: the write happened, its caller never hears back. Test-only code: it is not
//! part of the product.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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

/// The bytes that trigger an armed cut (taken by the first connection that sends them).
type Armed = Arc<Mutex<Option<Vec<u8>>>>;

/// How long a cut connection lives on, answering nothing, before it is reset: long enough for
/// Redis to run the command that triggered it.
const CUT_AFTER: Duration = Duration::from_millis(100);

pub struct FaultProxy {
    pub port: u16,
    mode: watch::Sender<Mode>,
    subs: watch::Sender<SubscriberFault>,
    armed: Armed,
    task: tokio::task::JoinHandle<()>,
}

/// One proxied connection's own state.
#[derive(Default)]
struct Flags {
    /// It sent `SUBSCRIBE`.
    subscriber: AtomicBool,
    /// It sent the armed bytes: Redis's answers are swallowed until it is reset.
    cut: AtomicBool,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:<upstream>`.
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fault proxy");
        let port = listener.local_addr().expect("addr").port();
        let (mode, _) = watch::channel(Mode::Pass);
        let (subs, _) = watch::channel(SubscriberFault::default());
        let armed = Armed::default();
        let (mode_tx, subs_tx, armed_rx) = (mode.clone(), subs.clone(), armed.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (mode, subs) = (mode_tx.subscribe(), subs_tx.subscribe());
                tokio::spawn(serve(client, upstream, mode, subs, armed_rx.clone()));
            }
        });
        Self { port, mode, subs, armed, task }
    }

    /// Arms a one-shot cut: the first chunk any client sends containing `marker` reaches
    /// Redis (which runs it), then that connection answers nothing more and is reset 100 ms
    /// later. Its caller never learns the outcome of that command, nor of anything after it.
    pub fn cut_after(&self, marker: &[u8]) {
        *self.armed.lock().unwrap() = Some(marker.to_vec());
    }

    /// Whether an armed cut is still waiting for its marker.
    pub fn cut_pending(&self) -> bool {
        self.armed.lock().unwrap().is_some()
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
    armed: Armed,
) {
    if matches!(*mode.borrow(), Mode::Drop | Mode::Reset) {
        return reset(&client);
    }
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return reset(&client);
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let flags = Arc::new(Flags::default());
    let cuts = subs.borrow().cuts;
    {
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        let up = pump(cr, sw, mode.clone(), Side::Up(armed), flags.clone());
        let down = pump(sr, cw, mode.clone(), Side::Down(subs.clone()), flags.clone());
        tokio::select! {
            _ = up => {}
            _ = down => {}
            _ = killed(mode, subs, flags, cuts) => {}
        }
    }
    reset(&client);
    reset(&server);
}

/// Resolves when this connection must be reset.
async fn killed(
    mut mode: watch::Receiver<Mode>,
    mut subs: watch::Receiver<SubscriberFault>,
    flags: Arc<Flags>,
    cuts: u64,
) {
    loop {
        if *mode.borrow() == Mode::Reset {
            return;
        }
        if flags.subscriber.load(Ordering::Relaxed) && subs.borrow().cuts != cuts {
            return;
        }
        if flags.cut.load(Ordering::Relaxed) {
            return tokio::time::sleep(CUT_AFTER).await;
        }
        tokio::select! {
            r = mode.changed() => if r.is_err() { return },
            r = subs.changed() => if r.is_err() { return },
            // A connection turns into a subscriber (or is cut) without any channel moving.
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
}

/// Which way a pump moves bytes, with what that direction watches.
enum Side {
    /// Client → Redis: marks subscribers, and fires an armed cut.
    Up(Armed),
    /// Redis → client: held while subscribers are stalled, swallowed once cut.
    Down(watch::Receiver<SubscriberFault>),
}

async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut mode: watch::Receiver<Mode>,
    mut side: Side,
    flags: Arc<Flags>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Side::Up(armed) = &side {
            if contains_ignore_case(&buf[..n], b"subscribe") {
                flags.subscriber.store(true, Ordering::Relaxed);
            }
            let mut armed = armed.lock().unwrap();
            if armed.as_deref().is_some_and(|m| contains_ignore_case(&buf[..n], m)) {
                *armed = None;
                flags.cut.store(true, Ordering::Relaxed);
            }
        }
        loop {
            let current = *mode.borrow();
            match current {
                Mode::Blackhole => {
                    if mode.changed().await.is_err() {
                        return;
                    }
                }
                Mode::Delay(d) if matches!(side, Side::Up(_)) => {
                    tokio::time::sleep(d).await;
                    break;
                }
                _ => break,
            }
        }
        if let Side::Down(rx) = &mut side {
            if flags.cut.load(Ordering::Relaxed) {
                continue;
            }
            while flags.subscriber.load(Ordering::Relaxed) && rx.borrow().stalled {
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
