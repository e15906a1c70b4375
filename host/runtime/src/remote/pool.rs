//! A remote's instances: as many as its callers have calls in flight, up
//! to the remote's bound, each in its own store, created on demand from
//! the one compiled plugin and kept for the next caller.
//!
//! An instance runs one call at a time. A caller takes the first idle
//! instance that holds no reader, writer or lister (the lowest-numbered,
//! so calls made one after another reach the same instance and keep its
//! warm state), starts a new one when there is none and the bound allows,
//! then takes an idle one that holds some, and otherwise waits its turn on
//! one of them. Readers, writers and listers stay on the instance that
//! holds their resource and take its lock for each of their calls: a call
//! that another caller started on their instance in the meantime (a GET
//! waiting a round trip for its answer) holds them up. Over a 40 ms link,
//! 9 to 13 of 200 small downloads each waited one round trip (50 ms) after
//! their bytes had arrived, for another object's GET on their instance.

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
    orphans: SyncMutex<Vec<Orphan>>,
    /// The remote's limits, for the calls that drop orphans.
    limits: Limits,
    /// How many readers, writers and listers its instance holds.
    holding: Arc<AtomicUsize>,
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
    /// Counted among the slot's resources until the handle is let go of
    /// (its last copy orphaned or dropped).
    pub _holding: Arc<Holding>,
}

/// A resource let go of, to be dropped in the guest: no longer counted
/// among its slot's resources, since no caller will use it again.
struct Orphan {
    generation: u64,
    resource: ResourceAny,
    farewell: Farewell,
}

/// One resource counted in its slot's `holding`.
pub(crate) struct Holding(Arc<AtomicUsize>);

impl Drop for Holding {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A slot, locked for one call.
pub(crate) struct Held {
    pub slot: Arc<Slot>,
    pub state: OwnedMutexGuard<SlotState>,
}

impl Held {
    /// A handle on `resource`, which this slot's current instance holds.
    pub fn handle(&self, resource: ResourceAny, farewell: Farewell) -> Handle {
        self.slot.holding.fetch_add(1, Ordering::Relaxed);
        Handle {
            slot: self.slot.clone(),
            generation: self.state.generation,
            resource,
            farewell,
            _holding: Arc::new(Holding(self.slot.holding.clone())),
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
            holding: Arc::new(AtomicUsize::new(0)),
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
        let Handle {
            generation,
            resource,
            farewell,
            ..
        } = handle;
        self.orphans.lock().unwrap().push(Orphan {
            generation,
            resource,
            farewell,
        });
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
            let may_start = slots.len() < self.max;
            // Each slot is tried only until the choice is made; the locks
            // of the idle ones tried go with `idle` but the one taken.
            let mut idle = Vec::with_capacity(slots.len());
            let states = slots.iter().map(|slot| {
                let guard = slot.state.clone().try_lock_owned().ok();
                let state = guard.as_ref().map(|_| slot.holding.load(Ordering::Relaxed));
                idle.push(guard);
                state
            });
            match pick(states, may_start) {
                Pick::Idle(i) => {
                    return Held {
                        slot: slots[i].clone(),
                        state: idle[i].take().expect("an idle slot was locked"),
                    }
                }
                Pick::Start => {
                    drop(idle);
                    let slot = Slot::new(self.limits.clone());
                    slots.push(slot.clone());
                    let state = slot
                        .state
                        .clone()
                        .try_lock_owned()
                        .expect("a new slot is not locked");
                    return Held { slot, state };
                }
                Pick::Wait => {
                    slots[self.next.fetch_add(1, Ordering::Relaxed) % slots.len()].clone()
                }
            }
        };
        busy.lock().await
    }
}

/// Which slot a call takes.
#[derive(Debug, PartialEq, Eq)]
enum Pick {
    /// This idle one.
    Idle(usize),
    /// A new one.
    Start,
    /// A busy one, in turn.
    Wait,
}

/// The choice for a call, given each slot's state (`Some(n)`: idle,
/// holding `n` readers, writers and listers; `None`: running a call) and
/// whether another instance may start: the first idle slot that holds
/// nothing; else a new one; else the first idle slot (its readers wait if
/// they need it meanwhile); else wait.
fn pick(slots: impl IntoIterator<Item = Option<usize>>, may_start: bool) -> Pick {
    let mut first_idle = None;
    for (i, state) in slots.into_iter().enumerate() {
        match state {
            Some(0) => return Pick::Idle(i),
            Some(_) if first_idle.is_none() => first_idle = Some(i),
            _ => {}
        }
    }
    if may_start {
        return Pick::Start;
    }
    first_idle.map_or(Pick::Wait, Pick::Idle)
}

#[cfg(test)]
mod tests {
    use super::{pick, Pick};

    #[test]
    fn a_call_keeps_off_an_instance_whose_reader_is_still_in_use() {
        // The lowest idle instance that holds nothing.
        assert_eq!(pick([None, Some(1), Some(0), Some(0)], true), Pick::Idle(2));
        // Every idle one holds a reader: a new instance, while allowed,
        // rather than one whose reader would wait on this call.
        assert_eq!(pick([None, Some(1), Some(2)], true), Pick::Start);
        // At the bound: an idle one after all, then a busy one in turn.
        assert_eq!(pick([None, Some(1), Some(2)], false), Pick::Idle(1));
        assert_eq!(pick([None, None], false), Pick::Wait);
        assert_eq!(pick(std::iter::empty(), true), Pick::Start);
    }
}
