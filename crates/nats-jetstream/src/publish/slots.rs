//! The pending publishes of one context by id: ids are handed out in increasing order and
//! completed from the front (acks are delivered in publish order, J10), so a ring of slots
//! indexed by `id - first id` does what an ordered map would, without moving the entries on
//! every completion.

use std::collections::VecDeque;

/// Entries keyed by increasing `u64` ids; a removed id in the middle leaves an empty slot
/// until everything before it is gone.
pub(crate) struct Slots<T> {
    /// The id of `slots[0]`.
    base: u64,
    slots: VecDeque<Option<(u64, T)>>,
    live: usize,
}

impl<T> Slots<T> {
    pub(crate) fn new() -> Slots<T> {
        Slots {
            base: 0,
            slots: VecDeque::new(),
            live: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Adds `entry` under `id`, which must be above every id added before.
    pub(crate) fn insert(&mut self, id: u64, entry: T) {
        if self.slots.is_empty() {
            self.base = id;
        }
        let index = id.saturating_sub(self.base);
        debug_assert!(index >= self.slots.len() as u64, "ids must increase");
        while (self.slots.len() as u64) < index {
            self.slots.push_back(None);
        }
        self.slots.push_back(Some((id, entry)));
        self.live += 1;
    }

    fn index(&self, id: u64) -> Option<usize> {
        let index = usize::try_from(id.checked_sub(self.base)?).ok()?;
        (index < self.slots.len()).then_some(index)
    }

    pub(crate) fn get(&self, id: &u64) -> Option<&T> {
        let index = self.index(*id)?;
        self.slots[index].as_ref().map(|(_, e)| e)
    }

    pub(crate) fn get_mut(&mut self, id: &u64) -> Option<&mut T> {
        let index = self.index(*id)?;
        self.slots[index].as_mut().map(|(_, e)| e)
    }

    pub(crate) fn remove(&mut self, id: &u64) -> Option<T> {
        let index = self.index(*id)?;
        let (_, entry) = self.slots[index].take()?;
        self.live -= 1;
        self.trim_front();
        Some(entry)
    }

    /// Removes and returns the oldest entry if `ready` says so.
    pub(crate) fn pop_front_if(&mut self, ready: impl FnOnce(&T) -> bool) -> Option<T> {
        let (_, entry) = self.slots.front()?.as_ref()?;
        if !ready(entry) {
            return None;
        }
        let (_, entry) = self.slots.pop_front()??;
        self.base += 1;
        self.live -= 1;
        self.trim_front();
        Some(entry)
    }

    /// The entries in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u64, &T)> {
        self.slots
            .iter()
            .filter_map(|slot| slot.as_ref().map(|(id, e)| (id, e)))
    }

    fn trim_front(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
        if self.slots.is_empty() {
            self.base = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_out_from_the_front() {
        let mut s = Slots::new();
        for id in 1..=5u64 {
            s.insert(id, id * 10);
        }
        assert_eq!(s.get(&3), Some(&30));
        assert_eq!(s.pop_front_if(|e| *e == 10), Some(10));
        assert_eq!(s.pop_front_if(|e| *e == 10), None);
        assert_eq!(s.remove(&4), Some(40));
        assert_eq!(s.get(&4), None);
        assert_eq!(s.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2, 3, 5]);
        assert_eq!(s.remove(&2), Some(20));
        assert_eq!(s.remove(&3), Some(30));
        // The hole at 4 went with them.
        assert_eq!(s.pop_front_if(|_| true), Some(50));
        assert!(s.is_empty());
        assert_eq!(s.get(&5), None);
        s.insert(9, 90);
        assert_eq!(s.get(&9), Some(&90));
        assert_eq!(s.get(&0), None);
        assert_eq!(s.get(&u64::MAX), None);
    }
}
