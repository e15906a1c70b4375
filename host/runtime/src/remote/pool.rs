//! A remote's instances: as many as its callers have calls in flight, up
//! to the remote's bound, each in its own store, created on demand from
//! the one compiled plugin and kept for the next caller.
//!
//! An instance runs one call at a time. A caller takes the first idle
//! instance (the lowest-numbered, so calls made one after another reach
//! the same instance and keep its warm state), starts a new one when all
//! are busy and the bound allows, and otherwise waits its turn on one of
//! them. Readers, writers and listers stay on the instance that holds
//! their resource and take its lock for each of their calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};

use tokio::sync::{Mutex, OwnedMutexGuard};
use wasmtime::component::ResourceAny;

use crate::limits::Limits;
use crate::plugin::{arm_deadline, Instance, HOST_TIMER_GRACE};

/// One instance's place in the pool: empty until its first call, and again
/// after a failure threw its instance away.
pub(crate) struct Slot {
    state: Arc<Mutex<SlotState>>,
    /// Resources whose Rust handle was let go of; they are dropped in the
    /// guest (after their farewell) by a task started when they are let
    /// go, or at the start of this slot's next call, whichever comes first.
    orphans: SyncMutex<Vec<Handle>>,
    /// The remote's limits, for the calls that drop orphans.
    limits: Limits,
}

#[derive(Default)]
pub(crate) struct SlotState {
    pub live: Option<Live>,
    /// Counts the instances this slot has held, so a handle from a
    /// thrown-away instance is never used on its successor.
    pub generation: u64,
}

/// A running instance with its store open.
pub(crate) struct Live {
    pub instance: Instance,
    pub store: ResourceAny,
}

/// What the host tells a plugin about a resource before dropping it. The
/// contract lets plugins rely on these calls and not on the drop, which a
/// plugin in a language without destructors never sees.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Farewell {
    /// Nothing: the resource is done with (a finished or aborted write,
    /// a read or listing that reached its end).
    None,
    /// `writer.abort`: a write that will not be finished.
    Abort,
    /// `reader.close`: a read stopped before its end.
    CloseReader,
    /// `lister.close`: a listing stopped before its end.
    CloseLister,
}

/// A guest resource, the slot whose instance holds it, that instance's
/// generation, and what the plugin is told before it is dropped.
#[derive(Clone)]
pub(crate) struct Handle {
    pub slot: Arc<Slot>,
    pub generation: u64,
    pub resource: ResourceAny,
    pub farewell: Farewell,
}

/// A slot, locked for one call.
pub(crate) struct Held {
    pub slot: Arc<Slot>,
    pub state: OwnedMutexGuard<SlotState>,
}

impl Held {
    /// A handle on `resource`, which this slot's current instance holds.
    pub fn handle(&self, resource: ResourceAny, farewell: Farewell) -> Handle {
        Handle {
            slot: self.slot.clone(),
            generation: self.state.generation,
            resource,
            farewell,
        }
    }

    /// Drops the orphans of this slot's instance in the guest, each after
    /// its farewell call. A farewell's own error changes nothing (the
    /// caller has already given up on the resource); a trap or a call past
    /// the time limit throws the instance away, as any call's would.
    pub async fn drop_orphans(&mut self) {
        let state = &mut *self.state;
        let orphans = self.slot.take_orphans(state.generation);
        let Some(live) = state.live.as_mut() else {
            return;
        };
        let limits = &self.slot.limits;
        let timer = limits.call_timeout + HOST_TIMER_GRACE;
        for (resource, farewell) in orphans {
            let instance = &mut live.instance;
            arm_deadline(&mut instance.store, limits);
            let said = tokio::time::timeout(timer, async {
                match farewell {
                    Farewell::None => Ok(()),
                    Farewell::Abort => instance
                        .api
                        .writer_abort(&mut instance.store, resource)
                        .await
                        .map(drop),
                    Farewell::CloseReader => {
                        instance
                            .api
                            .reader_close(&mut instance.store, resource)
                            .await
                    }
                    Farewell::CloseLister => {
                        instance
                            .api
                            .lister_close(&mut instance.store, resource)
                            .await
                    }
                }
            })
            .await;
            if !matches!(said, Ok(Ok(()))) {
                state.live = None;
                return;
            }
            arm_deadline(&mut instance.store, limits);
            let dropped =
                tokio::time::timeout(timer, resource.resource_drop_async(&mut instance.store))
                    .await;
            if !matches!(dropped, Ok(Ok(()))) {
                // Its destructor trapped or never returned: the instance is
                // not to be trusted.
                state.live = None;
                return;
            }
        }
    }
}

