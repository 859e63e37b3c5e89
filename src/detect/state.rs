//! Bounded detector state: a hash map with a named limit that refuses new keys when full and
//! counts each refusal, so a flood of spoofed sources cannot grow a detector without bound.
//!
//! Detectors expire their own entries on `tick` (windows run on packet time), which frees room;
//! refusing rather than evicting keeps what is already being counted (the attacker cannot push
//! its own evidence out by adding noise).

use rustc_hash::FxHashMap;
use std::hash::Hash;

pub struct Bounded<K, V> {
    map: FxHashMap<K, V>,
    limit: usize,
    /// New keys refused because the map was full.
    pub refused: u64,
}

impl<K: Hash + Eq, V> Bounded<K, V> {
    pub fn new(limit: usize) -> Self {
        Bounded { map: FxHashMap::default(), limit: limit.max(1), refused: 0 }
    }

    /// The entry of `k`, made with `make` if absent and there is room; `None` (counted) if full.
    pub fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> Option<&mut V> {
        let full = self.map.len() >= self.limit;
        match self.map.entry(k) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(_) if full => {
                self.refused += 1;
                None
            }
            std::collections::hash_map::Entry::Vacant(e) => Some(e.insert(make())),
        }
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k)
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k)
    }

    pub fn retain(&mut self, f: impl FnMut(&K, &mut V) -> bool) {
        self.map.retain(f);
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.map.iter_mut()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_new_keys_when_full_and_counts_them() {
        let mut b: Bounded<u32, u32> = Bounded::new(2);
        *b.get_or_insert_with(1, || 0).unwrap() += 1;
        *b.get_or_insert_with(2, || 0).unwrap() += 1;
        assert!(b.get_or_insert_with(3, || 0).is_none());
        assert_eq!(b.refused, 1);
        // Existing keys still update when full.
        *b.get_or_insert_with(1, || 0).unwrap() += 1;
        assert_eq!(b.get(&1), Some(&2));
        b.retain(|k, _| *k != 1);
        assert!(b.get_or_insert_with(3, || 0).is_some());
    }
}
