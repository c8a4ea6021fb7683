//! The fault proxy: listens on a free port of 127.0.0.1, forwards to one
//! upstream server, and misbehaves per request as its [`FaultPlan`] says.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::counters::FaultCounters;
use crate::fault::{Dice, Fault, FaultPlan, FaultRates};
use crate::hold::{Hold, Holds};

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
}

pub(crate) struct Shared {
    pub upstream: SocketAddr,
    pub counters: FaultCounters,
    pub holds: Holds,
    plan: Mutex<FaultPlan>,
    dice: Mutex<Dice>,
}

impl Shared {
    pub fn plan(&self) -> FaultPlan {
        self.plan.lock().expect("plan lock").clone()
    }

    /// The next request's fault, from the seeded sequence.
    pub fn roll(&self) -> Option<Fault> {
        let rates = self.plan.lock().expect("plan lock").rates.clone();
        self.dice.lock().expect("dice lock").roll(&rates)
    }
}

/// A running proxy; dropping it stops listening and ends every connection.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (must be called inside a tokio runtime).
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> Result<FaultProxy, ProxyError> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(ProxyError::Bind)?;
        let addr = listener.local_addr().map_err(ProxyError::Bind)?;
        let shared = Arc::new(Shared {
            upstream,
            counters: FaultCounters::default(),
            holds: Holds::default(),
            dice: Mutex::new(Dice::new(plan.seed)),
            plan: Mutex::new(plan),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(FaultProxy { addr, shared, accept })
    }

    /// `http://127.0.0.1:PORT/`, to hand to a client instead of the server's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn counters(&self) -> &FaultCounters {
        &self.shared.counters
    }

    /// Changes the fault rates from the next request on (e.g. none, to check
    /// that the faulty runs converged).
    pub fn set_rates(&self, rates: FaultRates) {
        self.shared.plan.lock().expect("plan lock").rates = rates;
    }

    /// Holds the next request for which `matches(method, target)` is true
    /// until the returned [`Hold`] is released or dropped.
    pub fn hold(&self, matches: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Hold {
        self.shared.holds.add(matches)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every
        // connection task with it.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { continue };
                let _ = socket.set_nodelay(true);
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    // A client or server that vanishes mid-exchange is part of the game.
                    let _ = crate::relay::serve(socket, shared).await;
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
