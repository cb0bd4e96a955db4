//! Key stores: each distinct key is stored once, in a flat vector or a byte
//! arena, and the hash table holds only its 4-byte number. This halves memory
//! against `HashMap<K, V>` for 32-byte hashes and avoids a `String` (24 bytes
//! plus a heap block) per domain or URL.

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

#[inline]
fn fx<T: Hash + ?Sized>(v: &T) -> u64 {
    FxBuildHasher.hash_one(v)
}

/// Fixed-size keys (IP integers, hash bytes), numbered in insertion order.
#[derive(Debug, Clone, Default)]
pub(crate) struct FixedKeys<K> {
    keys: Vec<K>,
    index: HashTable<u32>,
}

impl<K: Copy + Eq + Hash> FixedKeys<K> {
    /// The key's number, adding it if new.
    pub(crate) fn intern(&mut self, k: K) -> u32 {
        let h = fx(&k);
        let keys = &self.keys;
        if let Some(&g) = self.index.find(h, |&g| keys[g as usize] == k) {
            return g;
        }
        let g = u32::try_from(self.keys.len()).expect("fewer than 2^32 keys");
        self.keys.push(k);
        let keys = &self.keys;
        self.index.insert_unique(h, g, |&g| fx(&keys[g as usize]));
        g
    }

    #[inline]
    pub(crate) fn find(&self, k: &K) -> Option<u32> {
        if self.keys.is_empty() {
            return None;
        }
        let keys = &self.keys;
        self.index.find(fx(k), |&g| keys[g as usize] == *k).copied()
    }

    pub(crate) fn get(&self, g: u32) -> K {
        self.keys[g as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn shrink(&mut self) {
        self.keys.shrink_to_fit();
        let keys = &self.keys;
        self.index.shrink_to_fit(|&g| fx(&keys[g as usize]));
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.capacity() * size_of::<K>() + self.index.capacity() * 5
    }
}

/// String keys in one arena: key `g` is `bytes[ends[g-1]..ends[g]]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct StrKeys {
    bytes: String,
    ends: Vec<u32>,
    index: HashTable<u32>,
}

impl StrKeys {
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        let h = fx(s.as_bytes());
        if let Some(g) = self.find_hashed(h, s) {
            return g;
        }
        let g = u32::try_from(self.ends.len()).expect("fewer than 2^32 keys");
        self.bytes.push_str(s);
        self.ends
            .push(u32::try_from(self.bytes.len()).expect("arena under 4 GiB"));
        let (bytes, ends) = (&self.bytes, &self.ends);
        self.index
            .insert_unique(h, g, |&g| fx(slice(bytes, ends, g).as_bytes()));
        g
    }

    #[inline]
    pub(crate) fn find(&self, s: &str) -> Option<u32> {
        if self.ends.is_empty() {
            return None;
        }
        self.find_hashed(fx(s.as_bytes()), s)
    }

    #[inline]
    fn find_hashed(&self, h: u64, s: &str) -> Option<u32> {
        let (bytes, ends) = (&self.bytes, &self.ends);
        self.index.find(h, |&g| slice(bytes, ends, g) == s).copied()
    }

    pub(crate) fn get(&self, g: u32) -> &str {
        slice(&self.bytes, &self.ends, g)
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
        let (bytes, ends) = (&self.bytes, &self.ends);
        self.index
            .shrink_to_fit(|&g| fx(slice(bytes, ends, g).as_bytes()));
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 4 + self.index.capacity() * 5
    }
}

#[inline]
fn slice<'a>(bytes: &'a str, ends: &[u32], g: u32) -> &'a str {
    let g = g as usize;
    let start = if g == 0 { 0 } else { ends[g - 1] as usize };
    &bytes[start..ends[g] as usize]
}

/// Several entries per key (one per source that listed it), stored
/// contiguously: group `g` owns `entries[starts[g]..starts[g + 1]]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Groups<E> {
    starts: Vec<u32>,
    entries: Vec<E>,
}

impl<E: Copy> Groups<E> {
    /// Counting sort of `(group, entry)` pairs; insertion order kept within a group.
    pub(crate) fn build(groups: usize, pending: Vec<(u32, E)>) -> Self {
        let mut starts = vec![0u32; groups + 1];
        for (g, _) in &pending {
            starts[*g as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next: Vec<u32> = starts[..groups].to_vec();
        let mut slots: Vec<Option<E>> = vec![None; pending.len()];
        for (g, e) in pending {
            let at = &mut next[g as usize];
            slots[*at as usize] = Some(e);
            *at += 1;
        }
        let entries = slots
            .into_iter()
            .map(|e| e.expect("every slot filled"))
            .collect();
        Self { starts, entries }
    }

    /// The entry numbers of group `g`.
    #[inline]
    pub(crate) fn range(&self, g: u32) -> std::ops::Range<u32> {
        self.starts[g as usize]..self.starts[g as usize + 1]
    }

    #[inline]
    pub(crate) fn entry(&self, e: u32) -> E {
        self.entries[e as usize]
    }

    /// The group that owns entry `e`.
    pub(crate) fn group_of(&self, e: u32) -> u32 {
        (self.starts.partition_point(|&s| s <= e) - 1) as u32
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.starts.capacity() * 4 + self.entries.capacity() * size_of::<E>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_str_keys_intern_once() {
        let mut f = FixedKeys::<u32>::default();
        assert_eq!(f.find(&7), None);
        assert_eq!(f.intern(7), 0);
        assert_eq!(f.intern(9), 1);
        assert_eq!(f.intern(7), 0);
        assert_eq!((f.find(&9), f.find(&8), f.len()), (Some(1), None, 2));
        let mut s = StrKeys::default();
        assert_eq!(s.intern("evil.example"), 0);
        assert_eq!(s.intern("b.example"), 1);
        assert_eq!(s.intern("evil.example"), 0);
        s.shrink();
        assert_eq!(
            (s.get(1), s.find("b.example"), s.find("c")),
            ("b.example", Some(1), None)
        );
    }

    #[test]
    fn groups_keep_duplicates_together_in_order() {
        let g = Groups::build(3, vec![(2, 'a'), (0, 'b'), (2, 'c'), (0, 'd')]);
        let r: Vec<char> = g.range(2).map(|e| g.entry(e)).collect();
        assert_eq!(r, ['a', 'c']);
        assert_eq!(g.range(1), 2..2);
        assert_eq!(
            (g.group_of(0), g.group_of(1), g.group_of(2), g.group_of(3)),
            (0, 0, 2, 2)
        );
    }
}