impl Slot {
    fn new(limits: Limits) -> Arc<Slot> {
        Arc::new(Slot {
            state: Arc::new(Mutex::new(SlotState::default())),
            orphans: SyncMutex::new(Vec::new()),
            limits,
        })
    }

    /// Locks this slot (for a handle's call on the instance that holds it).
    pub async fn lock(self: &Arc<Self>) -> Held {
        Held {
            slot: self.clone(),
            state: self.state.clone().lock_owned().await,
        }
    }

    /// Queues `handle`'s resource to be dropped in the guest at the next
    /// call here.
    pub fn orphan(&self, handle: Handle) {
        self.orphans.lock().unwrap().push(handle);
    }

    /// Queues `handle`'s resource as [`Slot::orphan`] does, and, inside a
    /// Tokio runtime, starts a task that drops it now: an abandoned write
    /// is aborted (its temporary data removed) even when no further call
    /// comes to this instance, as at the end of a command.
    pub fn let_go(handle: Handle) {
        let slot = handle.slot.clone();
        slot.orphan(handle);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { slot.lock().await.drop_orphans().await });
        }
    }

    /// The orphans of the current instance (those of an earlier one went
    /// with it), with their farewells.
    fn take_orphans(&self, generation: u64) -> Vec<(ResourceAny, Farewell)> {
        std::mem::take(&mut *self.orphans.lock().unwrap())
            .into_iter()
            .filter(|o| o.generation == generation)
            .map(|o| (o.resource, o.farewell))
            .collect()
    }
}

/// The slots of one remote.
pub(crate) struct Pool {
    slots: SyncMutex<Vec<Arc<Slot>>>,
    /// The most instances at once.
    max: usize,
    /// The remote's limits, which each slot keeps for its orphans.
    limits: Limits,
    /// Spreads the callers that must wait over the busy instances.
    next: AtomicUsize,
}

impl Pool {
    pub fn new(max: usize, limits: Limits) -> Self {
        Pool {
            slots: SyncMutex::new(Vec::new()),
            max: max.max(1),
            limits,
            next: AtomicUsize::new(0),
        }
    }

    /// The most instances this pool runs at once.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Every slot, busy or idle.
    pub fn slots(&self) -> Vec<Arc<Slot>> {
        self.slots.lock().unwrap().clone()
    }

    /// A slot for one call: an idle one, a new one, or a busy one to wait
    /// for.
    pub async fn acquire(&self) -> Held {
        let busy = {
            let mut slots = self.slots.lock().unwrap();
            for slot in slots.iter() {
                if let Ok(state) = slot.state.clone().try_lock_owned() {
                    return Held {
                        slot: slot.clone(),
                        state,
                    };
                }
            }
            if slots.len() < self.max {
                let slot = Slot::new(self.limits.clone());
                slots.push(slot.clone());
                let state = slot
                    .state
                    .clone()
                    .try_lock_owned()
                    .expect("a new slot is not locked");
                return Held { slot, state };
            }
            slots[self.next.fetch_add(1, Ordering::Relaxed) % slots.len()].clone()
        };
        busy.lock().await
    }
}
