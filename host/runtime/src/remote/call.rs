//! The one path every call into a plugin takes: a slot with a live
//! instance (started, and its store opened, on first use), the orphans of
//! earlier calls dropped, the deadline armed, the call under the host's
//! own timer, then the outcome judged. A trap, a timeout or an answer past
//! a bound throws the instance away; the next call starts a fresh one.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceAny;
use wasmtime::Store;

use super::bounds::Answer;
use super::pool::{Handle, Held, Live};
use super::Remote;
use crate::bindings::{Call, PluginApi};
use crate::plugin::{arm_deadline, classify_failure, with_printed, HOST_TIMER_GRACE};
use crate::sandbox::HostState;
use crate::{Error, ErrorKind, Result};

/// Whether an operation may create the remote's directories.
#[derive(PartialEq, Eq, Clone, Copy)]
pub(crate) enum Intent {
    Read,
    Write,
}

/// A slot ready for a call on the store, or word that the remote holds no
/// objects yet (a read before its directory was ever made).
pub(crate) enum Ready {
    Live(Held),
    Absent,
}

impl Remote {
    /// The HTTP connections this remote's instances share: made at the
    /// first instance, trusting what the grant's TLS options say and
    /// reaching only what its policy allows. Each instance still has its
    /// own bound on the requests it has in flight.
    fn http_pool(&self) -> Result<Arc<crate::http_client::HttpPool>> {
        if let Some(pool) = self.http_pool.get() {
            return Ok(pool.clone());
        }
        let pool = Arc::new(crate::http_client::HttpPool::new(
            self.grant.tls.client_config()?,
            Arc::new(crate::policy::NetworkPolicy::new(&self.grant)),
            self.limits.max_sockets,
        ));
        Ok(self.http_pool.get_or_init(|| pool).clone())
    }

    /// A slot whose instance is live and whose store is open.
    pub(crate) async fn ready(&self, intent: Intent, op: &'static str, key: &str) -> Result<Ready> {
        let mut held = self.pool.acquire().await;
        if held.state.live.is_some() {
            return Ok(Ready::Live(held));
        }
        for dir in &self.grant.directories {
            if dir.host_path.is_dir() {
                continue;
            }
            if intent == Intent::Read {
                return Ok(Ready::Absent);
            }
            std::fs::create_dir_all(&dir.host_path).map_err(|e| {
                self.context(
                    Error::io(
                        format!("cannot create directory {}", dir.host_path.display()),
                        e,
                    ),
                    op,
                    key,
                )
            })?;
        }
        // Starting the instance and opening the store are calls like any
        // other: a plugin that blocks in either (on a pollable that never
        // fires, a server that never greets it) is stopped at the limit.
        let opening = |e: Error| e.with_remote(&self.name).with_operation("open");
        let mut instance = tokio::time::timeout(
            self.timer(),
            self.plugin.instantiate(
                &self.grant,
                &self.limits,
                &self.notices,
                Some(self.http_pool()?),
            ),
        )
        .await
        .map_err(|_| opening(self.timed_out()))?
        .map_err(|e| self.context(e, op, key))?;
        self.count_instance();
        arm_deadline(&mut instance.store, &self.limits);
        let opened = tokio::time::timeout(
            self.timer(),
            instance.api.open(&mut instance.store, &self.guest_options),
        )
        .await
        .map_err(|_| opening(self.timed_out()))?;
        // A plugin that reaches for a host while opening then fails with
        // its own error; as for every other call (see `settle`), the refusal
        // behind it is what the user can act on.
        let blamed = instance.store.data().take_blame().into_iter().next();
        let blame = |error: Error| match &blamed {
            Some(blamed) => self.blamed(blamed, &error),
            None => error,
        };
        // A crash while opening shows what the plugin printed, as a crash
        // in any other call does.
        let printed = instance.store.data().stderr_tail();
        // Named as a failure to open, whichever call started the instance:
        // the crash is in `open`, and the author should look there.
        let opened = opened.map_err(|e| {
            opening(blame(with_printed(
                classify_failure(e, &self.limits),
                printed,
            )))
        })?;
        let store = opened.map_err(|e| {
            blame(Error::from(e))
                .with_remote(&self.name)
                .with_operation("open")
        })?;
        held.state.generation += 1;
        held.state.live = Some(Live { instance, store });
        Ok(Ready::Live(held))
    }

