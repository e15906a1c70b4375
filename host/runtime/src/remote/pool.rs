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

use crate::plugin::Instance;

/// One instance's place in the pool: empty until its first call, and again
/// after a failure threw its instance away.
pub(crate) struct Slot {
    state: Arc<Mutex<SlotState>>,
    /// Resources whose Rust handle was dropped without closing them; they
    /// are dropped in the guest at the start of this slot's next call.
    orphans: SyncMutex<Vec<Handle>>,
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

/// A guest resource, the slot whose instance holds it, and that instance's
/// generation.
#[derive(Clone)]
pub(crate) struct Handle {
    pub slot: Arc<Slot>,
    pub generation: u64,
    pub resource: ResourceAny,
}

/// A slot, locked for one call.
pub(crate) struct Held {
    pub slot: Arc<Slot>,
    pub state: OwnedMutexGuard<SlotState>,
}

impl Held {
    /// A handle on `resource`, which this slot's current instance holds.
    pub fn handle(&self, resource: ResourceAny) -> Handle {
        Handle {
            slot: self.slot.clone(),
            generation: self.state.generation,
            resource,
        }
    }
}

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot {
            state: Arc::new(Mutex::new(SlotState::default())),
            orphans: SyncMutex::new(Vec::new()),
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

    /// The orphans of the current instance (those of an earlier one went
    /// with it).
    pub fn take_orphans(&self, generation: u64) -> Vec<ResourceAny> {
        std::mem::take(&mut *self.orphans.lock().unwrap())
            .into_iter()
            .filter(|o| o.generation == generation)
            .map(|o| o.resource)
            .collect()
    }
}

/// The slots of one remote.
pub(crate) struct Pool {
    slots: SyncMutex<Vec<Arc<Slot>>>,
    /// The most instances at once.
    max: usize,
    /// Spreads the callers that must wait over the busy instances.
    next: AtomicUsize,
}

impl Pool {
    pub fn new(max: usize) -> Self {
        Pool {
            slots: SyncMutex::new(Vec::new()),
            max: max.max(1),
            next: AtomicUsize::new(0),
        }
    }

    /// The most instances this pool runs at once.
    pub fn max(&self) -> usize {
        self.max
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
                let slot = Slot::new();
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