    /// Runs `call` on the instance of `held`, which must still be the
    /// instance of `generation` when one is given (a handle's call), and
    /// judges the outcome.
    pub(crate) async fn run<T: Answer>(
        &self,
        held: &mut Held,
        generation: Option<u64>,
        op: &'static str,
        key: &str,
        call: impl AsyncFnOnce(&PluginApi, &mut Store<HostState>, ResourceAny) -> Call<T>,
    ) -> Result<T> {
        held.drop_orphans().await;
        let state = &mut *held.state;
        let current = state.generation;
        let live = match state.live.as_mut() {
            Some(live) if generation.is_none_or(|g| g == current) => live,
            _ => return Err(self.restarted(op, key)),
        };
        arm_deadline(&mut live.instance.store, &self.limits);
        let Live { instance, store } = live;
        let outcome = tokio::time::timeout(
            self.timer(),
            call(&instance.api, &mut instance.store, *store),
        )
        .await;
        let answer = self.settle(held, outcome, op, key)?;
        if let Err(error) = answer.within_bounds() {
            held.state.live = None;
            return Err(self.context(error, op, key));
        }
        Ok(answer)
    }

    /// Runs `call` on the resource of `handle`, on the instance that holds
    /// it (a read, write or listing in progress).
    pub(crate) async fn run_on<T: Answer>(
        &self,
        handle: &Handle,
        op: &'static str,
        key: &str,
        call: impl AsyncFnOnce(&PluginApi, &mut Store<HostState>, ResourceAny) -> Call<T>,
    ) -> Result<T> {
        let mut held = handle.slot.lock().await;
        self.run(&mut held, Some(handle.generation), op, key, call)
            .await
    }

    /// Judges a finished call: a trap or a timeout throws the instance away.
    /// A failure after the sandbox refused the plugin some access is
    /// reported as that refusal, since that is what the user can act on.
    fn settle<T>(
        &self,
        held: &mut Held,
        outcome: std::result::Result<Call<T>, tokio::time::error::Elapsed>,
        op: &'static str,
        key: &str,
    ) -> Result<T> {
        let state = &mut *held.state;
        let (refusals, printed) = match state.live.as_ref() {
            Some(live) => {
                let data = live.instance.store.data();
                (data.take_blame(), data.stderr_tail())
            }
            None => (Vec::new(), None),
        };
        let error = match outcome {
            Ok(Ok(Ok(value))) => return Ok(value),
            Ok(Ok(Err(guest))) => Error::from(guest),
            Ok(Err(failure)) => {
                state.live = None;
                with_printed(classify_failure(failure, &self.limits), printed)
            }
            Err(_elapsed) => {
                state.live = None;
                self.timed_out()
            }
        };
        let error = match refusals.first() {
            Some(blamed) => self.blamed(blamed, &error),
            None => error,
        };
        Err(self.context(error, op, key))
    }

    fn blamed(&self, blamed: &crate::policy::Blame, then: &Error) -> Error {
        match blamed {
            crate::policy::Blame::Refused(refusal) => self.refused(refusal, then),
            crate::policy::Blame::Tls { endpoint, problem } => Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "plugin '{}' (remote '{}') could not connect to {endpoint}: {}; (the plugin \
                     then failed with: {})",
                    self.plugin.info().name,
                    self.name,
                    crate::tls::explain(problem, &self.tls_ca_advice()),
                    then.message()
                ),
            ),
            crate::policy::Blame::Bound(bound) => Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "plugin '{}' (remote '{}') {bound} (the plugin then failed with: {})",
                    self.plugin.info().name,
                    self.name,
                    then.message()
                ),
            ),
        }
    }

    fn refused(&self, refusal: &crate::policy::Refusal, then: &Error) -> Error {
        let endpoint = crate::printable(&refusal.endpoint);
        // Why, when the grant names the endpoint but the sandbox still
        // refused (a name the plugin chose resolving to this machine).
        let why = match &refusal.reason {
            Some(reason) => format!(": {reason}"),
            None => ", which this remote's configuration does not grant".to_owned(),
        };
        // Only reaching out can be granted: no option lets a plugin accept
        // connections or use UDP.
        let remedy =
            if refusal.action == crate::policy::LISTEN || refusal.action == crate::policy::UDP {
                "no option allows that: a plugin may only open connections to the endpoints its \
             remote grants"
                    .to_owned()
            } else {
                format!(
                    "if you trust the plugin to reach it, add allow_hosts = \"{endpoint}\" to \
                 [remotes.{}]",
                    self.name
                )
            };
        Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "the sandbox refused plugin '{}' (remote '{}') when it tried to {} \
                 {endpoint}{why}; {remedy} (the plugin then failed with: {})",
                self.plugin.info().name,
                self.name,
                refusal.action,
                then.message()
            ),
        )
    }

    fn restarted(&self, op: &'static str, key: &str) -> Error {
        self.context(
            Error::new(
                ErrorKind::PluginFailed,
                "the plugin was restarted after a failure, so this operation cannot go on; \
                 start it again",
            ),
            op,
            key,
        )
    }

    fn timed_out(&self) -> Error {
        Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the call did not finish within the time limit of {} s and was stopped; if it \
                 needs longer, raise call_timeout_secs in the remote's configuration",
                self.limits.call_timeout.as_secs_f64()
            ),
        )
    }

    fn timer(&self) -> Duration {
        self.limits.call_timeout + HOST_TIMER_GRACE
    }
}
